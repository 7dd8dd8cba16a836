"""``GET /api/v1/opcua/health/``: what the collector last heard from each server of the
user's sites and from each of its tags (value, source time, lag, error)."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.errors import NotPermitted

from ..models import MachineTag, OpcServer

_TAG = {
    "machine": serializers.CharField(),
    "role": serializers.CharField(),
    "address": serializers.CharField(),
    "value": serializers.CharField(allow_null=True),
    "source_time": serializers.DateTimeField(allow_null=True),
    "received_at": serializers.DateTimeField(allow_null=True),
    "lag_ms": serializers.IntegerField(allow_null=True),
}
_SERVER = inline_serializer(
    "OpcServerHealth",
    {
        "id": serializers.IntegerField(),
        "site": serializers.CharField(),
        "name": serializers.CharField(),
        "endpoint_url": serializers.CharField(),
        "is_active": serializers.BooleanField(),
        "connected": serializers.BooleanField(allow_null=True),
        "connected_at": serializers.DateTimeField(allow_null=True),
        "seen_at": serializers.DateTimeField(allow_null=True),
        "reconnects": serializers.IntegerField(),
        "error": serializers.CharField(),
        "tags": inline_serializer("OpcTagHealth", _TAG, many=True),
    },
    many=True,
)


class CollectorHealthView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("site", str, description="only this site's servers")],
        responses={200: _SERVER},
    )
    def get(self, request):
        if not request.user.has_perm("opcua.view_opcserver"):
            raise NotPermitted(_("You are not allowed to do this."))
        tags = MachineTag.objects.select_related("health").order_by("pk")
        servers = (
            OpcServer.objects.visible_to(request.user)
            .select_related("site", "health")
            .prefetch_related("machines__machine", Prefetch("machines__tags", queryset=tags))
            .order_by("site__code", "name")
        )
        if request.query_params.get("site"):
            servers = servers.filter(site__code=request.query_params["site"])
        return Response([_describe(server) for server in servers])


def _describe(server: OpcServer) -> dict:
    health = getattr(server, "health", None)
    return {
        "id": server.pk,
        "site": server.site.code,
        "name": server.name,
        "endpoint_url": server.endpoint_url,
        "is_active": server.is_active,
        "connected": health.connected if health else None,
        "connected_at": health.connected_at if health else None,
        "seen_at": health.seen_at if health else None,
        "reconnects": health.reconnects if health else 0,
        "error": health.error if health else "",
        "tags": [_tag_row(tag) for link in server.machines.all() for tag in link.tags.all()],
    }


def _tag_row(tag: MachineTag) -> dict:
    health = getattr(tag, "health", None)
    return {
        "machine": tag.link.machine.code,
        "role": tag.role,
        "address": tag.node_id or f"{tag.namespace_uri}:{tag.browse_path}",
        "value": health.value if health else None,
        "source_time": health.source_time if health else None,
        "received_at": health.received_at if health else None,
        "lag_ms": health.lag_ms if health else None,
    }
