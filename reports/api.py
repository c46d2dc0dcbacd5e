"""HTTP API of the monitoring reports (``/api/v1/reports/``). Thin: parse, call one service or selector.

Files are served only here, after the scope check: ``MEDIA_URL`` is not served, so no file has a public URL.
Whole-country runs leave the regions: their small counts are suppressed (``REPORTS_SUPPRESS_BELOW``), and so are a
region's figures and files read by the national role, who downloads the per-patient file in its national form
(``reports.national``). Every file download is audited.

Asking for a report never fails because the broker is down: the run is committed and answered 202 ``queued`` with
``"delayed": true`` and a note; the sweep sends it later. ``Idempotency-Key`` makes a retry return the first answer.
"""

from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from prescriptions.idempotency import IdempotencyKeyReused, request_fingerprint, run_idempotent
from registry.errors import NotFound

from . import metric_definitions, selectors, services
from .kinds import COUNTRY_NAME, MONITORING
from .models import ReportFormat, ReportKind, ReportRun, ReportStatus

CONTENT_TYPES = {
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.PDF: "application/pdf",
}


# "kind" and "status" already name other choice sets in the API: these are described inline. The kind is a
# pattern rather than an enum, which drf-spectacular would hoist into a clashing "KindEnum" component.
@extend_schema_field(
    {
        "type": "string",
        "pattern": f"^({'|'.join(ReportKind.values)})$",
        "description": " | ".join(ReportKind.values),
    }
)
class ReportKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=ReportKind.choices, **kwargs)


@extend_schema_field({"type": "string", "enum": ReportStatus.values})
class ReportStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=ReportStatus.choices, **kwargs)


# A count as published: a number, or "x" where disclosure control hides it (``reports.disclosure``).
COUNT_SCHEMA = {
    "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^(x|<[0-9]+)$"}],
    "description": 'A count; "x" when hidden where the report leaves the region (small counts, and the counts '
    'they could be worked out from); "<N" for a per-patient run\'s row count.',
}
BREAKDOWN_SCHEMA = {"type": "object", "additionalProperties": COUNT_SCHEMA}
SPENDING_SCHEMA = {
    "type": "object",
    "properties": {
        "syringes_dispensed": {"type": "integer", "minimum": 0},
        "syringes_returned": {"type": "integer", "minimum": 0},
        "net_syringes": {"type": "integer"},
        "amount_eur": {"type": "string", "description": 'Euros with two decimals, e.g. "600.00".'},
        "unpriced_syringes": {"type": "integer", "minimum": 0},
    },
}
_COUNTS_SCHEMA = {d.key: (BREAKDOWN_SCHEMA if d.breakdown else COUNT_SCHEMA) for d in metric_definitions.COMPUTED}
_CENTRE_COUNTS_SCHEMA = {key: _COUNTS_SCHEMA[key] for key in (d.key for d in metric_definitions.PER_CENTRE)}
METRICS_SCHEMA = {
    "type": "object",
    "description": "Monitoring runs: the figures of reports.metric_definitions, with by_centre one entry a centre. "
    "Quarterly per-patient runs: {patients: rows in the files}.",
    "properties": {
        **_COUNTS_SCHEMA,
        "by_centre": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "centre_id": {"type": "string", "format": "uuid"},
                    "centre_name": {"type": "string"},
                    "region": {"type": "string"},
                    **_CENTRE_COUNTS_SCHEMA,
                },
            },
        },
        "by_region": {
            "type": "array",
            "description": "Whole-country runs: each region's figures, as its own report counts them.",
            "items": {
                "type": "object",
                "properties": {
                    "region": {"type": "string"},
                    "region_name": {"type": "string"},
                    **_CENTRE_COUNTS_SCHEMA,
                    "requests_by_week": BREAKDOWN_SCHEMA,
                },
            },
        },
        "patients": {"type": "integer", "minimum": 0},
        "spending": {
            "type": "object",
            "description": "A region's monitoring run read by its own officers: the L.648 spending of the period's "
            "prescriptions (syringes dispensed less returned, at AIFA's price of each day), in total and by centre "
            "id. Never in what leaves the region.",
            "properties": {
                "total": SPENDING_SCHEMA,
                "by_centre": {"type": "object", "additionalProperties": SPENDING_SCHEMA},
            },
        },
    },
}


class ReportRequestSerializer(serializers.Serializer):
    region = serializers.CharField(
        allow_null=True, max_length=3, help_text=_("Ministry of Health code (e.g. 030), or null for the country.")
    )
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text=_("Included; at most two years after period_start."))
    kind = ReportKindField(default=MONITORING)


class ReportPartSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    region = serializers.CharField(source="region_id")
    status = ReportStatusField()
    progress = serializers.IntegerField()


class ReportRunSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = ReportKindField()
    region = serializers.CharField(source="region_id", allow_null=True)
    region_name = serializers.SerializerMethodField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    status = ReportStatusField()
    progress = serializers.IntegerField(min_value=0, max_value=100)
    error = serializers.CharField()
    data_as_of = serializers.DateTimeField(allow_null=True)
    metrics = serializers.SerializerMethodField()
    suppressed_below = serializers.SerializerMethodField(
        help_text=_("Counts from 1 to this number − 1 are hidden (whole-country runs); null: none.")
    )
    files = serializers.SerializerMethodField()
    scheduled = serializers.BooleanField()
    parent = serializers.UUIDField(source="parent_id", allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_region_name(self, run: ReportRun) -> str:
        return run.region.name if run.region_id else COUNTRY_NAME

    delayed = serializers.SerializerMethodField(
        help_text=_("True while a queued run could not yet be sent to the workers (broker unreachable).")
    )

    def _audience(self, run: ReportRun) -> str:
        request = self.context.get("request")
        if request is None:
            return selectors.default_audience(run)
        return selectors.report_audience(user=request.user, run=run)

    @extend_schema_field(METRICS_SCHEMA)
    def get_metrics(self, run: ReportRun) -> dict:
        return selectors.report_metrics_published(run, self._audience(run))

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_suppressed_below(self, run: ReportRun) -> int | None:
        return selectors.suppress_below_for(run, self._audience(run)) or None

    def get_delayed(self, run: ReportRun) -> bool:
        return run.status == ReportStatus.QUEUED and run.dispatched_at is None

    @extend_schema_field(
        inline_serializer(
            "ReportFileLinks",
            {fmt.value: serializers.URLField(required=False) for fmt in ReportFormat},
        )
    )
    def get_files(self, run: ReportRun) -> dict[str, str]:
        if run.status != ReportStatus.DONE:
            return {}
        request = self.context.get("request")
        urls = {}
        audience = self._audience(run)
        for report_file in run.files.all():
            if report_file.audience != audience:
                continue
            url = reverse("api-report-file", kwargs={"run_id": run.pk, "fmt": report_file.format})
            urls[report_file.format] = request.build_absolute_uri(url) if request else url
        return urls


class ReportRunDetailSerializer(ReportRunSerializer):
    parts = serializers.SerializerMethodField(help_text=_("A whole-country run's regional reports."))

    @extend_schema_field(ReportPartSerializer(many=True))
    def get_parts(self, run: ReportRun) -> list[dict]:
        return ReportPartSerializer(run.children.all(), many=True).data


ReportAccepted = inline_serializer(
    "ReportAccepted",
    {
        "id": serializers.UUIDField(),
        "status": ReportStatusField(),
        "url": serializers.URLField(),
        "delayed": serializers.BooleanField(),
        "detail": serializers.CharField(),
    },
)


def _accepted_body(request, run_id, *, delayed: bool) -> dict:
    url = request.build_absolute_uri(reverse("api-report", kwargs={"run_id": run_id}))
    if delayed:
        detail = _(
            "Report accepted; its generation is delayed: the task queue cannot be reached, the report will be "
            "sent to it as soon as it is back."
        )
    else:
        detail = _("Report accepted: it is generated in the background.")
    return {"id": str(run_id), "status": ReportStatus.QUEUED, "url": url, "delayed": delayed, "detail": str(detail)}


class ReportListCreateView(generics.GenericAPIView):
    """Ask for a report (202, generated in the background), or list the runs the caller may see."""

    serializer_class = ReportRunSerializer

    def get_queryset(self):
        return selectors.report_run_list(user=self.request.user)

    @extend_schema(responses=ReportRunSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ReportRunSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(
        request=ReportRequestSerializer,
        responses={
            202: ReportAccepted,
            400: OpenApiResponse(description="bad period, kind or region"),
            403: OpenApiResponse(description="this role may not ask for this region's (or the country's) report"),
            422: OpenApiResponse(description="Idempotency-Key reused with another body"),
        },
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    def post(self, request):
        serializer = ReportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def ask():
            run = services.report_request(
                user=request.user,
                kind=data["kind"],
                region_code=data["region"],
                period_start=data["period_start"],
                period_end=data["period_end"],
            )
            return status.HTTP_202_ACCEPTED, {"id": str(run.pk)}

        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            _code, body = ask()
        elif len(key) > 200:
            raise serializers.ValidationError({"Idempotency-Key": [_("At most 200 characters.")]})
        else:
            try:
                _code, body = run_idempotent(
                    user=request.user, key=key, fingerprint=request_fingerprint(request.data), produce=ask
                )
            except IdempotencyKeyReused:
                return Response(
                    {"detail": _("This Idempotency-Key was used with another request body.")},
                    status=status.HTTP_422_UNPROCESSABLE_ENTITY,
                )
        # The status as accepted (with tasks in-process the run may already be done by now); "delayed" from the
        # database, so that a retry with the same key tells the run's state rather than the first answer's.
        run = selectors.report_run_state(user=request.user, run_id=body["id"])
        if run is None:  # asked for by this user a moment ago: only a deletion since can get here
            raise NotFound()
        answer = _accepted_body(
            request, run.pk, delayed=run.status == ReportStatus.QUEUED and run.dispatched_at is None
        )
        return Response(answer, status=status.HTTP_202_ACCEPTED, headers={"Location": answer["url"]})


class ReportDetailView(APIView):
    @extend_schema(responses={200: ReportRunDetailSerializer, 404: OpenApiResponse(description="no such run here")})
    def get(self, request, run_id):
        run = selectors.report_run_get(user=request.user, run_id=run_id)
        if run is None:
            raise NotFound()
        return Response(ReportRunDetailSerializer(run, context={"request": request}).data)


class ReportFileView(APIView):
    """One file of a finished run, as an attachment, after the same scope check as the run (else 404)."""

    @extend_schema(
        parameters=[OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=ReportFormat.values)],
        responses={
            **{(200, content_type.split(";")[0]): OpenApiTypes.BINARY for content_type in CONTENT_TYPES.values()},
            404: OpenApiResponse(description="no such file here, or the run is not done"),
        },
    )
    def get(self, request, run_id, fmt):
        report_file = services.report_file_download(user=request.user, run_id=run_id, fmt=fmt)
        response = FileResponse(
            report_file.file.open("rb"),
            as_attachment=True,
            filename=report_file.file.name.rsplit("/", 1)[-1],
            content_type=CONTENT_TYPES[report_file.format],
        )
        response["X-Content-SHA256"] = report_file.sha256
        response["Cache-Control"] = "private, no-store"
        return response
