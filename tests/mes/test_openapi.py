"""Issue 12, hole 9: the OpenAPI schema is true to the answers: nullable fields say so, the
work-center queue is a list, and every operation documents its errors in the error shape."""

import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def props(schema, component):
    return schema["components"]["schemas"][component]["properties"]


@pytest.mark.parametrize(
    "component, fields",
    [
        (
            "ExceptionList",
            ["machine", "work_center", "work_order", "lot", "assignee", "operation", "queue"],
        ),
        ("Operation", ["machine"]),
        ("Lot", ["produced_by"]),
        ("Confirmation", ["machine", "confirmed_by"]),
    ],
)
def test_nullable_fields_are_marked(schema, component, fields):
    found = props(schema, component)
    assert {f for f in fields if not found[f].get("nullable")} == set()


def test_the_queue_is_documented_as_the_list_it_answers(schema):
    answer = schema["paths"]["/api/v1/work-centers/{code}/queue/"]["get"]["responses"]["200"]
    body = answer["content"]["application/json"]["schema"]
    assert body["type"] == "array"


def test_every_operation_documents_its_errors_in_the_error_shape(schema):
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            wanted = ("400", "401", "403", "404")
            if method in ("post", "put", "patch", "delete"):
                wanted += ("409", "412")
            for code in wanted:
                content = operation["responses"].get(code, {}).get("content", {})
                ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
                if not ref.endswith("/Error"):
                    missing.append(f"{method.upper()} {path} {code}")
    assert missing == []
    assert set(props(schema, "Error")) == {"code", "detail", "fields"}
