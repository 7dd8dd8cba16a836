"""Demo data of the production core: two sites with work centers and machines, items, supplier
lots, one user per role per site (and a manager, an auditor and the ERP's account), and ~40 work
orders in every status. Run by ``manage.py seed_demo`` before the other apps' demo data."""

import datetime
import random
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.utils import timezone

from mes import services
from mes.access import grant_site_access
from mes.models import (
    AccountKind,
    AccountProfile,
    DowntimeReason,
    Item,
    Machine,
    NonWorkingDay,
    Site,
    WorkCenter,
    WorkingCalendar,
)
from mes.roles import ROLES
from mes.services.accounts import set_lifecycle

PASSWORD = "andon-demo"  # noqa: S105 - documented demo password

SITES = [
    ("P1", "Zakład Gliwice", "Europe/Warsaw"),
    ("P2", "Werk Zwickau", "Europe/Berlin"),
]
WORK_CENTERS = {
    "P1": [
        ("P1-TOK", "Toczenie CNC", "machining", ["Haas ST-20", "Haas ST-20"]),
        ("P1-FRE", "Frezowanie CNC", "machining", ["DMG Mori CMX 600", "Haas VF-2"]),
        ("P1-PRA", "Tłocznia i gięcie", "press", ["Prasa Amada 80t", "Prasa Amada 120t"]),
        ("P1-MK", "Montaż końcowy", "assembly", ["Stanowisko montażu 1"]),
    ],
    "P2": [
        ("P2-DRE", "Drehen CNC", "machining", ["Index G200", "Index G200"]),
        ("P2-LAC", "Pulverbeschichtung", "paint", ["Lackierkabine 1"]),
        ("P2-MON", "Endmontage", "assembly", ["Montageplatz 1", "Montageplatz 2"]),
    ],
}
ITEMS = [
    ("FG-10102", "Zestaw uszczelek ZU-46", "finished", "pcs"),
    ("FG-10103", "Cable set CS-63", "finished", "pcs"),
    ("FG-10104", "Befestigungssatz BS-46", "finished", "pcs"),
    ("FG-10112", "Wspornik lewy 40x40", "finished", "pcs"),
    ("FG-10120", "Gehäuse GH-12", "finished", "pcs"),
    ("SF-20149-C", "Tuleja toczona T-20", "semi", "pcs"),
    ("SF-20259", "Blacha gięta BG-7", "semi", "pcs"),
    ("RM-30062", "Pręt stalowy C45 Ø40", "raw", "kg"),
    ("RM-30179", "Blecharkusz DC01 2 mm", "raw", "kg"),
    ("RM-30196", "Proszek lakierniczy RAL 7035", "raw", "kg"),
    ("RM-30210", "Śruba M8x20 ocynkowana", "raw", "pcs"),
]
# Per site: how many work orders end in each status (20 per site, 40 in all).
STATUS_MIX = [
    ("planned", 3),
    ("released", 4),
    ("in_progress", 5),
    ("on_hold", 2),
    ("completed", 3),
    ("closed", 2),
    ("cancelled", 1),
]


def seed(plant) -> None:
    """Fill ``plant`` (``sites``, ``users``, ``rng``) for the apps seeded after this one."""
    plant.sites = _master_data()
    plant.users = _users(plant.sites)
    for site in plant.sites:
        _lots(site, plant.rng)
        _work_orders(site, plant.rng)


def _master_data() -> list[Site]:
    sites = []
    for code, name, tz in SITES:
        site = services.save_master_record(
            Site(code=code, name=name, timezone=tz), actor=None, reason="seed_demo"
        )
        sites.append(site)
        for wc_code, wc_name, kind, machines in WORK_CENTERS[code]:
            wc = services.save_master_record(
                WorkCenter(site=site, code=wc_code, name=wc_name, kind=kind),
                actor=None,
                reason="seed_demo",
            )
            for n, machine_name in enumerate(machines, start=1):
                services.save_master_record(
                    Machine(
                        site=site,
                        work_center=wc,
                        code=f"{wc_code}-{n:02d}",
                        name=machine_name,
                        ideal_cycle_seconds=Decimal(60 + 15 * n),
                    ),
                    actor=None,
                    reason="seed_demo",
                )
    _calendars(sites)
    _downtime_reasons()
    for code, name, kind, unit in ITEMS:
        services.save_master_record(
            Item(code=code, name=name, kind=kind, unit=unit), actor=None, reason="seed_demo"
        )
    return sites


def _calendars(sites: list[Site]) -> None:
    """P1 runs three shifts Monday 06:00 to Saturday 06:00; P2 runs 06:00-22:00 on weekdays
    and closes for the summer break (SLA clocks and projections stop when a plant does)."""
    by_code = {s.code: s for s in sites}
    services.save_calendar(
        WorkingCalendar(
            site=by_code["P1"],
            shifts={
                "0": [["06:00", "24:00"]],
                **{str(d): [["00:00", "24:00"]] for d in range(1, 5)},
                "5": [["00:00", "06:00"]],
            },
            shift_changes="06:00 14:00 22:00",
        ),
        actor=None,
        reason="seed_demo",
    )
    p2 = WorkingCalendar(
        site=by_code["P2"],
        shifts={str(d): [["06:00", "22:00"]] for d in range(5)},
        shift_changes="06:00 14:00",
    )
    summer_break = [
        NonWorkingDay(calendar=p2, date=datetime.date(2026, 8, day), reason="Werksferien")
        for day in range(3, 15)
    ]
    services.save_calendar(p2, actor=None, reason="seed_demo", children=summer_break)


REASONS = [  # (code, name, category, planned, leaves)
    (
        "PLAN",
        "Planned",
        "planned",
        True,
        [("BREAK", "Break"), ("PM", "Planned maintenance"), ("CHANGE", "Changeover")],
    ),
    ("MECH", "Mechanical", "mechanical", False, [("HYD", "Hydraulics"), ("JAM", "Jam")]),
    ("ELEC", "Electrical", "electrical", False, [("DRIVE", "Drive fault"), ("SENS", "Sensor")]),
    ("MAT", "Material", "material", False, [("NOMAT", "No material"), ("BADMAT", "Bad material")]),
    ("TOOL", "Tooling", "tooling", False, [("WEAR", "Tool worn"), ("BREAKT", "Tool broken")]),
    ("QUAL", "Quality", "quality", False, [("QCHK", "Quality check")]),
]


def _downtime_reasons() -> None:
    """The reason tree the floor picks from (big buttons, a branch per heading)."""
    for order, (code, name, category, planned, leaves) in enumerate(REASONS):
        branch = services.save_master_record(
            DowntimeReason(
                code=code, name=name, category=category, planned=planned, sort_order=order
            ),
            actor=None,
            reason="seed_demo",
        )
        for n, (leaf, leaf_name) in enumerate(leaves):
            services.save_master_record(
                DowntimeReason(
                    code=leaf,
                    name=leaf_name,
                    category=category,
                    planned=planned,
                    parent=branch,
                    sort_order=n,
                ),
                actor=None,
                reason="seed_demo",
            )


def _users(sites: list[Site]) -> dict[str, User]:
    groups = {g.name: g for g in Group.objects.filter(name__in=ROLES)}
    users = {}
    for site in sites:
        for role in ROLES:
            user = _user(f"{role}_{site.code.lower()}", groups[role], role == "manager")
            grant_site_access(user, site)
            users[user.username] = user
    users["manager"] = _user("manager", groups["manager"], staff=True)
    users["erp"] = _user("erp", groups["erp_integration"], staff=False)
    for site in sites:
        grant_site_access(users["manager"], site)
        grant_site_access(users["erp"], site)
    # Auditors read every site through the role's global site permission.
    users["auditor"] = _user("auditor", groups["auditor"], staff=True)
    _lifecycles(users, groups, sites[0])
    return users


def _lifecycles(users: dict[str, User], groups: dict[str, Group], p1: Site) -> None:
    """Accounts that expire, so the access review has something to show: the ERP's service
    account, a press vendor expiring in 10 days, and a consultant whose project ended."""
    now = timezone.now()
    sponsor = users["manager_p1"]
    set_lifecycle(
        users["erp"],
        actor=None,
        kind=AccountKind.SERVICE,
        sponsor=users["manager"],
        expires_at=now + datetime.timedelta(days=90),
        reason="seed_demo: the ERP's integration account",
    )
    vendor = users["vendor_p1"] = _user("vendor_p1", groups["maintenance"], staff=False)
    grant_site_access(vendor, p1)
    set_lifecycle(
        vendor,
        actor=None,
        kind=AccountKind.VENDOR,
        sponsor=sponsor,
        expires_at=now + datetime.timedelta(days=10),
        reason="seed_demo: press service contract",
    )
    consultant = users["consultant_p1"] = _user("consultant_p1", groups["planner"], staff=False)
    grant_site_access(consultant, p1)
    # Already past: written as the periodic task would find it (the service takes only a
    # future date).
    AccountProfile.objects.create(
        user=consultant,
        kind=AccountKind.PROJECT,
        sponsor=sponsor,
        expires_at=now - datetime.timedelta(days=2),
    )


def _user(username: str, group: Group, staff: bool) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=staff)
    user.groups.add(group)
    return user


def _lots(site: Site, rng: random.Random) -> None:
    for n, item in enumerate(Item.objects.filter(kind="raw"), start=1):
        services.receive_lot(
            site=site,
            number=f"{site.code}-L{n:04d}",
            item=item,
            quantity=Decimal(rng.randrange(500, 5000)),
            supplier=rng.choice(["ArcelorMittal Poland", "Würth", "Akzo Nobel"]),
            actor=None,
            reason="seed_demo",
        )


def _work_orders(site: Site, rng: random.Random) -> None:
    wcs = list(site.work_centers.order_by("code"))
    finished = list(Item.objects.filter(kind__in=["finished", "semi"]).order_by("code"))
    today = timezone.localdate(timezone.now(), site.tzinfo)
    number = 0
    for status, count in STATUS_MIX:
        for _ in range(count):
            number += 1
            erp_number = (
                f"ZP/2026/11/{number:04d}" if site.code == "P1" else f"FA26-{4500 + number:06d}"
            )
            qty = Decimal(rng.choice([20, 50, 100, 250, 400]))
            # A third of the open orders are already past due: the floor page shows them.
            due = today + datetime.timedelta(days=rng.randint(-6, 21))
            route = rng.sample(wcs, k=min(len(wcs), rng.randint(2, 3)))
            wo = services.create_work_order(
                site=site,
                erp_number=erp_number,
                item=rng.choice(finished),
                planned_qty=qty,
                due_date=due,
                priority=rng.randint(1, 99),
                erp_version=1,
                operations=[
                    services.OperationSpec(
                        sequence=10 * (i + 1),
                        work_center=wc,
                        setup_minutes=Decimal(rng.choice([10, 20, 45])),
                        run_minutes_per_unit=Decimal(rng.choice(["0.25", "0.5", "1.2"])),
                    )
                    for i, wc in enumerate(route)
                ],
                actor=None,
                reason="seed_demo",
            )
            _bring_to(wo, status, qty, rng)


def _bring_to(wo, status: str, qty: Decimal, rng: random.Random) -> None:
    if status == "planned":
        return
    if status == "cancelled":
        services.cancel_work_order(wo, actor=None, reason="Customer cancelled (demo)")
        return
    services.release_work_order(wo, actor=None, reason="seed_demo")
    if status == "released":
        return
    ops = list(wo.operations.order_by("sequence"))
    machine = ops[0].work_center.machines.first()
    services.start_operation(ops[0], actor=None, machine=machine, reason="seed_demo")
    if status in ("in_progress", "on_hold"):
        services.confirm_operation(
            ops[0],
            actor=None,
            good_qty=qty // 2,
            scrap_qty=Decimal(rng.randint(0, 3)),
            labor_minutes=Decimal(rng.randint(30, 90)),
            machine_minutes=Decimal(rng.randint(30, 90)),
            machine=machine,
            note="seed_demo",
        )
        if status == "on_hold":
            services.hold_work_order(wo, actor=None, reason="Waiting for material (demo)")
        return
    for op in ops:
        services.confirm_operation(
            op,
            actor=None,
            good_qty=qty,
            labor_minutes=Decimal(rng.randint(60, 240)),
            machine_minutes=Decimal(rng.randint(60, 240)),
            machine=op.work_center.machines.first(),
            final=True,
            note="seed_demo",
        )
    services.complete_work_order(wo, actor=None, reason="seed_demo")
    if status == "closed":
        services.close_work_order(wo, actor=None, reason="seed_demo")
