from django.urls import path

from . import interop, stock
from . import views as api

urlpatterns = [
    path("eligibility-checks/", api.EligibilityCheckView.as_view(), name="api-eligibility-check"),
    path("prescriptions/", api.PrescriptionListCreateView.as_view(), name="api-prescription-list"),
    path("dispensing-queue/", api.DispensingQueueView.as_view(), name="api-dispensing-queue"),
    path("prescriptions/<uuid:prescription_id>/", api.PrescriptionDetailView.as_view(), name="api-prescription"),
    path(
        "prescriptions/<uuid:prescription_id>/dispensations/",
        api.DispensationView.as_view(),
        name="api-prescription-dispense",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/refusal/",
        api.DispensingRefusalView.as_view(),
        name="api-prescription-refuse",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/hold/",
        api.DispensingHoldView.as_view(),
        name="api-prescription-hold",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/administrations/",
        api.AdministrationView.as_view(),
        name="api-prescription-administer",
    ),
    path("prescriptions/<uuid:prescription_id>/stop/", api.StopView.as_view(), name="api-prescription-stop"),
    path(
        "prescriptions/<uuid:prescription_id>/adverse-events/",
        api.AdverseEventView.as_view(),
        name="api-prescription-adverse-event",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/lab-results/",
        api.LabResultView.as_view(),
        name="api-prescription-lab-result",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/outcomes/",
        api.OutcomeView.as_view(),
        name="api-prescription-outcome",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/concomitant-medications/",
        api.ConcomitantMedicationView.as_view(),
        name="api-prescription-concomitant-medication",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/entered-in-error/",
        api.EnteredInErrorView.as_view(),
        name="api-prescription-entered-in-error",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/patient/reveal/",
        api.PatientRevealView.as_view(),
        name="api-prescription-patient-reveal",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/fhir/",
        api.PrescriptionFhirView.as_view(),
        name="api-prescription-fhir",
    ),
    path(
        "prescriptions/<uuid:prescription_id>/adverse-events/<uuid:event_id>/e2b/",
        interop.AdverseEventE2bView.as_view(),
        name="api-adverse-event-e2b",
    ),
    *stock.urlpatterns,
    path(
        "prescriptions/<uuid:prescription_id>/adverse-events/<uuid:event_id>/reported/",
        interop.AdverseEventReportedView.as_view(),
        name="api-adverse-event-reported",
    ),
]
