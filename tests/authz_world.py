"""The callers and the two-site world the authorization matrices ask about
(tests/andon/test_authz_*.py): every role at P1, an expired account and a revoked token, and
one row of every kind at P1 (the callers' own site) and at P2 (another site)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from rest_framework.test import APIClient

from exceptions import services as tickets
from exceptions.models import EscalationPolicy, ExceptionType, RoutingRule, SlaPolicy
from integrations.erp.models import ErpDelivery
from integrations.legacy import services as legacy
from integrations.legacy.models import LegacyDowntime, LegacyException, MachineAlias
from integrations.opcua.models import MachineLink, MachineTag, OpcServer
from mes import services
from mes.models import (
    GLOBAL,
    AccountProfile,
    ApiToken,
    Downtime,
    DowntimeReason,
    Notification,
    NotificationPreference,
    OutboxEvent,
    Site,
    WorkingCalendar,
)
from mes.models.tokens import digest_of
from mes.roles import ROLES
from mes.services.operations import Consumption
from quality import services as quality_services
from quality.models import (
    Characteristic,
    DefectCode,
    DispositionReason,
    InspectionPlan,
    SiteQualityPolicy,
)
from tests.factories import (
    ItemFactory,
    LotFactory,
    MachineFactory,
    WorkCenterFactory,
    make_endpoint,
    make_token,
    make_user,
    make_work_order,
)

COLUMNS = [*ROLES, "anonymous", "expired", "revoked"]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class Callers:
    users: dict[str, User]  # role -> its P1 account
    keys: dict[str, str]  # column -> API token key
    sessions: dict[str, User]  # column -> the account a browser is signed in as

    def client(self, column: str, path: str):
        """The column's client for ``path``: a token for the API, a session elsewhere."""
        if path.startswith("/api/"):
            client = APIClient()
            if column in self.keys:
                client.credentials(HTTP_AUTHORIZATION=f"Token {self.keys[column]}")
        else:
            client = Client()
            if column in self.sessions:
                client.force_login(self.sessions[column])
        client.raise_request_exception = False  # a 500 is a letter in the table, not a crash
        return client


def make_callers(p1) -> Callers:
    users = {
        role: make_user(f"{role}_p1", role, [p1], is_staff=role in ("manager", "auditor"))
        for role in ROLES
    }
    AccountProfile.objects.create(  # the ERP's account is what the demo makes it: a service
        user=users["erp_integration"],
        kind="service",
        expires_at=timezone.now() + dt.timedelta(days=30),
    )
    expired = make_user("expired_p1", "planner", [p1])
    AccountProfile.objects.create(
        user=expired, kind="vendor", expires_at=timezone.now() - dt.timedelta(days=1)
    )
    keys = {role: make_token(user) for role, user in users.items()}
    keys["expired"] = make_token(expired)
    keys["revoked"] = make_token(make_user("revoked_p1", "planner", [p1]))
    ApiToken.objects.filter(digest=digest_of(keys["revoked"])).update(revoked_at=timezone.now())
    return Callers(users=users, keys=keys, sessions={**users, "expired": expired})


def status_letter(path: str, response) -> str:
    """S answers (2xx), B refused input (400), C conflict (409), T refused body type (415),
    F forbidden, U 401, N 404, M 405; a redirect: A to the admin's sign-in, P to the sign-in
    page, R elsewhere."""
    code = response.status_code
    if code == 302:
        target = response["Location"]
        if "/login/" in target:
            return "A" if "/admin/login/" in target else "P"
        return "R"
    if 200 <= code < 300:
        return "S"
    return {400: "B", 401: "U", 403: "F", 404: "N", 405: "M", 409: "C", 415: "T"}.get(
        code, str(code)
    )


def mismatches(found: dict[str, str], expected: dict[str, str]) -> str:
    """The rows of ``found`` that the table lacks or says otherwise, as lines to paste."""
    return "\n".join(
        f'    "{name}": "{letters}",  # table: {expected.get(name, "no entry")}'
        for name, letters in sorted(found.items())
        if expected.get(name) != letters
    )


def ask(client, method: str, path: str, data=None):
    """One request whose writes are undone, so every column meets the same world."""
    with transaction.atomic():
        if path.startswith("/api/"):
            response = getattr(client, method)(path, data or {}, format="json")
        else:
            response = getattr(client, method)(path, data or {})
        transaction.set_rollback(True)
    return response


@dataclass
class Side:
    """One site's rows."""

    site: Site
    people: dict[str, User] = field(default_factory=dict)
    rows: dict[str, object] = field(default_factory=dict)


def _side(site: Site, people: dict[str, User]) -> Side:
    side = Side(site=site, people=people)
    wc = WorkCenterFactory(site=site)
    machine = MachineFactory(work_center=wc)
    lot = LotFactory(site=site)
    wo = make_work_order(site, status="in_progress", work_centers=[wc])
    op = wo.operations.order_by("sequence").first()
    confirmation = services.confirm_operation(
        op, actor=None, good_qty=10, consumed=[Consumption(lot, Decimal("1"))]
    )
    shortage = ExceptionType.objects.get(code="material_shortage")
    ticket = tickets.raise_exception(
        actor=people["supervisor"],
        exception_type=shortage,
        site=site,
        data={"material": "RM-1"},
        work_order=wo,
    )
    attachment = tickets.add_attachment(
        ticket,
        actor=people["supervisor"],
        upload=SimpleUploadedFile("photo.png", PNG, content_type="image/png"),
    )
    rule = RoutingRule.objects.create(name=f"Rule of {site.code}", trigger="raised")
    rule.sites.set([site])
    endpoint = make_endpoint(site, name=f"ERP of {site.code}", base_url="http://127.0.0.1:9/")
    event = OutboxEvent.objects.filter(site=site).order_by("pk").first()
    delivery = ErpDelivery.objects.create(  # dead: retry and replay apply
        endpoint=endpoint, event=event, work_order=wo, status="dead", attempts=8
    )
    shipped = LotFactory(site=site)
    shipment = services.ship_lots(
        site=site,
        number=f"DN-{site.code}",
        customer="Customer",
        lines=[services.ShipmentSpec(shipped, Decimal("1"))],
        actor=None,
    )
    held = LotFactory(site=site)
    hold = quality_services.place_hold(scope="lot", lot=held, reason="matrix", actor=None)
    nonconformance = quality_services.open_nonconformance(
        site=site, title=f"NC of {site.code}", actor=None, lots=[held]
    )
    plan = InspectionPlan.objects.create(
        name=f"Plan {site.code}", item=wo.item, operation_sequence=op.sequence
    )
    bore = Characteristic.objects.create(plan=plan, name="Bore", upper_limit=Decimal(10))
    (result,) = quality_services.record_results(
        op, actor=None, results=[quality_services.Measurement(bore, value="5")]
    )
    services.report_state(machine, "fault", timezone.now() - dt.timedelta(minutes=10))
    services.open_due_downtimes()
    downtime = Downtime.objects.get(machine=machine)
    opc = OpcServer.objects.create(
        site=site, name=f"OPC of {site.code}", endpoint_url="opc.tcp://127.0.0.1:9/"
    )
    link = MachineLink.objects.create(machine=machine, server=opc)
    MachineTag.objects.create(link=link, role="state", node_id="ns=2;i=1")
    owner = people["planner"]
    token = ApiToken.objects.get(digest=digest_of(make_token(owner)))
    job = legacy.upload(
        actor=None,
        site=site,
        kind="downtime_log",
        filename="log.csv",
        data=f"Data,Maszyna,Od\n01.07.2026,{machine.code},07:00\n".encode(),
    )
    at = timezone.now()
    side.rows = {
        "legacy.importjob": job,
        "legacy.machinealias": MachineAlias.objects.create(site=site, alias="m", machine=machine),
        "legacy.legacydowntime": LegacyDowntime.objects.create(
            site=site, machine=machine, machine_text="M", started_at=at, job=job, row=2
        ),
        "legacy.legacyexception": LegacyException.objects.create(
            site=site, raised_at=at, type_text="shortage", job=job, row=2
        ),
        "mes.downtime": downtime,
        "opcua.opcserver": opc,
        "opcua.machinelink": link,
        "mes.site": site,
        "mes.workcenter": wc,
        "mes.machine": machine,
        "mes.item": wo.item,
        "mes.lot": lot,
        "mes.workorder": wo,
        "mes.operation": op,
        "mes.confirmation": confirmation,
        "mes.lotconsumption": confirmation.consumptions.first(),
        "mes.shipment": shipment,
        "quality.qualityhold": hold,
        "quality.nonconformance": nonconformance,
        "quality.sitequalitypolicy": SiteQualityPolicy.objects.create(site=site),
        "quality.inspectionresult": result,
        "mes.workingcalendar": WorkingCalendar.objects.get_or_create(site=site)[0],
        "mes.outboxevent": event,
        "mes.notification": Notification.objects.create(
            user=owner, kind="exception_raised", title="Raised", site=site
        ),
        "mes.notificationpreference": NotificationPreference.objects.create(
            user=owner, kind="exception_raised"
        ),
        "mes.apitoken": token,
        "auth.user": owner,
        "exceptions.exceptionticket": ticket,
        "exceptions.routingrule": rule,
        "erp.erpendpoint": endpoint,
        "erp.erpdelivery": delivery,
        "attachment": attachment,
    }
    return side


def _shared_rows() -> dict[str, object]:
    """Rows of no site (the group's catalogue and configuration): both sides ask for these."""
    every = IntervalSchedule.objects.create(every=1, period="hours")
    rows = {
        "auth.group": Group.objects.get(name="planner"),
        "django_celery_beat.intervalschedule": every,
        "django_celery_beat.periodictask": PeriodicTask.objects.create(
            name="matrix", task="mes.tasks.expire_accounts", interval=every
        ),
        "django_celery_beat.clockedschedule": ClockedSchedule.objects.create(
            clocked_time=timezone.now()
        ),
        "django_celery_beat.crontabschedule": CrontabSchedule.objects.create(minute="5"),
        "django_celery_beat.solarschedule": SolarSchedule.objects.create(
            event="sunrise", latitude=50, longitude=18
        ),
    }
    shortage = ExceptionType.objects.get(code="material_shortage")
    rows["exceptions.exceptiontype"] = shortage
    rows["exceptions.workflow"] = shortage.workflow
    rows["exceptions.slapolicy"] = SlaPolicy.objects.order_by("pk").first()
    rows["exceptions.escalationpolicy"] = EscalationPolicy.objects.order_by("pk").first()
    rows["quality.defectcode"] = DefectCode.objects.create(code="BURR", name="Burr")
    rows["quality.inspectionplan"] = InspectionPlan.objects.create(
        name="Matrix", item=ItemFactory(), operation_sequence=10
    )
    rows["mes.downtimereason"] = DowntimeReason.objects.create(
        code="MECH", name="Mechanical", category="mechanical"
    )
    rows["quality.dispositionreason"] = DispositionReason.objects.create(
        code="DEV", name="Deviation"
    )
    for row in rows.values():
        if hasattr(type(row), "history"):
            row.save()  # seeded by a migration, which writes no history: one past version
    return rows


@dataclass
class World:
    own: Side
    other: Side
    shared: dict[str, object]

    def shared_label(self, label: str) -> bool:
        """Rows of no site: the group's configuration, and models every site shares."""
        if label in self.shared:
            return True
        model = type(self.own.rows[label])
        return getattr(model, "scope", None) == GLOBAL

    def row(self, label: str, side: str):
        if label in self.shared:
            return self.shared[label]
        return (self.own if side == "own" else self.other).rows[label]


def make_world(p1, p2, callers: Callers) -> World:
    own_people = {"supervisor": callers.users["supervisor"], "planner": callers.users["planner"]}
    other_people = {role: make_user(f"{role}_p2", role, [p2]) for role in ("supervisor", "planner")}
    world = World(own=_side(p1, own_people), other=_side(p2, other_people), shared=_shared_rows())
    missing = {m._meta.label_lower for m in admin.site._registry} - {
        *world.shared,
        *world.own.rows,
    }
    assert not missing, f"the world has no row of {sorted(missing)}: add one"
    return world
