"""The exception tickets' outbox event types (see :mod:`mes.events`)."""

from django.utils.translation import gettext_lazy as _

from mes.events import ERP, NOTIFICATIONS, RULES, catalogue, event

TICKET = catalogue.name_fields(
    "ticket",
    (
        "exception_id",
        "number",
        "site",
        "type",
        "category",
        "severity",
        "status",
        "phase",
        "work_order",
        "queue",
        "assignee",
    ),
)
RULE = (*TICKET, "rule")
_S = "exceptions.services.tickets"
_R = "exceptions.rules"

event(
    "exception.raised",
    _("Exception raised"),
    (*TICKET, "data"),
    f"{_S}.raise_exception",
    RULES,
)
event(
    "exception.status_changed",
    _("Exception moved along its workflow"),
    (*TICKET, "previous_status"),
    f"{_S}._apply_transition",
)
event(
    "exception.resolved",
    _("Exception resolved with its decision (exceptions a rule marked for the ERP)"),
    (*TICKET, "previous_status", "decision", "reasoning", "external_refs", "post_to_erp"),
    f"{_S}._apply_transition",
    ERP,
    NOTIFICATIONS,
    RULES,
    erp_only_if="post_to_erp",
    description="Emitted with exception.status_changed when a ticket enters a resolved state.",
)
event(
    "exception.decision",
    _("Decision recorded"),
    (*TICKET, "decision", "reasoning"),
    f"{_S}.record_decision",
)
event(
    "exception.machine_running",
    _("The machine of a downtime ticket runs again"),
    (*TICKET, "downtime"),
    "exceptions.machines.downtime_ticket",
)
event(
    "exception.commented",
    _("Comment added"),
    (*TICKET, "comment"),
    "exceptions.services.notes.comment_exception",
)
event(
    "exception.updated",
    _("Exception changed by a user"),
    (*TICKET, "changed"),
    f"{_S}.update_exception",
    NOTIFICATIONS,
    RULES,
)
event(
    "exception.attachment_added",
    _("Attachment added"),
    (*TICKET, "attachment_id"),
    "exceptions.services.notes.add_attachment",
)
event(
    "exception.routed",
    _("Exception routed by a rule (queue, assignee, severity)"),
    (*RULE, "changed"),
    "exceptions.services.routing.route_exception",
    NOTIFICATIONS,
)
event(
    "exception.notified",
    _("A rule notified roles at the site"),
    (*RULE, "roles"),
    f"{_R}.notify_roles",
    NOTIFICATIONS,
)
event(
    "exception.work_order_held",
    _("A rule held the exception's work order"),
    RULE,
    f"{_R}.hold_work_order",
)
event(
    "exception.work_order_resumed",
    _("A rule resumed the work order the exception held"),
    (*RULE, "resumed"),
    f"{_R}.resume_work_order",
)
event(
    "exception.marked_for_erp",
    _("A rule marked the exception's resolution for the ERP"),
    RULE,
    f"{_R}.mark_for_erp",
)
event(
    "exception.rule_failed",
    _("A rule's action could not act"),
    (*RULE, "action", "error"),
    f"{_R}._apply",
)
event(
    "exception.escalated",
    _("Escalation level fired"),
    (*TICKET, "level", "clock", "roles", "users"),
    "exceptions.services.escalation.record_escalations",
    NOTIFICATIONS,
)

CONFIG = catalogue.field_sets["configuration"]
_C = "exceptions.services.config"
event("exception_type.changed", _("Exception type saved"), CONFIG, f"{_C}.save_exception_type")
event("workflow.changed", _("Workflow saved"), CONFIG, f"{_C}.save_workflow")
event("routing_rule.changed", _("Routing rule saved"), CONFIG, f"{_C}.save_routing_rule")
event("sla_policy.changed", _("SLA policy saved"), CONFIG, f"{_C}.save_sla_policy")
event(
    "escalation_policy.changed",
    _("Escalation policy saved"),
    CONFIG,
    f"{_C}.save_escalation_policy",
)
