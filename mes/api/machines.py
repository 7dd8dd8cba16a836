"""Machines' downtimes (list, one, the floor's reason) and OEE of a site over days."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mes import oee, services
from mes.errors import InvalidInput, NotPermitted
from mes.models import Downtime, DowntimeReason, Site

from .kept import ModelSerializer
from .lookups import get_or_404
from .viewsets import ScopedViewSet


class DowntimeSerializer(ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)
    machine = serializers.SlugRelatedField(slug_field="code", read_only=True)
    work_order = serializers.SlugRelatedField(slug_field="erp_number", read_only=True)
    reason = serializers.SlugRelatedField(slug_field="code", read_only=True)
    reason_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    number = serializers.CharField(read_only=True)

    class Meta:
        model = Downtime
        fields = [
            "id",
            "number",
            "site",
            "machine",
            "state",
            "started_at",
            "ended_at",
            "work_order",
            "reason",
            "reason_by",
            "note",
            "version",
        ]


class DowntimeReasonSerializer(serializers.Serializer):
    """A leaf of the reason tree, by code."""

    reason = serializers.CharField(max_length=40)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate_reason(self, value):
        found = DowntimeReason.objects.filter(code=value).first()
        if found is None:
            raise serializers.ValidationError(_("No such reason."), code="invalid_reason")
        return found


class DowntimeFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    machine = django_filters.CharFilter(field_name="machine__code")
    open = django_filters.BooleanFilter(field_name="ended_at", lookup_expr="isnull")
    unexplained = django_filters.BooleanFilter(field_name="reason", lookup_expr="isnull")

    class Meta:
        model = Downtime
        fields = ["site", "machine", "open", "unexplained"]


class DowntimeViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Downtime.objects.select_related(
        "site", "machine", "work_order", "reason", "reason_by"
    ).order_by("-started_at", "-pk")
    serializer_class = DowntimeSerializer
    filterset_class = DowntimeFilter
    # The floor's operator says why: the service checks ``mes.add_confirmation`` at the site.
    action_permissions = {"reason": ["mes.view_downtime"]}

    @extend_schema(request=DowntimeReasonSerializer, responses={200: DowntimeSerializer})
    @action(detail=True, methods=["post"])
    def reason(self, request, pk=None):
        """Why the machine was down: a leaf of the reason tree (``If-Match`` optional)."""
        downtime = self.get_object()
        body = DowntimeReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        updated = services.set_downtime_reason(
            downtime,
            actor=request.user,
            reason_code=body.validated_data["reason"],
            note=body.validated_data["note"],
            expected_version=self.expected_version(),
        )
        return self.read(updated)


class OeeRow(serializers.Serializer):
    label = serializers.CharField()
    planned_minutes = serializers.FloatField()
    run_minutes = serializers.FloatField()
    down_minutes = serializers.FloatField()
    good = serializers.IntegerField()
    scrap = serializers.IntegerField()
    availability = serializers.FloatField(allow_null=True)
    performance = serializers.FloatField(allow_null=True)
    quality = serializers.FloatField(allow_null=True)
    oee = serializers.FloatField(allow_null=True)


class OeeWorkCenter(OeeRow):
    machines = OeeRow(many=True)
    shifts = OeeRow(many=True)


class OeeReport(serializers.Serializer):
    site = serializers.CharField()
    total = OeeRow()
    work_centers = OeeWorkCenter(many=True)
    shifts = OeeRow(many=True)
    pareto = serializers.ListField(child=serializers.DictField())


class OeeView(APIView):
    """OEE of a site's machines, work centers and shifts between two local dates."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("site", str, required=True),
            OpenApiParameter("from", str, description="YYYY-MM-DD, local (default: 6 days ago)"),
            OpenApiParameter("to", str, description="YYYY-MM-DD, local, inclusive (today)"),
        ],
        responses={200: OeeReport},
    )
    def get(self, request):
        from mes.machine_views import parse_window, window_utc

        if not request.user.has_perm("mes.view_downtime"):
            raise NotPermitted(_("You are not allowed to do this."))
        code = request.query_params.get("site")
        if not code:
            raise InvalidInput(
                _("Name the site."), code="site_required", fields={"site": [_("Required.")]}
            )
        site = get_or_404(Site.objects.visible_to(request.user), code)
        start, end, problem = parse_window(site, request.query_params)
        if problem:
            raise InvalidInput(problem, code="invalid_window", fields={"from": [problem]})
        a, b = window_utc(site, start, end)
        result = oee.report(site, a, b)
        shifts = result["work_center_shifts"]
        return Response(
            {
                "site": site.code,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "total": result["site"].as_dict(),
                "work_centers": [
                    {
                        **c.as_dict(),
                        "machines": [m.as_dict() for m in c.machines],
                        "shifts": [s.as_dict() for s in shifts.get(c.label, [])],
                    }
                    for c in result["work_centers"]
                ],
                "shifts": [s.as_dict() for s in result["shifts"]],
                "pareto": oee.downtime_pareto(site, a, b),
            }
        )
