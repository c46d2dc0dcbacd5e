"""Pages of the prescription workflow (server-rendered)."""

from django.urls import include, path

from . import national, pharmacovigilance, stock, views

app_name = "prescriptions"

urlpatterns = [
    path("", views.prescription_list, name="list"),
    path("export.csv", views.prescription_list_export, name="list_export"),
    path("new/", views.prescription_new, name="new"),
    path("new/check/", views.prescription_check, name="check"),
    path("dispensing/", views.dispensing_queue, name="dispensing_queue"),
    path("dispensing/export.csv", views.dispensing_queue_csv, name="dispensing_queue_csv"),
    path("doses-due/", views.doses_due, name="doses_due"),
    path("shortages/", national.shortages, name="shortages"),
    path("shortages/new/", national.shortage_new, name="shortage_record"),
    path("shortages/<uuid:shortage_id>/", national.shortage_edit, name="shortage_edit"),
    path("criteria/", national.criteria, name="criteria"),
    path("pharmacovigilance/", pharmacovigilance.unreported_events, name="pharmacovigilance"),
    path("stock/", include((stock.urlpatterns, "stock"))),
    path("<uuid:prescription_id>/", views.prescription_detail, name="detail"),
    path("<uuid:prescription_id>/scheda.pdf", views.paper_view("form"), name="form_pdf"),
    path("<uuid:prescription_id>/dispensazione.pdf", views.paper_view("dispensing"), name="dispensing_pdf"),
    path("<uuid:prescription_id>/patient/", views.patient_identity, name="patient_identity"),
    path("<uuid:prescription_id>/patient/reveal/", views.patient_reveal, name="patient_reveal"),
    path("<uuid:prescription_id>/dispense/", views.action_view("dispense"), name="dispense"),
    path("<uuid:prescription_id>/refuse/", views.action_view("refuse"), name="refuse"),
    path("<uuid:prescription_id>/hold/", views.action_view("hold"), name="hold"),
    path("<uuid:prescription_id>/release-hold/", views.action_view("release_hold"), name="release_hold"),
    path("<uuid:prescription_id>/administer/", views.action_view("administer"), name="administer"),
    path("<uuid:prescription_id>/administer-now/", views.administer_now, name="administer_now"),
    path(
        "<uuid:prescription_id>/administrations/<uuid:administration_id>/take-back/",
        views.administration_take_back,
        name="administration_take_back",
    ),
    path(
        "<uuid:prescription_id>/entered-in-error/<str:kind>/<uuid:record_id>/",
        views.record_entered_in_error,
        name="entered_in_error",
    ),
    path("<uuid:prescription_id>/stop/", views.action_view("stop"), name="stop"),
    path("<uuid:prescription_id>/adverse-events/", views.action_view("adverse_event"), name="adverse_event"),
    path(
        "<uuid:prescription_id>/adverse-events/<uuid:event_id>/reported/",
        pharmacovigilance.mark_reported,
        name="mark_reported",
    ),
    path("<uuid:prescription_id>/lab-results/", views.action_view("lab_result"), name="lab_result"),
    path("<uuid:prescription_id>/outcomes/", views.action_view("outcome"), name="outcome"),
    path(
        "<uuid:prescription_id>/concomitant-medications/",
        views.action_view("concomitant_medication"),
        name="concomitant_medication",
    ),
]
