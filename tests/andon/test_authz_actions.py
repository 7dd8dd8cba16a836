"""Issue 12: the authorization matrix of the admin actions. Every action of every admin model
(from the admin registry, the site-wide delete included) is posted with a row of the caller's
own site selected and with one of another site, by every role, and at the own site
anonymously, by an expired account and with a revoked token (whose browser has no session).
W means the action wrote (the row, the outbox or the ERP deliveries changed); L that the list
came back because the user is offered no action at all; otherwise the answer's letter
(tests.authz_world.status_letter: R is the list again with a message, such as "no action
selected" for an action this user is not offered, or the refusal of the service).
Writes are undone after each request. A new action without an entry fails."""

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import override_settings

from integrations.erp.models import ErpDelivery
from mes.models import OutboxEvent
from mes.roles import ROLES
from tests.authz_matrix import admin_actions
from tests.authz_world import make_callers, make_world, mismatches, status_letter

pytestmark = pytest.mark.django_db

# Pairs (own site, other site) per role in ROLES order, then the own site anonymously, by an
# expired account and with a revoked token.
EXPECTED = {
    "auth.group:delete_selected": "AA AA AA AA AA AA AA LL FF AA AAA",
    "legacy.importjob:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "legacy.legacydowntime:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "legacy.legacyexception:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "legacy.machinealias:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "auth.user:delete_selected": "AA AA AA AA AA AA AA LL FF AA AAA",
    "django_celery_beat.clockedschedule:delete_selected": "AA AA AA AA AA AA AA FF FF AA AAA",
    "django_celery_beat.crontabschedule:delete_selected": "AA AA AA AA AA AA AA FF FF AA AAA",
    "django_celery_beat.intervalschedule:delete_selected": "AA AA AA AA AA AA AA FF FF AA AAA",
    "django_celery_beat.periodictask:delete_selected": "AA AA AA AA AA AA AA FF FF AA AAA",
    "django_celery_beat.periodictask:disable_tasks": "AA AA AA AA AA AA AA FF FF AA AAA",
    "django_celery_beat.periodictask:enable_tasks": "AA AA AA AA AA AA AA FF FF AA AAA",
    "django_celery_beat.periodictask:run_tasks": "AA AA AA AA AA AA AA FF FF AA AAA",
    "django_celery_beat.periodictask:toggle_tasks": "AA AA AA AA AA AA AA FF FF AA AAA",
    "django_celery_beat.solarschedule:delete_selected": "AA AA AA AA AA AA AA FF FF AA AAA",
    "erp.erpdelivery:delete_selected": "AA AA AA AA AA AA AA RR FF AA AAA",
    "erp.erpdelivery:replay": "AA AA AA AA AA AA AA WR FF AA AAA",
    "erp.erpdelivery:retry": "AA AA AA AA AA AA AA WR FF AA AAA",
    "erp.erpendpoint:delete_selected": "AA AA AA AA AA AA AA RR FF AA AAA",
    "erp.erpendpoint:sync_now": "AA AA AA AA AA AA AA RR FF AA AAA",
    "exceptions.escalationpolicy:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "exceptions.exceptionticket:acknowledge": "AA AA AA AA AA AA AA WR LL AA AAA",
    "exceptions.exceptionticket:cancel": "AA AA AA AA AA AA AA WR LL AA AAA",
    "exceptions.exceptionticket:delete_selected": "AA AA AA AA AA AA AA RR LL AA AAA",
    "exceptions.exceptiontype:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "exceptions.routingrule:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "exceptions.slapolicy:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "exceptions.workflow:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.apitoken:delete_selected": "AA AA AA AA AA AA AA RR FF AA AAA",
    "mes.apitoken:revoke_selected": "AA AA AA AA AA AA AA WR FF AA AAA",
    "mes.confirmation:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "opcua.machinelink:delete_selected": "AA AA AA AA AA AA AA LL FF AA AAA",
    "opcua.opcserver:delete_selected": "AA AA AA AA AA AA AA RR FF AA AAA",
    "opcua.opcserver:test_connection": "AA AA AA AA AA AA AA RR FF AA AAA",
    "mes.downtime:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.downtimereason:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.item:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "quality.dispositionreason:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "quality.nonconformance:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "quality.qualityhold:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "quality.sitequalitypolicy:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "quality.defectcode:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "quality.inspectionplan:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "quality.inspectionresult:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.lot:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.shipment:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.lotconsumption:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.machine:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.notification:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.notificationpreference:delete_selected": "AA AA AA AA AA AA AA FF FF AA AAA",
    "mes.operation:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.outboxevent:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.site:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.workcenter:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.workingcalendar:delete_selected": "AA AA AA AA AA AA AA LL LL AA AAA",
    "mes.workorder:cancel": "AA AA AA AA AA AA AA RR LL AA AAA",
    "mes.workorder:close": "AA AA AA AA AA AA AA RR LL AA AAA",
    "mes.workorder:complete": "AA AA AA AA AA AA AA RR LL AA AAA",
    "mes.workorder:delete_selected": "AA AA AA AA AA AA AA RR LL AA AAA",
    "mes.workorder:hold": "AA AA AA AA AA AA AA WR LL AA AAA",
    "mes.workorder:release": "AA AA AA AA AA AA AA RR LL AA AAA",
    "mes.workorder:resume": "AA AA AA AA AA AA AA RR LL AA AAA",
    "mes.workorder:start": "AA AA AA AA AA AA AA RR LL AA AAA",
}


def _state(model, pk):
    row = list(model._base_manager.filter(pk=pk).values())
    return row, OutboxEvent.objects.count(), ErpDelivery.objects.count()


def _post(client, model, name: str, pk) -> str:
    path = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    body = {"action": name, "_selected_action": [pk], "index": "0", "post": "yes"}
    body["reason"] = "asked by the matrix"  # the actions that ask for a reason get one
    with transaction.atomic():
        before = _state(model, pk)
        response = client.post(path, body)
        wrote = _state(model, pk) != before
        transaction.set_rollback(True)
    if wrote:
        return "W"
    if response.status_code == 200 and "admin/change_list.html" in {
        t.name for t in response.templates
    }:
        return "L"  # the list again: this user is offered no action at all
    return status_letter(path, response)


def observe(p1, p2) -> tuple[dict[str, str], set[str]]:
    """{action: letters} and the actions on rows of one site (not the group's shared rows)."""
    callers = make_callers(p1)
    world = make_world(p1, p2, callers)
    found, scoped = {}, set()
    for name, (model, action) in sorted(admin_actions().items()):
        label = model._meta.label_lower
        if not world.shared_label(label):
            scoped.add(name)
        pks = {side: world.row(label, side).pk for side in ("own", "other")}
        groups = []
        for role in ROLES:
            pair = ""
            for side in ("own", "other"):
                cache.clear()
                pair += _post(callers.client(role, "/admin/"), model, action, pks[side])
            groups.append(pair)
        groups.append(
            "".join(
                _post(callers.client(column, "/admin/"), model, action, pks["own"])
                for column in ("anonymous", "expired", "revoked")
            )
        )
        found[name] = " ".join(groups)
    return found, scoped


@override_settings(ANDON_TOKEN_FAILURE_LIMIT=10**6)
def test_every_admin_action_answers_as_the_table_says(p1, p2, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    found, scoped = observe(p1, p2)
    # Whatever the table says: no action writes a row of another site, whoever asks.
    leaks = [
        f"{name} as {role}"
        for name, letters in found.items()
        if name in scoped
        for n, role in enumerate(ROLES)
        if letters.split(" ")[n][1] == "W"
    ]
    assert leaks == []
    columns = f"pairs (own, other) of {' '.join(ROLES)}; anonymous, expired, revoked"
    assert found == EXPECTED, f"{columns}\n{mismatches(found, EXPECTED)}"
