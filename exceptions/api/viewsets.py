"""Viewsets of the exceptions API: scoped by ``visible_to``, every write through a service.

Tickets are addressed by id or by number (``/exceptions/42/`` or ``/exceptions/P1-000042/``).
Every detail answer carries ``ETag: "<version>"``; writes honour ``If-Match`` (a stale one is
412 and changes nothing). Create honours ``Idempotency-Key`` (see :mod:`mes.idempotency`).
"""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Prefetch, prefetch_related_objects
from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from mes.api.schema import ERRORS, ErrorSerializer
from mes.api.viewsets import ScopedViewSet, etag, set_prefetched
from mes.idempotency import idempotent_response

from .. import services
from ..choices import Category, RaisedVia
from ..models import (
    Attachment,
    Decision,
    ExceptionEvent,
    ExceptionTicket,
    ExceptionType,
)
from . import serializers as s
from .filters import ExceptionFilter

CHANGE = ["exceptions.change_exceptionticket"]

NUMBER_PARAM = OpenApiParameter(
    "number",
    str,
    OpenApiParameter.PATH,
    description="Exception id or number (P1-000123).",
)
IF_MATCH_PARAM = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description='The ETag of the version the change is based on (`"3"`); '
    "a stale one is refused with 412 `precondition_failed`.",
)
IDEMPOTENCY_PARAM = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="A retry with the same key and body gets the first answer and creates "
    "nothing; the same key with another body is 422 `idempotency_key_reused`.",
)
ETAG_HEADER = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description='The ticket\'s version, quoted (`"3"`); send it back as If-Match.',
)


def _errors(*codes: int) -> dict:
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=ERRORS[str(code)])
        for code in codes
    }


# --- exception types --------------------------------------------------------------------


class ExceptionTypeFilter(django_filters.FilterSet):
    category = django_filters.ChoiceFilter(choices=Category.choices)
    active = django_filters.BooleanFilter(field_name="is_active")

    class Meta:
        model = ExceptionType
        fields = ["category", "active"]


class ExceptionTypeViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Exception types with their form schemas, in floor order."""

    queryset = ExceptionType.objects.select_related("workflow")
    serializer_class = s.ExceptionTypeSerializer
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filterset_class = ExceptionTypeFilter

    def get_object(self):
        obj = self.get_queryset().filter(code=self.kwargs["code"]).first()
        if obj is None:
            raise NotFound(_("Not found."))
        return obj


# --- tickets ----------------------------------------------------------------------------


# What a ticket's answer shows of its related records, read with it.
RELATED = (
    "site",
    "type",
    "work_center",
    "machine",
    "work_order",
    "lot",
    "queue",
    "assignee",
    "raised_by",
)


class ExceptionViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Exception tickets of the user's sites, newest first."""

    queryset = ExceptionTicket.objects.select_related(*RELATED).order_by("-raised_at", "-pk")
    serializer_class = s.ExceptionSerializer
    lookup_field = "number"
    lookup_value_regex = "[^/]+"
    filterset_class = ExceptionFilter
    action_permissions = {
        "transition": CHANGE,
        "comments": CHANGE,
        "decision": CHANGE,
        "attachments": CHANGE,
    }

    def get_serializer_class(self):
        return {
            "list": s.ExceptionListSerializer,
            "create": s.ExceptionCreateSerializer,
            "partial_update": s.ExceptionUpdateSerializer,
            "transition": s.TransitionSerializer,
            "comments": s.CommentSerializer,
            "decision": s.DecisionInputSerializer,
            "attachments": s.AttachmentUploadSerializer,
        }.get(self.action, s.ExceptionSerializer)

    def get_object(self):
        value = str(self.kwargs[self.lookup_field]).strip()
        queryset = self.get_queryset()
        obj = queryset.filter(number=value).first()
        if obj is None and value.isascii() and value.isdigit():
            obj = queryset.filter(pk=int(value)).first()
        if obj is None:
            raise NotFound(_("Not found."))
        self.check_object_permissions(self.request, obj)
        return obj

    def _detail_data(self, ticket: ExceptionTicket, *, loaded=None, added=(), known=None) -> dict:
        """The detail shape from the objects in hand: ``ticket`` as the service left it (or
        as read), the related records ``loaded`` with it before the change, and of its
        timeline, decisions and attachments only what is not ``known`` ({name: rows}) or
        known to be empty. ``added``: which of decisions and attachments this request
        added."""
        for name, rows in (known or {}).items():
            set_prefetched(ticket, name, rows)
        if loaded is not None and loaded is not ticket:
            for name in RELATED:
                field = ExceptionTicket._meta.get_field(name)
                if (
                    not field.is_cached(ticket)
                    and field.is_cached(loaded)
                    and getattr(ticket, field.attname) == getattr(loaded, field.attname)
                ):
                    field.set_cached_value(ticket, field.get_cached_value(loaded))
        cache = ticket.__dict__.setdefault("_prefetched_objects_cache", {})
        lookups = []
        if "events" not in cache:
            lookups.append(
                Prefetch("events", queryset=ExceptionEvent.objects.select_related("actor", "rule"))
            )
        for name, model, by in (
            ("decisions", Decision, "decided_by"),
            ("attachments", Attachment, "uploaded_by"),
        ):
            if name in cache and name not in added:
                continue
            cache.pop(name, None)
            if name in added or getattr(ticket, f"has_{name}", True):
                lookups.append(Prefetch(name, queryset=model.objects.select_related(by)))
            else:
                set_prefetched(ticket, name, [])
        prefetch_related_objects([ticket], *lookups)
        return s.ExceptionSerializer(ticket, context=self.get_serializer_context()).data

    def read(self, obj, status_code=status.HTTP_200_OK, **known) -> Response:
        """The ticket as committed, with its timeline, decisions and attachments."""
        return Response(self._detail_data(obj, **known), status=status_code)

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.annotate(
                has_decisions=Exists(Decision.objects.filter(exception=OuterRef("pk"))),
                has_attachments=Exists(Attachment.objects.filter(exception=OuterRef("pk"))),
            )
        return queryset

    # --- read ---

    @extend_schema(parameters=[NUMBER_PARAM, ETAG_HEADER], responses=s.ExceptionSerializer)
    def retrieve(self, request, number=None):
        """One ticket with its timeline, decisions, attachments and the moves you may make."""
        return self.read(self.get_object())

    # --- create ---

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAM, ETAG_HEADER],
        request=s.ExceptionCreateSerializer,
        responses={201: s.ExceptionSerializer, **_errors(400, 403, 422)},
    )
    def create(self, request):
        """Raise an exception. Routing rules apply after commit: re-read the ticket to see
        their effects (queue, held work order) on its timeline."""

        def produce():
            body = s.ExceptionCreateSerializer(
                data=request.data, context=self.get_serializer_context()
            )
            body.is_valid(raise_exception=True)
            ticket = services.raise_exception(
                actor=request.user, raised_via=RaisedVia.API, **body.validated_data
            )
            return status.HTTP_201_CREATED, self._detail_data(
                ticket, known={"events": [ticket.raised_event], "decisions": [], "attachments": []}
            )

        response = idempotent_response(request, produce)
        response["ETag"] = etag(response.data[self.version_field])
        response["Location"] = reverse(
            "exception-detail", kwargs={"number": response.data["number"]}
        )
        return response

    # --- writes on one ticket ---

    @extend_schema(
        parameters=[NUMBER_PARAM, IF_MATCH_PARAM, ETAG_HEADER],
        request=s.ExceptionUpdateSerializer,
        responses={200: s.ExceptionSerializer, **_errors(400, 403, 404, 409, 412)},
    )
    def partial_update(self, request, number=None):
        """Change severity, description, form data, assignee, queue, context or ERP refs."""
        ticket = self.get_object()
        expected = self.expected_version()
        body = s.ExceptionUpdateSerializer(
            data=request.data, context={**self.get_serializer_context(), "ticket": ticket}
        )
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        reason = changes.pop("reason", "")
        fresh = services.update_exception(
            ticket, actor=request.user, expected_version=expected, reason=reason, **changes
        )
        return self.read(fresh, loaded=ticket)

    @extend_schema(
        parameters=[NUMBER_PARAM, IF_MATCH_PARAM, ETAG_HEADER],
        request=s.TransitionSerializer,
        responses={200: s.ExceptionSerializer, **_errors(400, 403, 404, 409, 412)},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, number=None):
        """Move the ticket along its workflow: 409 `transition_not_allowed`, 403
        `role_not_allowed`, 400 `reason_required`, 409 `decision_required`."""
        ticket = self.get_object()
        expected = self.expected_version()
        body = s.TransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fresh = services.transition_exception(
            ticket,
            actor=request.user,
            to=body.validated_data["to"],
            reason=body.validated_data["reason"],
            expected_version=expected,
        )
        return self.read(fresh, loaded=ticket)

    @extend_schema(
        parameters=[NUMBER_PARAM, IF_MATCH_PARAM, ETAG_HEADER],
        request=s.CommentSerializer,
        responses={201: s.ExceptionSerializer, **_errors(400, 403, 404, 412)},
    )
    @action(detail=True, methods=["post"])
    def comments(self, request, number=None):
        """Add a comment to the timeline."""
        ticket = self.get_object()
        expected = self.expected_version()
        body = s.CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        event = services.comment_exception(
            ticket, actor=request.user, text=body.validated_data["text"], expected_version=expected
        )
        return self.read(event.exception, status.HTTP_201_CREATED, loaded=ticket)

    @extend_schema(
        parameters=[NUMBER_PARAM, IF_MATCH_PARAM, ETAG_HEADER],
        request=s.DecisionInputSerializer,
        responses={201: s.ExceptionSerializer, **_errors(400, 403, 404, 409, 412)},
    )
    @action(detail=True, methods=["post"])
    def decision(self, request, number=None):
        """Record what was decided and why; by default also resolve the ticket (`to`)."""
        ticket = self.get_object()
        expected = self.expected_version()
        body = s.DecisionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        record = services.record_decision(
            ticket,
            actor=request.user,
            decision=data["decision"],
            reasoning=data["reasoning"],
            resolve_to=data["to"] if data["resolve"] else None,
            expected_version=expected,
        )
        return self.read(
            record.exception, status.HTTP_201_CREATED, loaded=ticket, added=("decisions",)
        )

    @extend_schema(
        parameters=[NUMBER_PARAM, IF_MATCH_PARAM, ETAG_HEADER],
        request={"multipart/form-data": s.AttachmentUploadSerializer},
        responses={201: s.ExceptionSerializer, **_errors(400, 403, 404, 412)},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def attachments(self, request, number=None):
        """Attach a photo or document (`file`); types and size are limited by the plant."""
        ticket = self.get_object()
        expected = self.expected_version()
        body = s.AttachmentUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        attachment = services.add_attachment(
            ticket,
            actor=request.user,
            upload=body.validated_data["file"],
            expected_version=expected,
        )
        return self.read(
            attachment.exception, status.HTTP_201_CREATED, loaded=ticket, added=("attachments",)
        )

    @extend_schema(
        parameters=[
            NUMBER_PARAM,
            OpenApiParameter("attachment_id", int, OpenApiParameter.PATH),
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **_errors(404)},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[0-9]+)",
        url_name="attachment",
    )
    def attachment(self, request, number=None, attachment_id=None):
        """Download an attachment (only for those who may see the ticket)."""
        ticket = self.get_object()
        found = Attachment.objects.filter(exception=ticket, pk=attachment_id).first()
        if found is None:
            raise NotFound(_("Not found."))
        response = FileResponse(
            found.file.open("rb"),
            as_attachment=True,
            filename=found.file.name.rsplit("/", 1)[-1],
            content_type=found.content_type,
        )
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
