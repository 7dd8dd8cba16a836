"""Exception tickets and their low-code configuration: types with forms, workflows, routing rules.

Everything a plant configures (types, workflows, rules) is a model edited in the admin with
history. Tickets change only through ``exceptions.services``.
"""

from .config import ExceptionType, RoutingRule, Workflow, WorkflowState, WorkflowTransition
from .sla import (
    EscalationFiring,
    EscalationLevel,
    EscalationPolicy,
    SlaPolicy,
)
from .tickets import (
    Attachment,
    Decision,
    ExceptionEvent,
    ExceptionQuerySet,
    ExceptionTicket,
    SiteCounter,
    attachment_path,
)

__all__ = [
    "Attachment",
    "Decision",
    "EscalationFiring",
    "EscalationLevel",
    "EscalationPolicy",
    "ExceptionEvent",
    "ExceptionQuerySet",
    "ExceptionTicket",
    "ExceptionType",
    "RoutingRule",
    "SiteCounter",
    "SlaPolicy",
    "Workflow",
    "WorkflowState",
    "WorkflowTransition",
    "attachment_path",
]
