"""The regional office's pages, under /office/."""

from django.urls import path

from . import views

app_name = "office"

urlpatterns = [
    path("", views.centres, name="centres"),
    path("centres/new/", views.centre_new, name="centre_new"),
    path("centres/<uuid:centre_id>/", views.centre_pharmacy, name="centre_edit"),
    path("centres/<uuid:centre_id>/designate/", views.designate, name="designate"),
    path("designations/<uuid:designation_id>/end/", views.designation_end, name="designation_end"),
    path("pharmacies/", views.pharmacies, name="pharmacies"),
    path("pharmacies/new/", views.pharmacy_new, name="pharmacy_new"),
    path("authorisations/", views.authorisations, name="authorisations"),
    path("authorisations/grant/", views.authorisation_grant, name="authorisation_grant"),
    path("authorisations/<uuid:authorisation_id>/renew/", views.authorisation_renew, name="authorisation_renew"),
    path("authorisations/<uuid:authorisation_id>/end/", views.authorisation_end, name="authorisation_end"),
    path("staff/", views.staff, name="staff"),
    path("staff/invite/", views.staff_invite, name="staff_invite"),
    path("staff/<int:user_id>/deactivate/", views.staff_deactivate, name="staff_deactivate"),
]
