"""Quality's seeded configuration: the ``out_of_spec`` exception type an out-of-spec result
raises, and the rule that holds the material for it. Put back after every migrate (and a
test's flush) when the type is gone; a plant edits both in the admin."""

from exceptions.schema import canonical_schema

OUT_OF_SPEC = {
    "code": "out_of_spec",
    "name": "Out of spec",
    "category": "quality",
    "default_severity": "high",
    "icon": "📏",
    "colour": "#be123c",
    "sort_order": 35,
    "form_schema": {
        "type": "object",
        "properties": {
            "characteristic": {"type": "string", "title": "Characteristic", "maxLength": 200},
            "measured": {"type": "string", "title": "Measured", "maxLength": 100},
            "limits": {"type": "string", "title": "Spec limits", "maxLength": 100},
            "nonconformance": {"type": "string", "title": "Non-conformance", "maxLength": 40},
        },
        "required": ["characteristic"],
    },
}
HOLD_RULE = "Out of spec: hold the material"
REASONS = [
    ("use_as_is", "Within function: deviation accepted"),
    ("rework", "Can be reworked to drawing"),
    ("scrap", "Cannot be used or reworked"),
    ("supplier", "Supplier's fault: back to the supplier"),
]


def ensure_quality_defaults(sender, **kwargs) -> None:
    from django.apps import apps

    ExceptionType = apps.get_model("exceptions", "ExceptionType")
    Workflow = apps.get_model("exceptions", "Workflow")
    RoutingRule = apps.get_model("exceptions", "RoutingRule")
    DispositionReason = apps.get_model("quality", "DispositionReason")
    if not DispositionReason.objects.exists():
        for code, name in REASONS:
            DispositionReason.objects.create(code=code, name=name)
    workflow = Workflow.objects.filter(code="default").first()
    if workflow is None or ExceptionType.objects.filter(code=OUT_OF_SPEC["code"]).exists():
        return
    fields = {k: v for k, v in OUT_OF_SPEC.items() if k != "code"}
    fields["form_schema"] = canonical_schema(OUT_OF_SPEC["form_schema"])
    out_of_spec = ExceptionType.objects.create(
        code=OUT_OF_SPEC["code"], workflow=workflow, **fields
    )
    rule = RoutingRule.objects.create(
        name=HOLD_RULE, order=45, trigger="raised", actions=[{"action": "place_quality_hold"}]
    )
    rule.types.set([out_of_spec])
