"""The registry's FHIR base, ``/fhir/`` (prescriptions/api/interop.py)."""

from django.urls import path

from . import interop

urlpatterns = [
    path("metadata", interop.FhirMetadataView.as_view(), name="fhir-metadata"),
    path("CodeSystem", interop.CodeSystemSearchView.as_view(), name="fhir-code-systems"),
    path("CodeSystem/<slug:name>", interop.CodeSystemView.as_view(), name="fhir-code-system"),
    path("$export", interop.BulkExportKickOffView.as_view(), name="fhir-bulk-export"),
    path("bulk-status/<uuid:export_id>", interop.BulkExportStatusView.as_view(), name="fhir-bulk-status"),
    path(
        "bulk-files/<uuid:export_id>/<str:resource_type>.ndjson",
        interop.BulkExportFileView.as_view(),
        name="fhir-bulk-file",
    ),
]
