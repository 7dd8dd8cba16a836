"""``/api/v1/notifications/``: the signed-in user's own notifications, and muted kinds.

Every signed-in user may read and mark their own notifications; nobody sees anyone else's.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mes import notifications
from mes.errors import InvalidInput
from mes.models import Notification

from .kept import ModelSerializer
from .viewsets import ScopedViewSet


class NotificationSerializer(ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    related_type = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "title",
            "body",
            "link",
            "site",
            "related_type",
            "related_id",
            "created_at",
            "read_at",
            "read",
        ]
        read_only_fields = fields

    def get_related_type(self, obj) -> str | None:
        return obj.related_type.model if obj.related_type_id else None

    def get_read(self, obj) -> bool:
        return obj.read_at is not None


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)
    all = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if not attrs.get("all") and not attrs.get("ids"):
            raise serializers.ValidationError(_('Give "ids" or "all": true.'))
        return attrs


class UnreadSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class NotificationViewSet(ScopedViewSet, mixins.ListModelMixin):
    """Own notifications. ``?after=<id>`` lists those newer than a seen id, oldest first (a
    reconnecting client resyncs with it); without it, newest first."""

    serializer_class = NotificationSerializer
    permission_classes = [IsAuthenticated]
    queryset = Notification.objects.select_related("site", "related_type")

    def get_queryset(self):
        qs = super().get_queryset()  # visible_to: the user's own
        params = self.request.query_params
        if params.get("unread", "").lower() in ("1", "true", "yes"):
            qs = qs.unread()
        after = params.get("after")
        if after not in (None, ""):
            try:
                after_id = int(after)
            except ValueError:
                raise InvalidInput(
                    _("after must be a notification id."),
                    code="invalid_filter",
                    fields={"after": [_("A whole number is required.")]},
                ) from None
            return qs.filter(pk__gt=after_id).order_by("pk")
        return qs.order_by("-pk")

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description="Only notifications with a greater id."),
            OpenApiParameter("unread", bool, description="Only unread notifications."),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=MarkReadSerializer, responses=UnreadSerializer)
    @action(detail=False, methods=["post"], serializer_class=MarkReadSerializer)
    def read(self, request):
        """Mark own notifications read (``ids``, or ``all``); answers the unread count."""
        body = MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        unread = notifications.mark_read(
            request.user,
            ids=body.validated_data.get("ids"),
            everything=body.validated_data["all"],
        )
        return Response({"unread": unread})


class KindSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    muted = serializers.BooleanField()


class PreferencesSerializer(serializers.Serializer):
    muted = serializers.ListField(child=serializers.CharField())
    kinds = KindSerializer(many=True, read_only=True)

    def validate_muted(self, value):
        unknown = sorted(set(value) - {k for k, _label in notifications.kinds.choices()})
        if unknown:
            raise serializers.ValidationError(
                _("Unknown kinds: %(k)s.") % {"k": ", ".join(unknown)}
            )
        return value


class NotificationPreferencesView(APIView):
    """The kinds of notification and which of them the user muted; PUT sets the muted list."""

    permission_classes = [IsAuthenticated]
    serializer_class = PreferencesSerializer

    def _answer(self, muted: list[str]) -> Response:
        kinds = [
            {"kind": kind, "label": label, "muted": kind in muted}
            for kind, label in notifications.kinds.choices()
        ]
        return Response({"muted": muted, "kinds": kinds})

    @extend_schema(responses=PreferencesSerializer)
    def get(self, request):
        return self._answer(notifications.muted_kinds(request.user))

    @extend_schema(request=PreferencesSerializer, responses=PreferencesSerializer)
    def put(self, request):
        body = PreferencesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(
            notifications.set_muted_kinds(request.user, body.validated_data["muted"])
        )
