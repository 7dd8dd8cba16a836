"""Serializers of the exceptions API: read shapes with codes and usernames instead of ids, and
write shapes that resolve codes within the ticket's site and the user's visibility."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mes.access import can_access_site
from mes.api.kept import ModelSerializer
from mes.api.lookups import resolve
from mes.models import Lot, Machine, Operation, Site, WorkCenter, WorkOrder
from mes.roles import ROLES
from mes.selectors import site_by_code

from ..choices import Severity
from ..models import Attachment, Decision, ExceptionEvent, ExceptionTicket, ExceptionType
from ..selectors import type_by_code
from ..services.base import TEXT_LIMITS
from ..services.tickets import can_take, not_assignable
from ..workflow import allowed_transitions

# The context a ticket names by code: field -> model.
CONTEXT_MODELS = {
    "work_center": WorkCenter,
    "machine": Machine,
    "work_order": WorkOrder,
    "lot": Lot,
}


def _username(user) -> str | None:
    return user.username if user is not None else None


# --- exception types --------------------------------------------------------------------


class ExceptionTypeSerializer(ModelSerializer):
    workflow = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ExceptionType
        fields = [
            "code",
            "name",
            "category",
            "description",
            "default_severity",
            "icon",
            "colour",
            "form_schema",
            "workflow",
            "sort_order",
            "is_active",
        ]


# --- tickets: read ----------------------------------------------------------------------


class TimelineEventSerializer(ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    rule = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)

    class Meta:
        model = ExceptionEvent
        fields = ["id", "kind", "actor", "rule", "message", "data", "created_at"]


class DecisionSerializer(ModelSerializer):
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Decision
        fields = ["id", "decision", "reasoning", "decided_by", "decided_at"]


class AttachmentSerializer(ModelSerializer):
    name = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    uploaded_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size", "uploaded_by", "uploaded_at", "url"]

    def get_name(self, obj) -> str:
        return obj.file.name.rsplit("/", 1)[-1]

    def get_url(self, obj) -> str:
        """Download through the scoped API, never through public media."""
        path = reverse(
            "exception-attachment",
            kwargs={"number": obj.exception_id, "attachment_id": obj.pk},
        )
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class AllowedTransitionSerializer(serializers.Serializer):
    to = serializers.CharField(source="to_state.code")
    name = serializers.CharField(source="to_state.name")
    label = serializers.SerializerMethodField()
    reason_required = serializers.BooleanField()
    requires_decision = serializers.BooleanField(source="to_state.requires_decision")

    def get_label(self, obj) -> str:
        return obj.label or obj.to_state.name


class ExceptionListSerializer(ModelSerializer):
    """The list shape: the ticket without its timeline (one query per page, whatever its size)."""

    site = serializers.CharField(source="site.code", read_only=True)
    type = serializers.CharField(source="type.code", read_only=True)
    type_name = serializers.CharField(source="type.name", read_only=True)
    category = serializers.CharField(source="type.category", read_only=True)
    work_center = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    machine = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    work_order = serializers.SlugRelatedField(
        slug_field="erp_number", read_only=True, allow_null=True
    )
    operation = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    lot = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    queue = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    raised_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    sla_paused = serializers.SerializerMethodField()

    class Meta:
        model = ExceptionTicket
        fields = [
            "id",
            "number",
            "site",
            "type",
            "type_name",
            "category",
            "status",
            "phase",
            "severity",
            "work_center",
            "machine",
            "work_order",
            "operation",
            "lot",
            "queue",
            "assignee",
            "raised_by",
            "raised_via",
            "description",
            "data",
            "external_refs",
            "holds_work_order",
            "post_to_erp",
            "version",
            "raised_at",
            "acknowledged_at",
            "resolved_at",
            "closed_at",
            "updated_at",
            "ack_due_at",
            "resolve_due_at",
            "sla_paused",
            "next_escalation_at",
        ]
        read_only_fields = fields

    def get_sla_paused(self, obj) -> bool:
        return obj.sla_paused_since is not None


class ExceptionSerializer(ExceptionListSerializer):
    """The detail shape: the ticket, its timeline in order, decisions, attachments, and the
    workflow moves the requesting user may make now."""

    timeline = TimelineEventSerializer(source="events", many=True, read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    allowed_transitions = serializers.SerializerMethodField()

    class Meta(ExceptionListSerializer.Meta):
        fields = [
            *ExceptionListSerializer.Meta.fields,
            "timeline",
            "decisions",
            "attachments",
            "allowed_transitions",
        ]
        read_only_fields = fields

    @extend_schema_field(AllowedTransitionSerializer(many=True))
    def get_allowed_transitions(self, obj):
        request = self.context.get("request")
        user = request.user if request is not None else None
        if user is None or not user.is_authenticated:
            return []
        return AllowedTransitionSerializer(allowed_transitions(obj, user), many=True).data


# --- tickets: write ---------------------------------------------------------------------


def _context_field(**extra):
    return serializers.CharField(required=False, allow_null=True, allow_blank=True, **extra)


class ExceptionCreateSerializer(serializers.Serializer):
    """Raise an exception (``raise_exception``); codes resolve within ``site``."""

    type = serializers.CharField(help_text="Exception type code, e.g. material_shortage.")
    site = serializers.CharField(help_text="Site code.")
    work_center = _context_field(help_text="Work center code.")
    machine = _context_field(help_text="Machine code.")
    work_order = _context_field(help_text="Work order ERP number.")
    operation = serializers.IntegerField(required=False, allow_null=True, help_text="Operation id.")
    lot = _context_field(help_text="Lot number.")
    severity = serializers.ChoiceField(
        choices=Severity.choices,
        required=False,
        allow_null=True,
        help_text="Defaults to the type's severity.",
    )
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=TEXT_LIMITS["description"]
    )
    data = serializers.DictField(
        required=False, default=dict, help_text="The type's form fields (see its form_schema)."
    )
    external_refs = serializers.DictField(required=False, default=dict)

    def validate(self, attrs):
        user = self.context["request"].user
        exception_type = type_by_code(attrs["type"]) if user.is_active else None
        if exception_type is None:
            raise serializers.ValidationError(
                {"type": [_("Unknown type: %(v)s.") % {"v": attrs["type"]}]}, code="unknown_type"
            )
        del attrs["type"]
        attrs["exception_type"] = exception_type
        site = site_by_code(attrs["site"])
        if site is None or not can_access_site(user, site):
            site = resolve(Site.objects.visible_to(user), attrs["site"], field="site")
        attrs["site"] = site
        for field, model in CONTEXT_MODELS.items():
            value = attrs.get(field)
            attrs[field] = (
                resolve(model.objects.visible_to(user), value, field=field, site=site.code)
                if value not in (None, "")
                else None
            )
        if attrs.get("operation") is not None:
            operation = (
                Operation.objects.visible_to(user)
                .filter(pk=attrs["operation"], work_order__site=site)
                .select_related("work_order", "work_center")
                .first()
            )
            if operation is None:
                raise serializers.ValidationError(
                    {"operation": [_("Unknown operation: %(v)s.") % {"v": attrs["operation"]}]},
                    code="unknown_operation",
                )
            attrs["operation"] = operation
        return attrs


class ExceptionUpdateSerializer(serializers.Serializer):
    """Change an open ticket (``update_exception``). Send only what changes; null clears a
    context field, the assignee or the queue. Status moves go through ``transition/``."""

    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=TEXT_LIMITS["description"]
    )
    data = serializers.DictField(required=False)
    assignee = serializers.CharField(required=False, allow_null=True, help_text="Username.")
    queue = serializers.CharField(required=False, allow_null=True, help_text="Role name.")
    work_center = _context_field()
    machine = _context_field()
    work_order = _context_field()
    lot = _context_field()
    external_refs = serializers.DictField(required=False)
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Kept in the history."
    )

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {name: [_("This field cannot be changed here.")] for name in unknown},
                code="read_only_field",
            )
        ticket: ExceptionTicket = self.context["ticket"]
        user = self.context["request"].user
        site = ticket.site
        for field, model in CONTEXT_MODELS.items():
            if field in attrs:
                value = attrs[field]
                attrs[field] = (
                    resolve(model.objects.visible_to(user), value, field=field, site=site.code)
                    if value not in (None, "")
                    else None
                )
        if attrs.get("assignee") is not None:
            found = get_user_model().objects.filter(username=attrs["assignee"]).first()
            if found is None or not can_take(found, ticket):
                # The same answer whether the account exists or not: no enumeration.
                raise serializers.ValidationError(
                    {"assignee": [not_assignable(attrs["assignee"], ticket)]},
                    code="invalid_assignee",
                )
            attrs["assignee"] = found
        if attrs.get("queue") is not None:
            group = Group.objects.filter(name=attrs["queue"]).first()
            if group is None or group.name not in ROLES:
                raise serializers.ValidationError(
                    {"queue": [_("Unknown role: %(v)s.") % {"v": attrs["queue"]}]},
                    code="unknown_queue",
                )
            attrs["queue"] = group
        return attrs


class TransitionSerializer(serializers.Serializer):
    to = serializers.CharField(help_text="Code of the target workflow state.")
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class CommentSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000)


class DecisionInputSerializer(serializers.Serializer):
    decision = serializers.CharField(
        help_text="What was decided.", max_length=TEXT_LIMITS["decision"]
    )
    reasoning = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=TEXT_LIMITS["reasoning"]
    )
    resolve = serializers.BooleanField(
        required=False, default=True, help_text="Also move the ticket to `to`."
    )
    to = serializers.CharField(required=False, default="resolved")


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
