"""Services: one history row per changed record with actor and reason, one OutboxEvent per call,
the transition table enforced, permissions and site checked, locks that hold under concurrency."""

from decimal import Decimal

import pytest

from mes import services
from mes.choices import WORK_ORDER_ACTIONS
from mes.errors import DomainError, InvalidInput, NotPermitted, TransitionNotAllowed
from mes.models import (
    Confirmation,
    Item,
    Lot,
    LotConsumption,
    Machine,
    Operation,
    OutboxEvent,
    Site,
    WorkCenter,
    WorkOrder,
)
from tests.concurrency import together
from tests.factories import LotFactory, MachineFactory, WorkCenterFactory, make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

TRACKED = [Site, WorkCenter, Machine, Item, WorkOrder, Operation, Lot, Confirmation, LotConsumption]


def history_counts():
    counts = {}
    for model in TRACKED:
        for pk in model.history.values_list("id", flat=True):
            counts[(model.__name__, pk)] = counts.get((model.__name__, pk), 0) + 1
    return counts


class Audit:
    """Snapshot history and outbox, run a service call, report what it wrote."""

    def __init__(self):
        self.before = history_counts()
        self.last_event = (
            OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )

    def changes(self):
        after = history_counts()
        return {
            key: after[key] - self.before.get(key, 0)
            for key in after
            if after[key] != self.before.get(key, 0)
        }

    def events(self):
        return list(OutboxEvent.objects.filter(pk__gt=self.last_event))


def assert_audited(audit, actor, reason, expected_records, event_type, also=()):
    changes = audit.changes()
    assert set(changes) == expected_records
    assert all(n == 1 for n in changes.values()), changes
    for model_name, pk in expected_records:
        model = next(m for m in TRACKED if m.__name__ == model_name)
        row = model.history.filter(id=pk).order_by("-history_id").first()
        assert row.history_user == actor
        assert row.history_change_reason == reason
    events = audit.events()
    assert [e.type for e in events] == [event_type, *also]
    assert all(e.actor == actor for e in events)
    return events[0]


@pytest.fixture
def planner(p1, user_in):
    return user_in("planner", p1)


@pytest.fixture
def supervisor(p1, user_in):
    return user_in("supervisor", p1)


def test_release_writes_one_history_row_per_changed_record(p1, planner):
    wo = make_work_order(p1, status="planned", operations=3)
    ops = list(wo.operations.all())
    audit = Audit()
    services.release_work_order(wo, actor=planner, reason="Material arrived")
    expected = {("WorkOrder", wo.pk)} | {("Operation", op.pk) for op in ops}
    event = assert_audited(audit, planner, "Material arrived", expected, "work_order.released")
    assert event.payload["erp_number"] == wo.erp_number
    assert event.site == p1
    assert sorted(
        Operation.objects.filter(work_order=wo).values_list("dispatch_rank", flat=True)
    ) == [1, 1, 1]


@pytest.mark.parametrize(
    ("start", "service", "kwargs", "event"),
    [
        ("released", services.start_work_order, {"reason": "go"}, "work_order.started"),
        ("released", services.hold_work_order, {"reason": "Brak materiału"}, "work_order.held"),
        ("in_progress", services.hold_work_order, {"reason": "Maschine defekt"}, "work_order.held"),
        ("on_hold", services.resume_work_order, {"reason": "ok"}, "work_order.resumed"),
        ("completed", services.close_work_order, {"reason": "done"}, "work_order.closed"),
    ],
)
def test_status_services_audit_the_order_only(p1, supervisor, start, service, kwargs, event):
    wo = make_work_order(p1, status=start)
    audit = Audit()
    service(wo, actor=supervisor, **kwargs)
    assert_audited(audit, supervisor, kwargs["reason"], {("WorkOrder", wo.pk)}, event)


def test_cancel_audits_order_and_its_queued_operations(p1, planner):
    wo = make_work_order(p1, status="released", operations=2)
    audit = Audit()
    services.cancel_work_order(wo, actor=planner, reason="Customer cancelled")
    expected = {("WorkOrder", wo.pk)} | {("Operation", op.pk) for op in wo.operations.all()}
    assert_audited(audit, planner, "Customer cancelled", expected, "work_order.cancelled")
    assert set(wo.operations.values_list("status", "dispatch_rank")) == {("cancelled", None)}


def test_resume_returns_to_the_state_before_hold(p1, supervisor):
    for start in ("released", "in_progress"):
        wo = make_work_order(p1, status=start)
        services.hold_work_order(wo, actor=supervisor, reason="wait")
        assert services.resume_work_order(wo, actor=supervisor).status == start


def test_complete_needs_finished_operations(p1, supervisor):
    wo = make_work_order(p1, status="in_progress", operations=2)
    with pytest.raises(DomainError) as err:
        services.complete_work_order(wo, actor=supervisor)
    assert err.value.code == "operations_open"
    for op in wo.operations.all():
        services.confirm_operation(op, actor=supervisor, good_qty=100, final=True)
    audit = Audit()
    done = services.complete_work_order(wo, actor=supervisor, reason="all done")
    assert done.status == "completed"
    event = assert_audited(
        audit, supervisor, "all done", {("WorkOrder", wo.pk)}, "work_order.completed"
    )
    assert event.payload["good_qty"] == "100.000"


SERVICE_TARGET = {
    services.release_work_order: ("release", "released"),
    services.start_work_order: ("start", "in_progress"),
    services.hold_work_order: ("hold", "on_hold"),
    services.complete_work_order: ("complete", "completed"),
    services.close_work_order: ("close", "closed"),
    services.cancel_work_order: ("cancel", "cancelled"),
}


@pytest.mark.parametrize(
    "start", ["planned", "released", "in_progress", "on_hold", "completed", "closed", "cancelled"]
)
@pytest.mark.parametrize("service", list(SERVICE_TARGET), ids=lambda f: f.__name__)
def test_transition_table_is_enforced(p1, supervisor, user_in, start, service):
    wo = make_work_order(p1, status=start, operations=1)
    actor = user_in("manager", p1)
    verb, target = SERVICE_TARGET[service]
    allowed = start in WORK_ORDER_ACTIONS[verb]
    if service is services.complete_work_order and start == "in_progress":
        services.confirm_operation(wo.operations.get(), actor=None, good_qty=1, final=True)
    audit = Audit()
    if allowed:
        result = service(wo, actor=actor, reason="r")
        assert result.status == target
        assert len(audit.events()) == 1
    else:
        with pytest.raises(TransitionNotAllowed):
            service(wo, actor=actor, reason="r")
        assert audit.changes() == {} and audit.events() == []
        assert WorkOrder.objects.get(pk=wo.pk).status == start


def test_reason_required_for_hold_cancel_resequence(p1, supervisor):
    wo = make_work_order(p1, status="released")
    for call in (
        lambda: services.hold_work_order(wo, actor=supervisor, reason=" "),
        lambda: services.cancel_work_order(wo, actor=supervisor, reason=""),
        lambda: services.resequence_work_center(
            wo.operations.first().work_center, actor=supervisor, operation_ids=[], reason=""
        ),
    ):
        with pytest.raises(InvalidInput) as err:
            call()
        assert err.value.code == "reason_required"
    assert WorkOrder.objects.get(pk=wo.pk).status == "released"


def test_permissions_and_site_are_checked(p1, p2, user_in):
    wo = make_work_order(p1, status="released")
    for actor, code in [
        (user_in("auditor"), "permission_denied"),
        (user_in("customer_service", p1), "permission_denied"),
        (user_in("supervisor", p2), "wrong_site"),
    ]:
        with pytest.raises(NotPermitted) as err:
            services.hold_work_order(wo, actor=actor, reason="x")
        assert err.value.code == code
    assert WorkOrder.objects.get(pk=wo.pk).status == "released"


def test_start_operation_starts_the_order(p1, supervisor):
    wo = make_work_order(p1, status="released")
    op = wo.operations.order_by("sequence").first()
    machine = MachineFactory(work_center=op.work_center)
    audit = Audit()
    services.start_operation(op, actor=supervisor, machine=machine, reason="shift start")
    assert_audited(
        audit,
        supervisor,
        "shift start",
        {("WorkOrder", wo.pk), ("Operation", op.pk)},
        "operation.started",
    )
    op.refresh_from_db()
    assert (op.status, op.dispatch_rank, op.machine) == ("in_progress", None, machine)
    assert WorkOrder.objects.get(pk=wo.pk).status == "in_progress"


def test_start_operation_with_other_sites_machine_is_refused(p1, p2, supervisor):
    wo = make_work_order(p1, status="released")
    with pytest.raises(InvalidInput):
        services.start_operation(
            wo.operations.first(), actor=supervisor, machine=MachineFactory(work_center__site=p2)
        )


def test_confirm_audits_every_changed_record(p1, user_in):
    operator = user_in("operator", p1)
    wo = make_work_order(p1, status="released", qty="40")
    op = wo.operations.order_by("sequence").first()
    lot_a = LotFactory(site=p1, quantity=Decimal("5"))
    lot_b = LotFactory(site=p1, quantity=Decimal("100"))
    audit = Audit()
    confirmation = services.confirm_operation(
        op,
        actor=operator,
        good_qty="39",
        scrap_qty="1",
        labor_minutes="61.5",
        machine_minutes="58",
        final=True,
        consumed=[
            services.Consumption(lot_a, Decimal("5")),
            services.Consumption(lot_b, Decimal("12.5")),
        ],
        produced_lot="P1-FG-0001",
        note="shift 2",
    )
    produced = Lot.objects.get(number="P1-FG-0001")
    consumptions = set(LotConsumption.objects.values_list("pk", flat=True))
    expected = {
        ("WorkOrder", wo.pk),
        ("Operation", op.pk),
        ("Confirmation", confirmation.pk),
        ("Lot", lot_a.pk),
        ("Lot", lot_b.pk),
        ("Lot", produced.pk),
    } | {("LotConsumption", pk) for pk in consumptions}
    event = assert_audited(
        audit,
        operator,
        "shift 2",
        expected,
        "operation.confirmed",
        also=("material.consumed", "lot.produced"),
    )
    consumed = [
        {"lot": lot_a.number, "item": lot_a.item.code, "quantity": "5.000"},
        {"lot": lot_b.number, "item": lot_b.item.code, "quantity": "12.500"},
    ]
    assert event.payload["consumed"] == consumed
    _confirmed, used, made = audit.events()
    assert used.payload["lots"] == consumed and used.payload["erp_number"] == wo.erp_number
    assert (made.payload["lot"], made.payload["quantity"]) == ("P1-FG-0001", "39.000")
    assert made.payload["consumed"] == consumed
    lot_a.refresh_from_db()
    lot_b.refresh_from_db()
    assert (lot_a.quantity, lot_a.status) == (Decimal(0), "consumed")
    assert (lot_b.quantity, lot_b.status) == (Decimal("87.5"), "available")
    assert produced.produced_by == confirmation and produced.quantity == Decimal(39)


def test_split_confirmation_keeps_operation_open_until_final(p1, supervisor):
    wo = make_work_order(p1, status="in_progress", qty="10")
    op = wo.operations.order_by("sequence").first()
    services.confirm_operation(op, actor=supervisor, good_qty=4)
    assert Operation.objects.get(pk=op.pk).status == "in_progress"
    services.confirm_operation(op, actor=supervisor, good_qty=6, final=True)
    assert Operation.objects.get(pk=op.pk).status == "completed"
    with pytest.raises(DomainError) as err:
        services.confirm_operation(op, actor=supervisor, good_qty=1)
    assert err.value.code == "operation_not_open"


def test_produced_lot_number_clash_rolls_everything_back(p1, supervisor):
    wo = make_work_order(p1, status="in_progress")
    LotFactory(site=p1, number="TAKEN")
    lot = LotFactory(site=p1, quantity=Decimal(10))
    audit = Audit()
    with pytest.raises(DomainError):
        services.confirm_operation(
            wo.operations.first(),
            actor=supervisor,
            good_qty=1,
            consumed=[services.Consumption(lot, Decimal(2))],
            produced_lot="TAKEN",
        )
    assert audit.changes() == {} and audit.events() == []
    assert Lot.objects.get(pk=lot.pk).quantity == Decimal(10)


def test_resequence_audits_only_moved_operations(p1, planner):
    wc = WorkCenterFactory(site=p1)
    ops = [
        make_work_order(p1, status="released", operations=1, work_centers=[wc]).operations.get()
        for _ in range(3)
    ]
    audit = Audit()
    services.resequence_work_center(
        wc, actor=planner, operation_ids=[ops[0].pk, ops[2].pk, ops[1].pk], reason="Rush"
    )
    event = assert_audited(
        audit,
        planner,
        "Rush",
        {("Operation", ops[1].pk), ("Operation", ops[2].pk)},
        "work_center.resequenced",
    )
    assert event.payload["previous"] == [op.pk for op in ops]
    ranks = dict(Operation.objects.filter(work_center=wc).values_list("pk", "dispatch_rank"))
    assert ranks == {ops[0].pk: 1, ops[2].pk: 2, ops[1].pk: 3}


def test_new_release_queues_behind_existing(p1, planner):
    wc = WorkCenterFactory(site=p1)
    first = make_work_order(p1, status="released", operations=1, work_centers=[wc])
    second = make_work_order(p1, status="released", operations=1, work_centers=[wc])
    assert first.operations.get().dispatch_rank == 1
    assert second.operations.get().dispatch_rank == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_confirmations_never_overconsume_a_lot(p1, user_in):
    """Two operators consume the same 10 kg lot at once: the row lock lets exactly one win."""
    operator = user_in("operator", p1)
    lot = LotFactory(site=p1, quantity=Decimal(10))
    ops = [make_work_order(p1, status="in_progress").operations.first() for _ in range(2)]

    def confirm(op):
        try:
            services.confirm_operation(
                op, actor=operator, good_qty=1, consumed=[services.Consumption(lot, Decimal(8))]
            )
            return "ok"
        except DomainError as exc:
            return exc.code

    outcomes = together(confirm, [(op,) for op in ops])
    assert sorted(outcomes) == ["insufficient_lot_quantity", "ok"]
    assert Lot.objects.get(pk=lot.pk).quantity == Decimal(2)
    assert LotConsumption.objects.count() == 1
