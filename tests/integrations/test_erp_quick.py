"""The quick work-order validator answers exactly as the serializer does, or not at all."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from integrations.erp.inbound import KINDS, screen
from integrations.erp.inbound.quick import QuickOrders
from integrations.erp.inbound.records import WorkOrderIn
from tests.integrations.test_erp_batch import order

SERIALIZER = WorkOrderIn()
QUICK = QuickOrders(SERIALIZER)
REFUSED = object()


def canon(value):
    """Exactly what was produced: a Decimal's exponent counts (1.0 is not 1.000 here)."""
    if isinstance(value, dict):
        return {k: canon(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canon(v) for v in value]
    if isinstance(value, Decimal):
        return ("D", str(value))
    return (type(value).__name__, value)


def serializer_answer(record):
    try:
        return SERIALIZER.run_validation(record)
    except serializers.ValidationError:
        return REFUSED


def check(record):
    if screen(KINDS["orders"], record) is not None:
        return None  # the batch never validates what screen refused
    quick = QUICK(record)
    expected = serializer_answer(record)
    if quick is not None:
        assert expected is not REFUSED, record
        assert canon(quick) == canon(expected), record
    return quick


def test_a_usual_order_is_answered_quickly_and_alike():
    for record in (
        order(),
        order(reference="PO 1 ", status="active"),
        order(status="cancelled", operations=[]),
        order(quantity="12.5", due_date="2026-12-31", components=[]),
        order(reference=None),
    ):
        assert check(record) is not None, record


def test_what_the_serializer_refuses_is_not_answered_quickly():
    for record in (
        order(quantity=0),
        order(quantity=-1),
        order(quantity="1.0001"),
        order(due_date="2026-02-30"),
        order(operations=[]),
        order(erp_number="  "),
        order(erp_number="x" * 65),
        order(erp_version=-1),
        order(erp_version=2**63),
        order(status="open"),
        order(components=[{"item": "RM-30196", "quantity": -1}]),
    ):
        assert QUICK(record) is None, record
        assert serializer_answer(record) is REFUSED, record


texts = st.one_of(
    st.text(max_size=8),
    st.text(alphabet=" \t\nAB1-/é", max_size=70),
    st.integers(-5, 5),
    st.floats(allow_nan=False, width=32),
    st.booleans(),
    st.none(),
)
numbers = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=5).map(str),
    st.sampled_from(["", " 1.5 ", "1e3", "0", "-0", "1,5", "0.0001", "1.00000", "9" * 14]),
    st.booleans(),
    st.none(),
)
integers = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, 10, 20]),
    st.floats(width=16),
    st.sampled_from(["10", "1.0", True]),
    st.none(),
)
dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["2026-02-30", "2026-13-01", " 2026-01-01", "2026-1-01", "20260101"]),
    st.text(max_size=11),
    st.integers(),
    st.none(),
)


operation = st.fixed_dictionaries(
    {
        "sequence": integers,
        "work_center": texts,
        "setup_minutes": numbers,
        "run_minutes_per_unit": numbers,
    },
    optional={"description": texts},
)
component = st.fixed_dictionaries({"item": texts, "quantity": numbers})
records = st.fixed_dictionaries(
    {
        "erp_number": texts,
        "site": texts,
        "item": texts,
        "quantity": numbers,
        "due_date": dates,
        "erp_version": integers,
    },
    optional={
        "status": st.one_of(st.sampled_from(["active", "cancelled", "", "ACTIVE"]), st.none()),
        "reference": texts,
        "operations": st.one_of(st.lists(st.one_of(operation, texts), max_size=4), texts),
        "components": st.one_of(st.lists(st.one_of(component, texts), max_size=3), texts),
        "extra": texts,
    },
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_quick_answers_equal_the_serializers_on_generated_records(record):
    check(record)


plain_texts = st.text(alphabet="AB1-/ é", min_size=1, max_size=12)
plain_numbers = st.one_of(
    st.integers(0, 10**6), st.floats(0, 10**6), st.decimals(0, 10**6, places=3).map(str)
)
plain_operation = st.fixed_dictionaries(
    {
        "sequence": st.integers(1, 1000),
        "work_center": plain_texts,
        "setup_minutes": plain_numbers,
        "run_minutes_per_unit": plain_numbers,
    }
)
plain_records = st.fixed_dictionaries(
    {
        "erp_number": plain_texts,
        "site": plain_texts,
        "item": plain_texts,
        "quantity": plain_numbers,
        "due_date": st.dates().map(lambda d: d.isoformat()),
        "erp_version": st.integers(0, 2**40),
        "operations": st.lists(plain_operation, min_size=1, max_size=5),
        "components": st.lists(
            st.fixed_dictionaries({"item": plain_texts, "quantity": plain_numbers}), max_size=3
        ),
    }
)


@settings(max_examples=300, deadline=None)
@given(plain_records)
def test_records_of_the_usual_shape_mostly_take_the_quick_path(record):
    # near the valid space, so the equality above is tested where it matters
    answer = check(record)
    if serializer_answer(record) is not REFUSED:
        assert answer is not None, record
