"""Form schemas: the subset is checked when a type is saved, data is checked on every raise."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exceptions.defaults import TYPES
from exceptions.models import ExceptionType
from exceptions.schema import coerce_form_values, schema_problems, validate_data

SCHEMA = {
    "type": "object",
    "properties": {
        "material": {"type": "string", "title": "Material", "minLength": 1, "maxLength": 10},
        "qty": {"type": "number", "title": "Quantity", "minimum": 0, "maximum": 1000},
        "pieces": {"type": "integer", "title": "Pieces", "minimum": 1},
        "stopped": {"type": "boolean", "title": "Stopped"},
        "needed_by": {"type": "string", "format": "date", "title": "Needed by"},
        "seen_at": {"type": "string", "format": "date-time", "title": "Seen at"},
        "defect": {"type": "string", "title": "Defect", "enum": ["dimension", "surface"]},
    },
    "required": ["material", "defect"],
}
GOOD = {"material": "RM-1", "defect": "surface"}


def test_seeded_schemas_are_valid():
    for spec in TYPES:
        assert schema_problems(spec["form_schema"]) == [], spec["code"]


def test_valid_data_has_no_errors():
    data = {
        **GOOD,
        "qty": 12.5,
        "pieces": 3,
        "stopped": True,
        "needed_by": "2026-12-01",
        "seen_at": "2026-12-01T10:30:00+01:00",
    }
    assert validate_data(SCHEMA, data) == {}


def test_schemas_are_standard_json_schema_that_outside_tools_read(db):
    """A stock JSON Schema validator (no Andon code) reads every seeded schema and checks
    data with it the way Andon does."""
    from jsonschema import Draft202012Validator

    for exception_type in ExceptionType.objects.all():
        Draft202012Validator.check_schema(exception_type.form_schema)
    shortage = ExceptionType.objects.get(code="material_shortage").form_schema
    assert shortage["properties"]["needed_by"] == {
        "type": "string",
        "format": "date",
        "title": "Needed by",
    }
    stock = Draft202012Validator(shortage, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert stock.is_valid({"material": "RM-1", "needed_by": "2026-12-01"})
    assert not stock.is_valid({"material": "RM-1", "needed_by": "01.12.2026"})


def test_the_old_date_type_is_refused_with_the_standard_spelling():
    problems = schema_problems({"properties": {"due": {"type": "date"}}})
    assert problems == [
        'Field due: JSON Schema writes a date as {"type": "string", "format": "date"}.'
    ]


def test_the_data_migration_writes_dates_the_standard_way():
    import importlib

    migration = importlib.import_module("exceptions.migrations.0007_standard_form_schemas")
    old = {
        "properties": {
            "due": {"type": "date", "title": "Due"},
            "at": {"type": "date-time"},
            "qty": {"type": "number"},
        }
    }
    new, changed = migration.to_standard(old)
    assert changed
    assert new["properties"] == {
        "due": {"type": "string", "format": "date", "title": "Due"},
        "at": {"type": "string", "format": "date-time"},
        "qty": {"type": "number"},
    }
    assert migration.to_standard(new) == (new, False)


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"defect": "surface"}, "material", "required"),
        ({**GOOD, "material": ""}, "material", "too short"),
        ({**GOOD, "material": "x" * 11}, "material", "too long"),
        ({**GOOD, "qty": "lots"}, "qty", "type number"),
        ({**GOOD, "qty": -1}, "qty", "at least 0"),
        ({**GOOD, "qty": 1001}, "qty", "at most 1000"),
        ({**GOOD, "pieces": 1.5}, "pieces", "type integer"),
        ({**GOOD, "pieces": True}, "pieces", "type integer"),
        ({**GOOD, "stopped": "yes"}, "stopped", "type boolean"),
        ({**GOOD, "needed_by": "12.08.2026"}, "needed_by", "date"),
        ({**GOOD, "seen_at": "2026-12-01"}, "seen_at", "date and time"),
        ({**GOOD, "seen_at": "2026-12-01T10:30:00"}, "seen_at", "offset"),
        ({**GOOD, "defect": "colour"}, "defect", "one of"),
        ({**GOOD, "colour": "red"}, "colour", "Unknown field"),
    ],
)
def test_each_bad_field_is_named(data, field, words):
    errors = validate_data(SCHEMA, data)
    assert list(errors) == [field]
    assert words.lower() in errors[field][0].lower()


def test_data_must_be_an_object():
    assert "data" in validate_data(SCHEMA, ["x"])


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array"},
        {"properties": {"x": {"type": "object"}}},
        {"properties": {"x": {"type": "string", "pattern": "^a"}}},
        {"properties": {"x": {"type": "string", "enum": []}}},
        {"properties": {"x": {"type": "string"}}, "required": ["y"]},
        {"properties": {"x": {"type": "number", "minimum": "zero"}}},
        {"properties": [], "type": "object"},
        {"anyOf": []},
        {"properties": {"x": {"type": "date"}}},
        {"properties": {"x": {"type": "string", "format": "email"}}},
        "not a schema",
    ],
)
def test_bad_schemas_are_refused(schema, db):
    assert schema_problems(schema)
    exception_type = ExceptionType.objects.get(code="material_shortage")
    exception_type.form_schema = schema
    with pytest.raises(ValidationError) as err:
        exception_type.full_clean()
    assert "form_schema" in err.value.message_dict


def test_coerce_form_values_from_html():
    values = {
        "material": "RM-1",
        "qty": "12,5",
        "pieces": "3",
        "stopped": "on",
        "needed_by": "2026-12-01",
        "seen_at": "2026-12-01T10:30",
        "defect": "surface",
    }
    with timezone.override("Europe/Warsaw"):
        coerced = coerce_form_values(SCHEMA, values)
    assert coerced == {
        "material": "RM-1",
        "qty": 12.5,
        "pieces": 3,
        "stopped": True,
        "needed_by": "2026-12-01",
        "seen_at": "2026-12-01T10:30:00+01:00",
        "defect": "surface",
    }
    assert validate_data(SCHEMA, coerced) == {}
    # Values that do not convert stay strings, so validation names the field.
    assert validate_data(
        SCHEMA, coerce_form_values(SCHEMA, {**values, "pieces": "three"})
    ).keys() == {"pieces"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(["material", "qty", "pieces", "stopped", "needed_by", "defect", "x"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=True),
            st.text(max_size=12),
            st.lists(st.integers(), max_size=2),
        ),
    )
)
def test_validation_never_crashes_and_names_known_fields(data):
    errors = validate_data(SCHEMA, data)
    assert set(errors) <= set(SCHEMA["properties"]) | set(data)


def test_field_order_survives_postgresql(db):
    """jsonb sorts keys; the saved ``order`` keeps the fields as the manager typed them."""
    exception_type = ExceptionType.objects.get(code="material_shortage")
    exception_type.form_schema = {
        "type": "object",
        "properties": {
            "zeta": {"type": "string"},
            "alpha": {"type": "integer"},
            "mid": {"type": "string", "format": "date"},
        },
    }
    exception_type.full_clean()
    exception_type.save()
    exception_type.refresh_from_db()
    from exceptions.schema import fields

    assert [name for name, *_ in fields(exception_type.form_schema)] == ["zeta", "alpha", "mid"]
    seeded = ExceptionType.objects.get(code="machine_breakdown")
    assert [name for name, *_ in fields(seeded.form_schema)] == [
        "symptom",
        "alarm_code",
        "line_stopped",
    ]
