"""HTTP API of the interoperability exports (docs/api.md, "FHIR" and "Pharmacovigilance export").

Thin: parse, call one service or selector, render. The FHIR base (``/fhir/``: metadata, the registry's code
systems, the bulk ``$export``) answers ``application/fhir+json``; errors stay the API's JSON with a ``code``.
"""

from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import http_date
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.access_log import access_log_record
from registry.errors import InvalidInput, NotFound
from registry.models import AccessKind

from ..interop import bulk, e2b
from ..interop.capability import capability_statement
from ..interop.fhir import FHIR_JSON, FhirJsonRenderer
from ..interop.pharmacovigilance import adverse_event_for_report, adverse_event_mark_reported
from ..interop.terminology import code_system_resource, code_systems
from ..models import BulkExportStatus
from .serializers import AdverseEventSerializer
from .views import CONFLICT

# FHIR's ``_format`` shorthands (FHIR R4 http.html#mime-type); a full MIME type is taken as it is.
FHIR_FORMAT_SHORTHANDS = {
    "json": FHIR_JSON,
    "xml": "application/fhir+xml",
    "ttl": "application/fhir+turtle",
    "html": "text/html",
}


class FhirContentNegotiation(DefaultContentNegotiation):
    """FHIR's ``_format`` parameter overrides the ``Accept`` header and is negotiated exactly as that header is:
    a format the server cannot produce (XML, Turtle, HTML, anything unknown) is DRF's ``NotAcceptable``, a 406
    with the API's error body, as ``Accept: application/fhir+xml`` already was."""

    def get_accept_list(self, request):
        # An unencoded ``+`` (``_format=application/fhir+json`` typed as is) arrives as a space.
        requested = request.query_params.get("_format", "").strip().replace(" ", "+")
        if not requested:
            return super().get_accept_list(request)
        return [FHIR_FORMAT_SHORTHANDS.get(requested, requested)]


class FhirView(APIView):
    """A view of the FHIR base: resources as application/fhir+json (or JSON), errors always in plain JSON."""

    content_negotiation_class = FhirContentNegotiation

    def get_renderers(self):
        return [FhirJsonRenderer(), JSONRenderer()]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class PublicFhirView(FhirView):
    """Conformance resources: public, as FHIR expects of /metadata and canonical URLs (no patient data)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)


class FhirMetadataView(PublicFhirView):
    @extend_schema(responses={(200, FHIR_JSON): OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(capability_statement(now=timezone.now()), content_type=FHIR_JSON)


class CodeSystemView(PublicFhirView):
    @extend_schema(operation_id="fhir_code_system_read", responses={(200, FHIR_JSON): OpenApiTypes.OBJECT})
    def get(self, request, name):
        system = code_systems().get(name)
        if system is None:
            raise NotFound()
        return Response(code_system_resource(system), content_type=FHIR_JSON)


class CodeSystemSearchView(PublicFhirView):
    """``GET /fhir/CodeSystem`` (optionally ``?url=``): a ``searchset`` Bundle of the registry's code systems."""

    @extend_schema(operation_id="fhir_code_system_search", responses={(200, FHIR_JSON): OpenApiTypes.OBJECT})
    def get(self, request):
        resources = [code_system_resource(system) for system in code_systems().values()]
        if url := request.query_params.get("url"):
            resources = [resource for resource in resources if resource["url"] == url]
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(resources),
            "entry": [
                {"fullUrl": resource["url"], "resource": resource, "search": {"mode": "match"}}
                for resource in resources
            ],
        }
        return Response(bundle, content_type=FHIR_JSON)


# --- Pharmacovigilance ------------------------------------------------------------------------------------


class XmlRenderer(JSONRenderer):
    """Lets ``Accept: application/xml`` negotiate; the ICSR itself is sent as bytes (errors stay JSON)."""

    media_type = e2b.E2B_XML
    format = "xml"


class AdverseEventE2bView(APIView):
    """``GET /api/v1/prescriptions/{id}/adverse-events/{event_id}/e2b/``: the event's ICH E2B(R3) ICSR, for the
    prescribers and nurses of the treating centre (404 for anyone else); every export is logged as a read."""

    def get_renderers(self):
        return [JSONRenderer(), XmlRenderer()]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    @extend_schema(responses={(200, e2b.E2B_XML): OpenApiTypes.BINARY})
    def get(self, request, prescription_id, event_id):
        event = adverse_event_for_report(user=request.user, prescription_id=prescription_id, event_id=event_id)
        if event is None:
            raise NotFound()
        access_log_record(user=request.user, obj=event.prescription, kind=AccessKind.ADVERSE_EVENT_E2B)
        response = HttpResponse(e2b.icsr(event), content_type=f"{e2b.E2B_XML}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{e2b.safety_report_id(event)}.xml"'
        if e2b.missing_meddra_code(event):
            response["X-E2B-Missing"] = "meddra_code"
            response["X-E2B-Warning"] = _("MedDRA code missing: the E2B report carries the reaction as text only.")
        return response


# --- FHIR Bulk Data $export --------------------------------------------------------------------------------

NDJSON_FORMATS = {"application/fhir+ndjson", "application/ndjson", "ndjson"}


class BulkExportKickOffView(FhirView):
    """``GET /fhir/$export`` (``Prefer: respond-async``; optional ``_type``, ``_since``, ``_outputFormat``): 202
    with the status URL in ``Content-Location``. Regional officers (their region) and AIFA (the nation)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("_type", str, description="comma-separated resource types (default: all)"),
            OpenApiParameter("_since", str, description="FHIR instant: only what changed since"),
            OpenApiParameter("_outputFormat", str, description="application/fhir+ndjson (the default and only)"),
            OpenApiParameter("Prefer", str, OpenApiParameter.HEADER, required=True, description="respond-async"),
        ],
        responses={202: None},
    )
    def get(self, request):
        if "respond-async" not in request.headers.get("Prefer", ""):
            raise InvalidInput({"Prefer": [_("A bulk export is asynchronous: send 'Prefer: respond-async'.")]})
        output_format = request.query_params.get("_outputFormat")
        if output_format and output_format not in NDJSON_FORMATS:
            raise InvalidInput({"_outputFormat": [_("Only application/fhir+ndjson is produced.")]})
        since = None
        if raw_since := request.query_params.get("_since"):
            since = parse_datetime(raw_since)
            if since is None or timezone.is_naive(since):
                message = _("A FHIR instant with its time zone, e.g. 2026-01-31T12:00:00+01:00.")
                raise InvalidInput({"_since": [message]})
        export = bulk.bulk_export_request(
            user=request.user,
            request_url=request.build_absolute_uri(),
            resource_types=bulk.parse_types(request.query_params.get("_type")),
            since=since,
        )
        response = Response(status=202)
        response["Content-Location"] = request.build_absolute_uri(reverse("fhir-bulk-status", args=[export.pk]))
        return response


class BulkExportStatusView(FhirView):
    """Polling: 202 with ``X-Progress`` while running; 200 with the manifest when done; 500 with an
    ``OperationOutcome`` if it failed. ``DELETE`` cancels it (202). Only who asked (404 for anyone else)."""

    def get_renderers(self):
        return [JSONRenderer(), FhirJsonRenderer()]

    def _export(self, request, export_id):
        export = bulk.bulk_export_get(user=request.user, export_id=export_id)
        if export is None:
            raise NotFound()
        return export

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 202: None})
    def get(self, request, export_id):
        export = self._export(request, export_id)
        if export.status == BulkExportStatus.FAILED:
            outcome = {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "exception", "diagnostics": _("The export failed.")}],
            }
            return Response(outcome, status=500, content_type=FHIR_JSON)
        if export.status != BulkExportStatus.DONE:
            response = Response(status=202)
            response["X-Progress"] = f"{export.progress}% ({export.status})"
            response["Retry-After"] = "5"
            return response
        manifest = {
            "transactionTime": export.transaction_time.isoformat(timespec="seconds"),
            "request": export.request_url,
            "requiresAccessToken": True,
            "output": [
                {
                    "type": item["type"],
                    "url": request.build_absolute_uri(
                        reverse("fhir-bulk-file", args=[export.pk, f"{item['type']}.ndjson"])
                    ),
                    "count": item["count"],
                }
                for item in export.files
            ],
            "error": [],
        }
        response = Response(manifest, content_type="application/json")
        response["Expires"] = http_date(
            (export.finished_at + timedelta(hours=settings.FHIR_BULK_EXPORT_TTL_HOURS)).timestamp()
        )
        return response

    @extend_schema(responses={202: None})
    def delete(self, request, export_id):
        export = self._export(request, export_id)
        bulk.bulk_export_delete(export=export)
        return Response(status=202)


class BulkExportFileView(APIView):
    """One NDJSON file of a finished export, to who asked for it; every download logged as a read."""

    @extend_schema(responses={(200, bulk.NDJSON): OpenApiTypes.BINARY})
    def get(self, request, export_id, file_name):
        """``{Type}.ndjson``."""
        resource_type = file_name.removesuffix(".ndjson") if file_name.endswith(".ndjson") else None
        export = bulk.bulk_export_get(user=request.user, export_id=export_id)
        item = next((f for f in (export.files if export else ()) if f["type"] == resource_type), None)
        if export is None or export.status != BulkExportStatus.DONE or item is None:
            raise NotFound()
        access_log_record(user=request.user, obj=export, kind=AccessKind.FHIR_BULK_FILE)
        response = FileResponse(default_storage.open(item["name"], "rb"), content_type=bulk.NDJSON)
        response["X-Content-SHA256"] = item["sha256"]
        return response


class MarkReportedInputSerializer(serializers.Serializer):
    report_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    report_date = serializers.DateField(required=False, allow_null=True, default=None)


class AdverseEventReportedView(APIView):
    """``POST /api/v1/prescriptions/{id}/adverse-events/{event_id}/reported/``: the event was reported to the
    national pharmacovigilance network (its report number and date, optional); the page's "mark reported"."""

    @extend_schema(request=MarkReportedInputSerializer, responses={200: AdverseEventSerializer, 409: CONFLICT})
    def post(self, request, prescription_id, event_id):
        serializer = MarkReportedInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = adverse_event_mark_reported(
            user=request.user,
            prescription_id=prescription_id,
            event_id=event_id,
            report_number=serializer.validated_data["report_number"],
            report_date=serializer.validated_data["report_date"],
        )
        return Response(AdverseEventSerializer(event).data)
