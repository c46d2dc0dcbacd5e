"""HTTP API of the interoperability exports (docs/api.md, "FHIR" and "Pharmacovigilance export").

Thin: parse, call one service or selector, render. The FHIR base (``/fhir/``: metadata, the registry's code
systems, the bulk ``$export``) answers ``application/fhir+json``; errors stay the API's JSON with a ``code``.
"""

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.access_log import access_log_record
from registry.errors import NotFound
from registry.models import AccessKind

from ..interop import e2b
from ..interop.capability import capability_statement
from ..interop.fhir import FHIR_JSON, FhirJsonRenderer
from ..interop.pharmacovigilance import adverse_event_for_report
from ..interop.terminology import code_system_resource, code_systems


class FhirView(APIView):
    """A view of the FHIR base: resources as application/fhir+json (or JSON), errors always in plain JSON."""

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
    @extend_schema(responses={(200, FHIR_JSON): OpenApiTypes.OBJECT})
    def get(self, request, name):
        system = code_systems().get(name)
        if system is None:
            raise NotFound()
        return Response(code_system_resource(system), content_type=FHIR_JSON)


class CodeSystemSearchView(PublicFhirView):
    """``GET /fhir/CodeSystem`` (optionally ``?url=``): a ``searchset`` Bundle of the registry's code systems."""

    @extend_schema(responses={(200, FHIR_JSON): OpenApiTypes.OBJECT})
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
        return response
