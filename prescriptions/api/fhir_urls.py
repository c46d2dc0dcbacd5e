"""The registry's FHIR base, ``/fhir/`` (prescriptions/api/interop.py)."""

from django.urls import path, re_path

from . import interop

urlpatterns = [
    path("metadata", interop.FhirMetadataView.as_view(), name="fhir-metadata"),
    path("CodeSystem", interop.CodeSystemSearchView.as_view(), name="fhir-code-systems"),
    # Any name reaches the view (an unknown one: the API's JSON 404, never the HTML page).
    path("CodeSystem/<path:name>", interop.CodeSystemView.as_view(), name="fhir-code-system"),
    # A regex route: the schema generator reads "$" in a plain route as the end of a pattern and drops it.
    re_path(r"^\$export\Z", interop.BulkExportKickOffView.as_view(), name="fhir-bulk-export"),
    path("bulk-status/<uuid:export_id>", interop.BulkExportStatusView.as_view(), name="fhir-bulk-status"),
    path(
        "bulk-files/<uuid:export_id>/<path:file_name>",
        interop.BulkExportFileView.as_view(),
        name="fhir-bulk-file",
    ),
]
