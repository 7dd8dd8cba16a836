"""``/api/v1/tokens/``: named API tokens; ``/api/v1/ws-tickets/``: single-use websocket tickets.

Anyone signed in lists, makes and revokes their own tokens; a manager also those of the
accounts they manage. A new token's key is in the creation answer only. A script opens a
websocket with ``?ticket=`` from ``POST /api/v1/ws-tickets/`` (valid 30 s, once) instead of a
long-lived token in the URL.
"""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from mes.models import ApiToken, Site, TokenScope
from mes.services import tokens as service

from .kept import ModelSerializer
from .viewsets import ScopedViewSet


class TokenSerializer(ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    scope = serializers.CharField(source="access", read_only=True)
    sites = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    state = serializers.CharField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "user",
            "prefix",
            "scope",
            "sites",
            "created_at",
            "expires_at",
            "last_used_at",
            "last_used_from",
            "revoked_at",
            "state",
        ]
        read_only_fields = fields


class NewTokenSerializer(TokenSerializer):
    key = serializers.SerializerMethodField(help_text=_("Shown once: store it now."))

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "key"]
        read_only_fields = fields

    def get_key(self, obj) -> str:
        return self.context["key"]


class TokenRequestSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(choices=TokenScope.choices, default=TokenScope.FULL)
    expires_at = serializers.DateTimeField(required=False)
    sites = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, default=list, max_length=100
    )
    user = serializers.CharField(
        max_length=150, required=False, help_text=_("Whose token (default: your own).")
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class TicketSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    expires_in = serializers.IntegerField(help_text=_("Seconds."))


class TokenViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    serializer_class = TokenSerializer
    permission_classes = [IsAuthenticated]
    queryset = ApiToken.objects.all()
    lookup_value_regex = r"\d+"
    throttle_scope = "credentials"
    open_to_service_accounts = True  # a service account lists and rotates its own tokens

    def get_queryset(self):
        return service.tokens_manageable_by(self.request.user).prefetch_related("sites")

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.action == "create" else []

    @extend_schema(request=TokenRequestSerializer, responses={201: NewTokenSerializer})
    def create(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        owner = request.user
        if values.get("user") and values["user"] != request.user.get_username():
            owner = self._account(values["user"])
        sites = self._sites(owner, values["sites"])
        token, key = service.create_token(
            owner,
            actor=request.user,
            name=values["name"],
            access=values["scope"],
            expires_at=values.get("expires_at"),
            sites=sites,
            reason=values.get("reason", ""),
            via=request.auth if isinstance(request.auth, ApiToken) else None,
        )
        body = NewTokenSerializer(token, context={"key": key, "request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=RevokeSerializer, responses=TokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = self.get_object()
        reason = RevokeSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        service.revoke_token(token, actor=request.user, reason=reason.validated_data.get("reason"))
        return Response(TokenSerializer(token).data)

    def _account(self, username: str):
        """Another user's account, when the caller manages it; else "unknown" (no hint that
        it exists)."""
        user = get_user_model().objects.filter(username=username).first()
        if user is None or not service.may_manage_tokens_of(self.request.user, user):
            raise serializers.ValidationError(
                {"user": [_("Unknown user: %(user)s.") % {"user": username}]}, code="unknown_user"
            )
        return user

    @staticmethod
    def _sites(owner, codes: list[str]) -> list[Site]:
        sites = list(Site.objects.visible_to(owner).filter(code__in=codes))
        missing = sorted(set(codes) - {site.code for site in sites})
        if missing:
            raise serializers.ValidationError(
                {"sites": [_("Unknown site: %(site)s.") % {"site": ", ".join(missing)}]},
                code="unknown_site",
            )
        return sites


class WebsocketTicketView(APIView):
    """``POST``: a ticket for one websocket, ``wss://…/ws/<path>/?ticket=<ticket>``."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "credentials"
    allow_read_only_tokens = True  # reading pushes is reading

    @extend_schema(request=None, responses={201: TicketSerializer})
    def post(self, request):
        token = request.auth if isinstance(request.auth, ApiToken) else None
        ticket, seconds = service.issue_ws_ticket(request.user, token=token)
        return Response({"ticket": ticket, "expires_in": seconds}, status=status.HTTP_201_CREATED)
