"""Issue 12: the authorization matrix. Every route that takes no argument (API routes, pages)
and every admin changelist, found from the URL configuration and the admin registry, is asked
by every role (their own site's account), anonymously, with an expired account and with a
revoked token; the answers must be the table below. A new route without an entry fails: say
who may open it. (Routes with arguments, actions and websockets are covered by their own
tests: wrong site, wrong role, revoked token, expired account.)"""

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from mes.models import AccountProfile, ApiToken
from mes.models.tokens import digest_of
from mes.roles import ROLES
from tests.authz_matrix import admin_changelists, plain_routes
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db

COLUMNS = [*ROLES, "anonymous", "expired", "revoked"]

# One letter per column: S = answers (200), A = the admin's sign-in (302), P = the sign-in
# page (302), F = forbidden (403), U = 401, N = 404 (nothing to show), M = 405 (GET not
# offered). Read a row against COLUMNS: operator, supervisor, planner, procurement, quality,
# maintenance, customer_service, manager, auditor, erp_integration, anonymous, expired,
# revoked.
EXPECTED = {
    "access-review": "FFFFFFFSFFPPP",
    "admin:auth_group": "AAAAAAASFAAAA",
    "admin:auth_user": "AAAAAAASFAAAA",
    "admin:django_celery_beat_clockedschedule": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_crontabschedule": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_intervalschedule": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_periodictask": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_solarschedule": "AAAAAAAFFAAAA",
    "admin:erp_erpdelivery": "AAAAAAASFAAAA",
    "admin:erp_erpendpoint": "AAAAAAASFAAAA",
    "admin:exceptions_escalationpolicy": "AAAAAAASSAAAA",
    "admin:exceptions_exceptionticket": "AAAAAAASSAAAA",
    "admin:exceptions_exceptiontype": "AAAAAAASSAAAA",
    "admin:exceptions_routingrule": "AAAAAAASSAAAA",
    "admin:exceptions_slapolicy": "AAAAAAASSAAAA",
    "admin:exceptions_workflow": "AAAAAAASSAAAA",
    "admin:mes_apitoken": "AAAAAAASFAAAA",
    "admin:mes_confirmation": "AAAAAAASSAAAA",
    "admin:mes_item": "AAAAAAASSAAAA",
    "admin:mes_lot": "AAAAAAASSAAAA",
    "admin:mes_lotconsumption": "AAAAAAASSAAAA",
    "admin:mes_machine": "AAAAAAASSAAAA",
    "admin:mes_notification": "AAAAAAASSAAAA",
    "admin:mes_notificationpreference": "AAAAAAAFFAAAA",
    "admin:mes_operation": "AAAAAAASSAAAA",
    "admin:mes_outboxevent": "AAAAAAASSAAAA",
    "admin:mes_site": "AAAAAAASSAAAA",
    "admin:mes_workcenter": "AAAAAAASSAAAA",
    "admin:mes_workingcalendar": "AAAAAAASSAAAA",
    "admin:mes_workorder": "AAAAAAASSAAAA",
    "api-docs": "SSSSSSSSSFSUU",
    "api-root": "SSSSSSSSSFUUU",
    "apitoken-list": "SSSSSSSSSSUUU",
    "confirmation-list": "SSSSSSSSSFUUU",
    "erp-reconciliation": "FFFFFFFSFFPPP",
    "events": "FFFFFFFFFNUUU",
    "events-ack": "FFFFFFFFFMUUU",
    "exception-list": "SSSSSSSSSFUUU",
    "exceptiontype-list": "SSSSSSSSSFUUU",
    "home": "SSSSSSSSSSPPP",
    "item-batch": "FFFFFFFFFMUUU",
    "item-list": "SSSSSSSSSFUUU",
    "lot-batch": "FFFFFFFFFMUUU",
    "lot-list": "SSSSSSSSSFUUU",
    "machine-list": "SSSSSSSSSFUUU",
    "mine": "SSSSSSSSSSPPP",
    "notification-list": "SSSSSSSSSFUUU",
    "notification-preferences": "SSSSSSSSSFUUU",
    "notification-preferences-page": "MMMMMMMMMMMMM",
    "notification-read": "MMMMMMMMMFUUU",
    "notifications": "SSSSSSSSSSPPP",
    "notifications-read": "MMMMMMMMMMMMM",
    "operation-list": "SSSSSSSSSFUUU",
    "reconciliation": "FFFFFFFNFFUUU",
    "schema": "SSSSSSSSSFSUU",
    "site-list": "SSSSSSSSSFUUU",
    "time-to-erp": "FFFFFFFSFFUUU",
    "work-center-batch": "FFFFFFFFFMUUU",
    "work-order-batch": "FFFFFFFFFMUUU",
    "workcenter-list": "SSSSSSSSSFUUU",
    "workorder-list": "SSSSSSSSSSUUU",
    "ws-ticket": "MMMMMMMMMFUUU",
}


def _status_letter(path: str, code: int) -> str:
    if code == 302:
        return "A" if path.startswith("/admin/") else "P"
    return {200: "S", 403: "F", 401: "U", 404: "N", 405: "M"}.get(code, str(code))


def observe(p1) -> dict[str, str]:
    """What each column gets from each route: {route name: letters in COLUMNS order}."""
    users = {
        role: make_user(f"{role}_p1", role, [p1], is_staff=role in ("manager", "auditor"))
        for role in ROLES
    }
    expired = make_user("expired_p1", "planner", [p1])
    AccountProfile.objects.create(
        user=expired, kind="vendor", expires_at=timezone.now() - dt.timedelta(days=1)
    )
    keys = {role: make_token(user) for role, user in users.items()}
    keys["expired"] = make_token(expired)
    revoked_user = make_user("revoked_p1", "planner", [p1])
    keys["revoked"] = make_token(revoked_user)
    ApiToken.objects.filter(digest=digest_of(keys["revoked"])).update(revoked_at=timezone.now())
    sessions = {**users, "expired": expired}
    found = {}
    cache.clear()  # the wrong-token counter: this many refused tokens are the point here
    for name, path in sorted({**plain_routes(), **admin_changelists()}.items()):
        letters = []
        for column in COLUMNS:
            if path.startswith("/api/"):
                client = APIClient()
                if column in keys:
                    client.credentials(HTTP_AUTHORIZATION=f"Token {keys[column]}")
            else:
                client = Client()
                if column in sessions:
                    client.force_login(sessions[column])
            letters.append(_status_letter(path, client.get(path).status_code))
        found[name] = "".join(letters)
    return found


@override_settings(ANDON_TOKEN_FAILURE_LIMIT=10**6)
def test_every_route_answers_every_role_as_the_table_says(p1):
    found = observe(p1)
    unlisted = sorted(set(found) - set(EXPECTED))
    assert unlisted == [], f"routes with no entry in EXPECTED: {unlisted}"
    wrong = {
        name: f"expected {EXPECTED[name]} got {letters}"
        for name, letters in found.items()
        if EXPECTED[name] != letters
    }
    assert wrong == {}, "columns: " + " ".join(COLUMNS)
