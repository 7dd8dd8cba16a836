"""Enumerations of the exception tickets."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    SHORTAGE = "shortage", _("Material shortage")
    DOWNTIME = "downtime", _("Downtime")
    QUALITY = "quality", _("Quality")
    ORDER_CHANGE = "order_change", _("Order change")
    PRIORITY_SHIFT = "priority_shift", _("Priority shift")
    DATA_DRIFT = "data_drift", _("Data drift")
    SAFETY = "safety", _("Safety")
    OTHER = "other", _("Other")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


class RaisedVia(models.TextChoices):
    FLOOR = "floor", _("Floor page")
    API = "api", _("API")
    MACHINE = "machine", _("Machine")
    IMPORT = "import", _("Import")
    ERP = "erp", _("ERP")
    RULE = "rule", _("Rule")


class EventKind(models.TextChoices):
    RAISED = "raised", _("Raised")
    ROUTED = "routed", _("Routed")
    ASSIGNED = "assigned", _("Assigned")
    NOTIFIED = "notified", _("Notified")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    COMMENTED = "commented", _("Commented")
    DECISION = "decision", _("Decision")
    STATUS_CHANGED = "status_changed", _("Status changed")
    SEVERITY_CHANGED = "severity_changed", _("Severity changed")
    UPDATED = "updated", _("Updated")
    ATTACHMENT = "attachment", _("Attachment added")
    WORK_ORDER_HELD = "work_order_held", _("Work order held")
    WORK_ORDER_RESUMED = "work_order_resumed", _("Work order resumed")
    QUALITY_HELD = "quality_held", _("Quality hold placed")
    ERP_MARKED = "erp_marked", _("Marked for ERP")
    ESCALATED = "escalated", _("Escalated")
    ERP_POSTED = "erp_posted", _("Posted to ERP")
    RULE_FAILED = "rule_failed", _("Rule could not act")
    MACHINE_RUNNING = "machine_running", _("Machine running again")


class RuleTrigger(models.TextChoices):
    RAISED = "raised", _("When raised")
    UPDATED = "updated", _("When changed")
    RESOLVED = "resolved", _("When resolved")


class FieldOperator(models.TextChoices):
    EQUALS = "equals", _("equals")
    NOT_EQUALS = "not_equals", _("does not equal")
    IN = "in", _("is one of")
    GREATER = "greater", _("is greater than")
    LESS = "less", _("is less than")
    CONTAINS = "contains", _("contains")
