"""Low-code configuration: workflows, exception types and their forms, routing rules."""

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mes.models import (
    GLOBAL,
    ChainedEntry,
    GlobalQuerySet,
    HistoryAuditFields,
    Site,
    SiteScopedQuerySet,
    WorkCenter,
)
from mes.models.access import sees_every_site, visible_site_ids

from ..choices import Category, RuleTrigger, Severity
from ..schema import canonical_schema, schema_problems


class Workflow(models.Model):
    """A state machine for tickets: states and the transitions between them."""

    scope = GLOBAL

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    initial_state = models.SlugField(_("initial state"), max_length=40, default="open")
    definition = models.TextField(
        _("states and moves"),
        blank=True,
        default="",
        # Editable for the history's diff (it compares editable fields only); no form has it.
        help_text=_(
            "Kept by every save: its states and moves as text, so the workflow's history "
            "shows who was allowed which move, and when that changed."
        ),
    )

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["code"]
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.pk and not self.states.filter(code=self.initial_state).exists():
            raise ValidationError({"initial_state": _("The workflow has no such state.")})


class WorkflowState(models.Model):
    """A state of a workflow. ``phase`` says what it means for timestamps, rules and SLAs."""

    scope = GLOBAL

    class Phase(models.TextChoices):
        OPEN = "open", _("Open, nobody acknowledged yet")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ACTIVE = "active", _("Being worked on")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="states")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    phase = models.CharField(_("phase"), max_length=20, choices=Phase.choices, default=Phase.ACTIVE)
    pauses_sla = models.BooleanField(
        _("pauses the SLA clock"),
        default=False,
        help_text=_("While a ticket is in this state (e.g. waiting on a supplier) no time counts."),
    )
    requires_decision = models.BooleanField(
        _("requires a decision"),
        default=False,
        help_text=_("A ticket enters this state only after a decision is recorded."),
    )

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["workflow", "pk"]
        verbose_name = _("workflow state")
        verbose_name_plural = _("workflow states")
        constraints = [
            models.UniqueConstraint(fields=["workflow", "code"], name="workflow_state_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_terminal(self) -> bool:
        return self.phase in (self.Phase.CLOSED, self.Phase.CANCELLED)


class WorkflowTransition(models.Model):
    """An allowed move. No from-state means "from any state that is not closed or cancelled";
    no roles means any role that may change exceptions."""

    scope = GLOBAL

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.ForeignKey(
        WorkflowState,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from"),
    )
    to_state = models.ForeignKey(
        WorkflowState, on_delete=models.CASCADE, related_name="+", verbose_name=_("to")
    )
    label = models.CharField(_("button label"), max_length=60, blank=True)
    roles = models.ManyToManyField(Group, blank=True, related_name="+", verbose_name=_("roles"))
    reason_required = models.BooleanField(_("reason required"), default=False)

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(
        bases=[HistoryAuditFields], m2m_fields=[roles], m2m_bases=[ChainedEntry]
    )

    class Meta:
        ordering = ["workflow", "pk"]
        verbose_name = _("workflow transition")
        verbose_name_plural = _("workflow transitions")

    def __str__(self) -> str:
        src = self.from_state.code if self.from_state_id else "*"
        return f"{src} -> {self.to_state.code}"

    def clean(self) -> None:
        for field in ("from_state", "to_state"):
            # An empty or invalid choice leaves no id: the form reports it, not this check.
            state = getattr(self, field) if getattr(self, f"{field}_id") else None
            if state is not None and self.workflow_id and state.workflow_id != self.workflow_id:
                raise ValidationError({field: _("The state belongs to another workflow.")})


class ExceptionType(models.Model):
    """What can go wrong, with the form the floor fills in (a JSON Schema subset)."""

    scope = GLOBAL

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    description = models.TextField(_("description"), blank=True)
    form_schema = models.JSONField(
        _("form schema"),
        default=dict,
        blank=True,
        help_text=_(
            'JSON Schema subset: {"type": "object", "properties": {"field": {"type": '
            '"string|number|integer|boolean|date", "title": "Label", "enum": [...], '
            '"minimum": 0, "maximum": 10, "minLength": 1, "maxLength": 200}}, '
            '"required": ["field"]}'
        ),
    )
    default_severity = models.CharField(
        _("default severity"), max_length=10, choices=Severity.choices, default=Severity.MEDIUM
    )
    workflow = models.ForeignKey(
        Workflow, on_delete=models.PROTECT, related_name="types", verbose_name=_("workflow")
    )
    icon = models.CharField(_("icon"), max_length=8, blank=True, help_text=_("An emoji."))
    colour = models.CharField(_("colour"), max_length=7, default="#b45309")
    sort_order = models.PositiveSmallIntegerField(_("order on the floor"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = _("exception type")
        verbose_name_plural = _("exception types")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problems = schema_problems(self.form_schema)
        if problems:
            raise ValidationError({"form_schema": problems})
        self.form_schema = canonical_schema(self.form_schema)


class RoutingRuleQuerySet(SiteScopedQuerySet):
    def visible_to(self, user):
        """A rule naming no site serves every site: every signed-in user reads it. One that
        names sites is read by who sees one of them."""
        visible = visible_site_ids(user)
        if not visible:
            return self.none()
        sited = RoutingRule.sites.through.objects.values("routingrule_id")
        return self.filter(
            models.Q(pk__in=sited.filter(site__in=visible)) | ~models.Q(pk__in=sited)
        )

    def manageable_by(self, user):
        """Rules the user may change: every rule for who sees every site; otherwise rules
        naming at least one site, all of them the user's (one plant's manager never changes
        how another plant's tickets are handled)."""
        if sees_every_site(user):
            return self.all()
        others = Site.objects.exclude(pk__in=visible_site_ids(user))
        sited = RoutingRule.sites.through.objects.values("routingrule_id")
        return (
            self.visible_to(user).filter(pk__in=sited).exclude(pk__in=sited.filter(site__in=others))
        )


class RoutingRule(models.Model):
    """Ordered conditions -> actions, evaluated when a ticket is raised, changed or resolved.

    Empty conditions match everything. ``field_conditions`` compare form fields:
    ``[{"field": "qty_missing", "op": "greater", "value": 100}]``. ``actions`` come from the
    action registry: ``[{"action": "assign_role", "role": "procurement"}]``.

    Scoped by its sites: no site means every site (changed only by who sees every site).
    """

    site_path = "sites"

    name = models.CharField(_("name"), max_length=200)
    order = models.PositiveIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    trigger = models.CharField(
        _("trigger"), max_length=10, choices=RuleTrigger.choices, default=RuleTrigger.RAISED
    )
    stop_processing = models.BooleanField(
        _("stop after this rule"),
        default=False,
        help_text=_("Later rules are skipped if it fires."),
    )
    when_unrouted = models.BooleanField(
        _("only if not yet routed"),
        default=False,
        help_text=_(
            "Skipped when an earlier rule already put the exception in a queue or assigned it "
            "(a catch-all that does not undo a more specific rule)."
        ),
    )
    types = models.ManyToManyField(ExceptionType, blank=True, verbose_name=_("types"))
    categories = models.JSONField(_("categories"), default=list, blank=True)
    sites = models.ManyToManyField(Site, blank=True, verbose_name=_("sites"))
    work_centers = models.ManyToManyField(WorkCenter, blank=True, verbose_name=_("work centers"))
    severities = models.JSONField(_("severities"), default=list, blank=True)
    field_conditions = models.JSONField(_("form field conditions"), default=list, blank=True)
    actions = models.JSONField(_("actions"), default=list)

    objects = RoutingRuleQuerySet.as_manager()
    history = HistoricalRecords(
        bases=[HistoryAuditFields],
        m2m_fields=[types, sites, work_centers],
        m2m_bases=[ChainedEntry],
    )

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    def clean(self) -> None:
        from ..rule_registry import rule_problems

        problems = rule_problems(self)
        if problems:
            raise ValidationError(problems)
