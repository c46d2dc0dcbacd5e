"""The registry's FHIR base, ``/fhir/`` (prescriptions/api/interop.py)."""

from django.urls import path

from . import interop

urlpatterns = [
    path("metadata", interop.FhirMetadataView.as_view(), name="fhir-metadata"),
    path("CodeSystem", interop.CodeSystemSearchView.as_view(), name="fhir-code-systems"),
    path("CodeSystem/<slug:name>", interop.CodeSystemView.as_view(), name="fhir-code-system"),
]
