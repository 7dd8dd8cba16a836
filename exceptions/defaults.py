"""The seeded configuration: the default workflow, useful exception types and routing rules.

Run by a data migration with historical models; a plant edits all of it in the admin afterwards.
"""

from .schema import canonical_schema
from .workflow_diagram import describe_rows

RESPONDERS = [
    "supervisor",
    "planner",
    "procurement",
    "quality",
    "maintenance",
    "customer_service",
    "manager",
]
LEADS = ["supervisor", "planner", "manager"]

STATES = [
    # code, name, phase, requires_decision
    ("open", "Open", "open", False),
    ("acknowledged", "Acknowledged", "acknowledged", False),
    ("in_progress", "In progress", "active", False),
    ("resolved", "Resolved", "resolved", True),
    ("closed", "Closed", "closed", False),
    ("cancelled", "Cancelled", "cancelled", False),
    ("reopened", "Reopened", "active", False),
]
TRANSITIONS = [
    # from (None = any open state), to, label, roles, reason required
    ("open", "acknowledged", "Acknowledge", RESPONDERS, False),
    ("open", "in_progress", "Start work", RESPONDERS, False),
    ("acknowledged", "in_progress", "Start work", RESPONDERS, False),
    ("reopened", "in_progress", "Start work", RESPONDERS, False),
    ("open", "resolved", "Resolve", RESPONDERS, False),
    ("acknowledged", "resolved", "Resolve", RESPONDERS, False),
    ("in_progress", "resolved", "Resolve", RESPONDERS, False),
    ("reopened", "resolved", "Resolve", RESPONDERS, False),
    ("resolved", "closed", "Close", LEADS, False),
    ("resolved", "reopened", "Reopen", [*RESPONDERS, "operator"], True),
    (None, "cancelled", "Cancel", LEADS, True),
]

TYPES = [
    {
        "code": "material_shortage",
        "name": "Material shortage",
        "category": "shortage",
        "default_severity": "high",
        "icon": "📦",
        "colour": "#b45309",
        "sort_order": 10,
        "form_schema": {
            "type": "object",
            "properties": {
                "material": {
                    "type": "string",
                    "title": "Material (item code)",
                    "minLength": 1,
                    "maxLength": 60,
                },
                "qty_missing": {"type": "number", "title": "Missing quantity", "minimum": 0},
                "needed_by": {"type": "string", "format": "date", "title": "Needed by"},
                "line_stopped": {"type": "boolean", "title": "Line stopped?"},
            },
            "required": ["material"],
        },
    },
    {
        "code": "machine_breakdown",
        "name": "Machine breakdown",
        "category": "downtime",
        "default_severity": "high",
        "icon": "🛠️",
        "colour": "#b91c1c",
        "sort_order": 20,
        "form_schema": {
            "type": "object",
            "properties": {
                "symptom": {
                    "type": "string",
                    "title": "Symptom",
                    "enum": ["does not start", "alarm", "noise or vibration", "leak", "other"],
                },
                "alarm_code": {"type": "string", "title": "Alarm code", "maxLength": 40},
                "line_stopped": {"type": "boolean", "title": "Line stopped?"},
            },
            "required": ["symptom"],
        },
    },
    {
        "code": "machine_downtime",
        "name": "Machine down",
        "category": "downtime",
        "default_severity": "high",
        "icon": "⏱️",
        "colour": "#991b1b",
        "sort_order": 25,
        # Raised by the machine itself (mes.services.machines): the operator says why on the
        # downtime, from the reason tree; the ticket routes and escalates like any other.
        "form_schema": {
            "type": "object",
            "properties": {
                "downtime": {"type": "string", "title": "Downtime", "maxLength": 20},
                "state": {
                    "type": "string",
                    "title": "State",
                    "enum": ["stopped", "fault"],
                },
                "since": {"type": "string", "title": "Down since", "maxLength": 40},
            },
            "required": [],
        },
    },
    {
        "code": "quality_problem",
        "name": "Quality problem",
        "category": "quality",
        "default_severity": "high",
        "icon": "🔍",
        "colour": "#7c3aed",
        "sort_order": 30,
        "form_schema": {
            "type": "object",
            "properties": {
                "defect": {
                    "type": "string",
                    "title": "Defect",
                    "enum": ["dimension", "surface", "material", "assembly", "other"],
                },
                "qty_affected": {"type": "integer", "title": "Pieces affected", "minimum": 0},
                "measured": {"type": "string", "title": "Measured value", "maxLength": 100},
            },
            "required": ["defect"],
        },
    },
    {
        "code": "order_change",
        "name": "Order change",
        "category": "order_change",
        "default_severity": "medium",
        "icon": "📝",
        "colour": "#1d4ed8",
        "sort_order": 40,
        "form_schema": {
            "type": "object",
            "properties": {
                "change": {
                    "type": "string",
                    "title": "What changes",
                    "enum": ["quantity", "due date", "routing", "cancellation"],
                },
                "new_quantity": {"type": "number", "title": "New quantity", "minimum": 0},
                "new_due_date": {"type": "string", "format": "date", "title": "New due date"},
            },
            "required": ["change"],
        },
    },
    {
        "code": "priority_shift",
        "name": "Priority shift",
        "category": "priority_shift",
        "default_severity": "medium",
        "icon": "⏫",
        "colour": "#0369a1",
        "sort_order": 50,
        "form_schema": {
            "type": "object",
            "properties": {
                "requested_by": {"type": "string", "title": "Requested by", "maxLength": 100},
                "new_priority": {
                    "type": "integer",
                    "title": "New priority (1 = most urgent)",
                    "minimum": 1,
                    "maximum": 99,
                },
            },
            "required": ["new_priority"],
        },
    },
    {
        "code": "missing_tooling",
        "name": "Missing tooling",
        "category": "other",
        "default_severity": "medium",
        "icon": "🔧",
        "colour": "#4d7c0f",
        "sort_order": 60,
        "form_schema": {
            "type": "object",
            "properties": {
                "tool": {
                    "type": "string",
                    "title": "Tool or fixture",
                    "minLength": 1,
                    "maxLength": 100,
                },
                "needed_by": {"type": "string", "format": "date", "title": "Needed by"},
            },
            "required": ["tool"],
        },
    },
    {
        "code": "safety",
        "name": "Safety",
        "category": "safety",
        "default_severity": "critical",
        "icon": "⚠️",
        "colour": "#dc2626",
        "sort_order": 5,
        "form_schema": {
            "type": "object",
            "properties": {
                "hazard": {
                    "type": "string",
                    "title": "Hazard",
                    "enum": ["injury", "near miss", "spill", "fire", "other"],
                },
                "injured": {"type": "boolean", "title": "Anyone injured?"},
            },
            "required": ["hazard"],
        },
    },
]

RULES = [
    # order, name, trigger, filters, actions
    (
        10,
        "Safety is critical and goes to the supervisor",
        "raised",
        {"categories": ["safety"]},
        [
            {"action": "set_severity", "severity": "critical"},
            {"action": "assign_role", "role": "supervisor"},
            {"action": "notify_roles", "roles": ["supervisor", "manager"]},
        ],
    ),
    (
        20,
        "Shortages go to procurement",
        "raised",
        {"categories": ["shortage"]},
        [
            {"action": "assign_role", "role": "procurement"},
            {"action": "notify_roles", "roles": ["procurement", "planner"]},
        ],
    ),
    (
        30,
        "A shortage holds its work order",
        "raised",
        {"categories": ["shortage"]},
        [{"action": "hold_work_order"}],
    ),
    (
        40,
        "Breakdowns go to maintenance",
        "raised",
        {"categories": ["downtime"]},
        [
            {"action": "assign_role", "role": "maintenance"},
            {"action": "notify_roles", "roles": ["maintenance", "supervisor"]},
        ],
    ),
    (
        50,
        "Quality problems go to quality",
        "raised",
        {"categories": ["quality"]},
        [
            {"action": "assign_role", "role": "quality"},
            {"action": "notify_roles", "roles": ["quality"]},
        ],
    ),
    (
        60,
        "Order changes and priority shifts go to planning",
        "raised",
        {"categories": ["order_change", "priority_shift"]},
        [
            {"action": "assign_role", "role": "planner"},
            {"action": "notify_roles", "roles": ["planner", "customer_service"]},
            {"action": "mark_for_erp"},
        ],
    ),
    (
        70,
        "Missing tooling goes to maintenance",
        "raised",
        {"types": ["missing_tooling"]},
        [{"action": "assign_role", "role": "maintenance"}],
    ),
    (
        80,
        "Unrouted exceptions go to the supervisor",
        "raised",
        {"categories": ["data_drift", "other"], "when_unrouted": True},
        [{"action": "assign_role", "role": "supervisor"}],
    ),
    (
        10,
        "Resume the work order when the exception that held it is resolved",
        "resolved",
        {},
        [{"action": "resume_work_order"}],
    ),
]

# severity -> (acknowledge within, resolve within), in working minutes
SLA = {"critical": (5, 60), "high": (15, 240), "medium": (60, 480), "low": (240, 2880)}
# level, clock, after minutes, roles to notify, raise severity to
LADDER = [
    (1, "acknowledge", 15, ["supervisor"], ""),
    (2, "acknowledge", 45, ["supervisor", "manager"], "high"),
    (3, "resolve", 240, ["manager"], ""),
]


def seed_sla(apps) -> None:
    SlaPolicy = apps.get_model("exceptions", "SlaPolicy")
    EscalationPolicy = apps.get_model("exceptions", "EscalationPolicy")
    EscalationLevel = apps.get_model("exceptions", "EscalationLevel")
    if not SlaPolicy.objects.exists():
        for severity, (ack, resolve) in SLA.items():
            SlaPolicy.objects.create(
                severity=severity, acknowledge_minutes=ack, resolve_minutes=resolve
            )
    if not EscalationPolicy.objects.exists():
        policy = EscalationPolicy.objects.create(name="Default ladder", order=100)
        for level, clock, after, roles, severity in LADDER:
            EscalationLevel.objects.create(
                policy=policy,
                level=level,
                clock=clock,
                after_minutes=after,
                notify_roles=roles,
                raise_severity_to=severity,
            )


def seed(apps, schema_editor=None) -> None:
    """Create the default workflow, types and rules unless they exist (idempotent)."""
    Group = apps.get_model("auth", "Group")
    Workflow = apps.get_model("exceptions", "Workflow")
    WorkflowState = apps.get_model("exceptions", "WorkflowState")
    WorkflowTransition = apps.get_model("exceptions", "WorkflowTransition")
    ExceptionType = apps.get_model("exceptions", "ExceptionType")
    RoutingRule = apps.get_model("exceptions", "RoutingRule")

    workflow, created = Workflow.objects.get_or_create(
        code="default", defaults={"name": "Default", "initial_state": "open"}
    )
    if created:
        states = {
            code: WorkflowState.objects.create(
                workflow=workflow, code=code, name=name, phase=phase, requires_decision=decision
            )
            for code, name, phase, decision in STATES
        }
        for src, dst, label, roles, reason in TRANSITIONS:
            transition = WorkflowTransition.objects.create(
                workflow=workflow,
                from_state=states[src] if src else None,
                to_state=states[dst],
                label=label,
                reason_required=reason,
            )
            for role in roles:
                group, _ = Group.objects.get_or_create(name=role)
                transition.roles.add(group)
        if "definition" in {f.name for f in Workflow._meta.get_fields()}:  # a later migration's
            workflow.definition = describe_rows(
                list(workflow.states.all()), workflow.transitions.prefetch_related("roles")
            )
            workflow.save(update_fields=["definition"])
    types = {}
    for spec in TYPES:
        fields = {k: v for k, v in spec.items() if k != "code"}
        fields["form_schema"] = canonical_schema(spec["form_schema"])
        types[spec["code"]], _ = ExceptionType.objects.get_or_create(
            code=spec["code"], defaults={**fields, "workflow": workflow}
        )
    if RoutingRule.objects.exists():
        return
    # The migrations that seed run before some of the rule's fields existed.
    known = {f.name for f in RoutingRule._meta.get_fields()}
    for order, name, trigger, filters, actions in RULES:
        flags = {k: v for k, v in filters.items() if k == "when_unrouted" and k in known}
        rule = RoutingRule.objects.create(
            name=name,
            order=order,
            trigger=trigger,
            categories=filters.get("categories", []),
            actions=actions,
            **flags,
        )
        rule.types.set([types[code] for code in filters.get("types", [])])


def ensure_defaults(sender, **kwargs) -> None:
    """post_migrate (also after a test flush): put the seeded configuration back if it is gone."""
    from django.apps import apps

    seed(apps)
    seed_sla(apps)
