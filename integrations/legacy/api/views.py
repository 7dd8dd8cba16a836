"""``/api/v1/imports/``: upload a spreadsheet (multipart ``file``, ``site``, ``kind``), see the
proposed mapping and the header's columns, change the mapping (``PATCH``, If-Match), preview
(the dry run: every row that does not map, and why), commit (all or nothing; ``skip_invalid``
to leave the bad rows out), and the progress of a long one."""

from __future__ import annotations

from django.core.cache import cache
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.api.kept import ModelSerializer
from mes.api.lookups import get_or_404
from mes.api.viewsets import ScopedViewSet
from mes.audit.export import stream_csv, stream_xlsx
from mes.errors import InvalidInput, NotPermitted
from mes.models import Site

from .. import execution, services
from ..kinds import KINDS
from ..models import ImportJob


class ImportJobSerializer(ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    targets = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "site",
            "kind",
            "filename",
            "sheet",
            "header_row",
            "mapping",
            "machine_names",
            "targets",
            "status",
            "total_rows",
            "good_rows",
            "skipped_rows",
            "done_rows",
            "errors",
            "progress",
            "created_by",
            "created_at",
            "committed_at",
            "version",
        ]

    def get_targets(self, job) -> list[dict]:
        return [{"name": t.name, "required": t.required} for t in KINDS[job.kind].targets]

    def get_progress(self, job) -> dict | None:
        return cache.get(services.progress_key(job.pk))


class UploadSerializer(serializers.Serializer):
    site = serializers.CharField(max_length=20)
    kind = serializers.ChoiceField(choices=ImportJob.Kind.choices)
    file = serializers.FileField()


class MappingSerializer(serializers.Serializer):
    sheet = serializers.CharField(max_length=100, required=False)
    header_row = serializers.IntegerField(required=False)
    mapping = serializers.DictField(child=serializers.IntegerField(allow_null=True), required=False)
    machine_names = serializers.DictField(
        child=serializers.CharField(max_length=40, allow_blank=True), required=False
    )


class CommitSerializer(serializers.Serializer):
    skip_invalid = serializers.BooleanField(default=False)


_PREVIEW = inline_serializer(
    "ImportPreview",
    {
        "job": ImportJobSerializer(),
        "rows": serializers.ListField(child=serializers.DictField()),
        "unknown_machines": serializers.DictField(child=serializers.IntegerField()),
        "columns": serializers.ListField(child=serializers.CharField()),
    },
)


class ImportJobViewSet(
    ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin
):
    queryset = ImportJob.objects.select_related("site", "created_by")
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    action_permissions = {
        "create": ["legacy.add_importjob"],
        "partial_update": ["legacy.add_importjob"],
        "preview": ["legacy.add_importjob"],
        "commit": ["legacy.add_importjob"],
    }
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(
        request={"multipart/form-data": UploadSerializer}, responses={201: ImportJobSerializer}
    )
    def create(self, request, *args, **kwargs):
        body = UploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        site = get_or_404(Site.objects.visible_to(request.user), body.validated_data["site"])
        upload = body.validated_data["file"]
        if upload.size > services.MAX_BYTES:
            raise InvalidInput(_("The file is larger than 20 MB."), code="file_too_large")
        job = services.upload(
            actor=request.user,
            site=site,
            kind=body.validated_data["kind"],
            filename=upload.name,
            data=upload.read(),
        )
        return self.read(job, status.HTTP_201_CREATED)

    @extend_schema(request=MappingSerializer, responses={200: ImportJobSerializer})
    def partial_update(self, request, *args, **kwargs):
        job = self.get_object()
        body = MappingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = services.set_mapping(
            job, actor=request.user, expected_version=self.expected_version(), **body.validated_data
        )
        return self.read(job)

    @extend_schema(request=None, responses={200: _PREVIEW})
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        """The dry run: the first rows as they would come in, every bad row and its reason,
        the machine names nobody knows yet (map them in ``machine_names``)."""
        job, parsed = services.preview(self.get_object(), actor=request.user)
        rows = [{"row": n, **_plain(v)} for n, v in parsed.good[: services.PREVIEW_ROWS]]
        return Response(
            {
                "job": ImportJobSerializer(job).data,
                "rows": rows,
                "unknown_machines": parsed.unknown_machines,
                "columns": services.columns(job),
            }
        )

    @extend_schema(request=CommitSerializer, responses={200: ImportJobSerializer})
    @action(detail=True, methods=["post"])
    def commit(self, request, pk=None):
        """Every row, in one transaction; 409 ``bad_rows`` (nothing written, each row named)
        unless ``skip_invalid``."""
        body = CommitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = services.commit(
            self.get_object(), actor=request.user, skip_invalid=body.validated_data["skip_invalid"]
        )
        return self.read(job)


def _plain(values: dict) -> dict:
    plain = {}
    for key, value in values.items():
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif hasattr(value, "_meta"):
            value = getattr(value, "code", None) or getattr(value, "erp_number", None) or str(value)
        plain[key] = value
    return plain


class ExecutionAuditView(APIView):
    """For a site and a period (local dates ``from``/``to``, at most 92 days): every
    exception, how it was communicated, what was decided and by whom, how long it took to
    reach the ERP; Andon's and those of the imported trackers ("outside the system").
    ``file=csv|xlsx``: every line, streamed."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="execution_audit",
        parameters=[
            OpenApiParameter("site", str, required=True),
            OpenApiParameter("from", str),
            OpenApiParameter("to", str),
            OpenApiParameter("file", str, enum=["csv", "xlsx"]),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        if not all(request.user.has_perm(p) for p in execution.PERMS):
            raise NotPermitted(_("You are not allowed to do this."))
        code = request.query_params.get("site")
        if not code:
            raise InvalidInput(_("Name the site."), code="site_required")
        site = get_or_404(Site.objects.visible_to(request.user), code)
        first, last, start, end = execution.window(site, request.query_params)
        kind = request.query_params.get("file")
        if kind:
            if kind not in ("csv", "xlsx"):
                raise InvalidInput(_("csv or xlsx."), code="invalid_file")
            rows = (line.cells() for line in execution.lines(request.user, site, start, end))
            name = f"execution-audit-{site.code}"
            if kind == "xlsx":
                return stream_xlsx(execution.HEADER, rows, name, sheet="execution audit")
            return stream_csv(execution.HEADER, rows, name)
        summary, shown = execution.report(request.user, site, start, end)
        return Response(
            {
                "site": site.code,
                "from": first.isoformat(),
                "to": last.isoformat(),
                "summary": summary.as_dict(),
                "lines": [dict(zip(execution.HEADER, line.cells(), strict=True)) for line in shown],
            }
        )
