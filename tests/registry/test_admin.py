"""The admin as a regional officer uses it: their region only, every change through a service."""

import pytest

from registry import services
from registry.models import AuditEvent, Centre, CentreDesignation, Region

CENTRES = "/admin/registry/centre/"
DESIGNATIONS = "/admin/registry/centredesignation/"


@pytest.fixture
def officer_client(client, demo):
    client.force_login(demo["officer.lombardia"])
    return client


@pytest.fixture
def bergamo(demo, lombardia):
    return services.centre_create(actor=demo["officer.lombardia"], region=lombardia, name="Ospedale di Bergamo")


@pytest.fixture
def padova(demo):
    return services.centre_create(actor=demo["admin"], region=Region.objects.get(code="050"), name="Ospedale di Padova")


def test_the_officer_sees_only_their_regions_centres(officer_client, milano, bergamo, roma, padova):
    response = officer_client.get(CENTRES)
    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == {milano, bergamo}
    html = response.content.decode()
    assert "Ospedale Demo Milano" in html and "Ospedale di Bergamo" in html
    assert "Ospedale Demo Roma" not in html and "Ospedale di Padova" not in html


def test_the_officer_sees_only_their_regions_designations(officer_client, milano):
    response = officer_client.get(DESIGNATIONS)
    assert response.status_code == 200
    assert [designation.centre for designation in response.context["cl"].result_list] == [milano]


def test_another_regions_centre_cannot_be_opened(officer_client, roma):
    response = officer_client.get(f"{CENTRES}{roma.pk}/change/")
    assert response.status_code == 302  # "does not exist", back to the index
    assert "Ospedale Demo Roma" not in response.content.decode()


def test_an_administrator_sees_every_centre(client, demo, milano, roma, padova):
    client.force_login(demo["admin"])
    response = client.get(CENTRES)
    assert set(response.context["cl"].result_list) == {milano, roma, padova}


def test_adding_a_designation_goes_through_the_service(officer_client, demo, bergamo):
    response = officer_client.post(
        f"{DESIGNATIONS}add/",
        {"centre": str(bergamo.pk), "valid_from": "2021-11-15", "valid_to": "", "act_reference": "DGR XI/5555"},
    )
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors

    designation = CentreDesignation.objects.get(centre=bergamo)
    assert designation.designated_by == demo["officer.lombardia"]
    assert (str(designation.valid_from), designation.valid_to) == ("2021-11-15", None)
    event = AuditEvent.objects.get(object_type="registry.centredesignation", object_id=str(designation.pk))
    assert event.action == "designation.create"
    assert event.actor == demo["officer.lombardia"]
    assert event.changes["act_reference"] == "DGR XI/5555"


def test_ending_a_designation_goes_through_the_service(officer_client, demo, milano):
    designation = CentreDesignation.objects.get(centre=milano)
    response = officer_client.post(f"{DESIGNATIONS}{designation.pk}/change/", {"valid_to": "2022-03-31"})
    assert response.status_code == 302

    designation.refresh_from_db()
    assert str(designation.valid_to) == "2022-03-31"
    event = AuditEvent.objects.filter(object_id=str(designation.pk)).order_by("-sequence").first()
    assert (event.action, event.actor, event.changes) == (
        "designation.end",
        demo["officer.lombardia"],
        {"valid_to": [None, "2022-03-31"]},
    )


def test_the_officer_cannot_choose_another_regions_centre(officer_client, milano, roma, bergamo, padova):
    form = officer_client.get(f"{DESIGNATIONS}add/").context["adminform"].form
    assert set(form.fields["centre"].queryset) == {milano, bergamo}
    html = officer_client.get(f"{DESIGNATIONS}add/").content.decode()
    assert str(roma.pk) not in html and str(padova.pk) not in html

    before = (CentreDesignation.objects.count(), AuditEvent.objects.count())
    response = officer_client.post(
        f"{DESIGNATIONS}add/", {"centre": str(roma.pk), "valid_from": "2021-11-15", "act_reference": "x"}
    )
    assert response.status_code == 200
    assert "centre" in response.context["adminform"].form.errors
    assert (CentreDesignation.objects.count(), AuditEvent.objects.count()) == before


def test_the_officer_cannot_create_a_centre_in_another_region(officer_client, demo):
    response = officer_client.post(
        f"{CENTRES}add/",
        {
            "name": "Ospedale di Latina",
            "region": "120",
            "pharmacy": "",
            "designations-TOTAL_FORMS": "0",
            "designations-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "region" in response.context["adminform"].form.errors
    assert not Centre.objects.filter(name="Ospedale di Latina").exists()


def test_adding_a_centre_goes_through_the_service(officer_client, demo, milano_pharmacy):
    response = officer_client.post(
        f"{CENTRES}add/",
        {
            "name": "Ospedale di Cremona",
            "region": "030",
            "pharmacy": str(milano_pharmacy.pk),
            "designations-TOTAL_FORMS": "0",
            "designations-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    centre = Centre.objects.get(name="Ospedale di Cremona")
    event = AuditEvent.objects.get(object_type="registry.centre", object_id=str(centre.pk))
    assert (event.action, event.actor) == ("centre.create", demo["officer.lombardia"])


@pytest.mark.parametrize("model", ["centre", "centredesignation", "prescriberauthorisation", "pharmacy"])
def test_nothing_can_be_deleted(officer_client, milano, model):
    obj = {
        "centre": milano,
        "centredesignation": CentreDesignation.objects.get(centre=milano),
        "prescriberauthorisation": milano.authorisations.first(),
        "pharmacy": milano.pharmacy,
    }[model]
    before = AuditEvent.objects.count()
    assert officer_client.get(f"/admin/registry/{model}/{obj.pk}/delete/").status_code == 403
    assert officer_client.post(f"/admin/registry/{model}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert AuditEvent.objects.count() == before
    changelist = officer_client.get(f"/admin/registry/{model}/").content.decode()
    assert "delete_selected" not in changelist


def test_the_audit_trail_is_not_in_the_officers_admin(officer_client):
    assert officer_client.get("/admin/registry/auditevent/").status_code == 403


def test_renaming_a_centre_to_a_taken_name_is_a_form_error(officer_client, bergamo):
    response = officer_client.post(
        f"{CENTRES}{bergamo.pk}/change/",
        {
            "name": "Ospedale Demo Milano",
            "pharmacy": "",
            "designations-TOTAL_FORMS": "0",
            "designations-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "name" in str(response.context["adminform"].form.errors) or response.context["errors"]
    bergamo.refresh_from_db()
    assert bergamo.name == "Ospedale di Bergamo"
