"""The regional office without the Django admin (issue 18): an officer designates centres, authorises prescribers
and invites or deactivates staff of their region from pages, each change confirmed, audited, its validity shown."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from registry.audit_actions import AuditAction
from registry.calendar import rome_today
from registry.models import AuditEvent, Centre, CentreDesignation, PrescriberAuthorisation, Role
from tests.conftest import DEMO_PASSWORD

User = get_user_model()


def signed_in(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.fixture
def officer(demo):
    return signed_in(demo["officer.lombardia"])


def milano():
    return Centre.objects.get(region_id="030", name__icontains="Milano")


def test_only_officers_and_administrators_open_the_office(demo):
    for username in ("prescriber.milano", "pharmacist.milano", "nurse.milano", "aifa"):
        assert signed_in(demo[username]).get("/office/").status_code == 403, username
    assert Client().get("/office/").status_code == 302
    assert signed_in(demo["officer.lombardia"]).get("/office/").status_code == 200
    assert signed_in(demo["admin"]).get("/office/").status_code == 200


def test_the_officer_sees_only_their_region(demo, officer):
    lazio_centre = Centre.objects.filter(region_id="120").first()
    page = officer.get("/office/").content.decode()
    assert milano().name in page and lazio_centre.name not in page
    assert officer.get(reverse("office:designate", args=[lazio_centre.pk])).status_code == 404
    lazio_authorisation = PrescriberAuthorisation.objects.filter(centre__region_id="120").first()
    assert officer.get(reverse("office:authorisation_end", args=[lazio_authorisation.pk])).status_code == 404
    staff = officer.get("/office/staff/").content.decode()
    assert "prescriber.milano" in staff and "prescriber.roma" not in staff
    assert "pharmacist.roma" not in staff


def test_designating_asks_for_a_confirmation_then_writes_and_audits(demo, officer):
    centre = milano()
    url = reverse("office:designate", args=[centre.pk])
    start = rome_today() + timedelta(days=400)
    fields = {"valid_from": start.isoformat(), "valid_to": "", "act_reference": "DGR 12/2027"}
    before = CentreDesignation.objects.count()
    confirm = officer.post(url, fields)
    assert confirm.status_code == 200
    assert 'name="confirmed"' in confirm.content.decode()
    assert CentreDesignation.objects.count() == before  # nothing written before the confirmation
    done = officer.post(url, {**fields, "confirmed": "yes"})
    assert done.status_code == 302
    designation = CentreDesignation.objects.get(centre=centre, valid_from=start)
    assert designation.act_reference == "DGR 12/2027"
    assert AuditEvent.objects.filter(action=AuditAction.DESIGNATION_CREATE, object_id=str(designation.pk)).exists()
    listing = officer.get("/office/").content.decode()
    assert 'data-validity="future"' in listing


def test_a_new_centre_and_pharmacy_and_the_centres_serving_pharmacy(demo, officer):
    from registry.models import Pharmacy

    url = reverse("office:pharmacy_new")
    assert officer.post(url, {"name": "Farmacia di Bergamo"}).status_code == 200
    assert officer.post(url, {"name": "Farmacia di Bergamo", "confirmed": "yes"}).status_code == 302
    pharmacy = Pharmacy.objects.get(name="Farmacia di Bergamo")
    assert pharmacy.region_id == "030"
    assert AuditEvent.objects.filter(action=AuditAction.PHARMACY_CREATE, object_id=str(pharmacy.pk)).exists()

    url = reverse("office:centre_new")
    fields = {"name": "Ospedale di Bergamo", "pharmacy": pharmacy.pk, "confirmed": "yes"}
    assert officer.post(url, fields).status_code == 302
    centre = Centre.objects.get(name="Ospedale di Bergamo")
    assert (centre.region_id, centre.pharmacy) == ("030", pharmacy)
    # Another region's pharmacy is not offered, and refused.
    roma_pharmacy = Pharmacy.objects.filter(region_id="120").first()
    edit = reverse("office:centre_edit", args=[milano().pk])
    assert str(roma_pharmacy.pk) not in officer.get(edit).content.decode()
    refused = officer.post(edit, {"name": milano().name, "pharmacy": roma_pharmacy.pk, "confirmed": "yes"})
    assert refused.status_code == 400 and refused.context["form"].errors["pharmacy"]

    assert officer.post(edit, {"name": milano().name, "pharmacy": pharmacy.pk, "confirmed": "yes"}).status_code == 302
    assert milano().pharmacy == pharmacy
    assert AuditEvent.objects.filter(action=AuditAction.CENTRE_UPDATE, object_id=str(milano().pk)).exists()
    # An administrator chooses the region.
    admin = signed_in(demo["admin"])
    assert "region" in admin.get(reverse("office:centre_new")).context["form"].fields


def test_a_period_ending_before_it_starts_is_refused_next_to_its_field(officer):
    url = reverse("office:designate", args=[milano().pk])
    response = officer.post(url, {"valid_from": "2026-05-10", "valid_to": "2026-05-01", "confirmed": "yes"})
    assert response.status_code == 400
    assert response.context["form"].errors["valid_to"]


def test_ending_a_designation(demo, officer):
    designation = CentreDesignation.objects.filter(centre=milano(), valid_to__isnull=True).first()
    url = reverse("office:designation_end", args=[designation.pk])
    assert officer.get(url).status_code == 200
    last = rome_today() + timedelta(days=30)
    officer.post(url, {"valid_to": last.isoformat()})
    designation.refresh_from_db()
    assert designation.valid_to is None
    assert officer.post(url, {"valid_to": last.isoformat(), "confirmed": "yes"}).status_code == 302
    designation.refresh_from_db()
    assert designation.valid_to == last
    assert AuditEvent.objects.filter(action=AuditAction.DESIGNATION_END, object_id=str(designation.pk)).exists()


def test_granting_ending_and_renewing_an_authorisation(demo, officer):
    prescriber = demo["prescriber.expired"]
    centre = milano()
    grant = reverse("office:authorisation_grant")
    page = officer.get(grant).content.decode()
    assert "prescriber.expired" in page and "prescriber.roma" not in page
    start = rome_today()
    end = start + timedelta(days=90)
    fields = {"prescriber": prescriber.pk, "centre": centre.pk, "valid_from": start, "valid_to": end}
    assert officer.post(grant, fields).status_code == 200
    assert officer.post(grant, {**fields, "confirmed": "yes"}).status_code == 302
    granted = PrescriberAuthorisation.objects.get(prescriber=prescriber, valid_from=start)
    assert granted.valid_to == end and granted.granted_by == demo["officer.lombardia"]
    assert AuditEvent.objects.filter(action=AuditAction.AUTHORISATION_GRANT, object_id=str(granted.pk)).exists()

    renew = officer.get(reverse("office:authorisation_renew", args=[granted.pk]))
    assert renew.context["form"].initial["valid_from"] == end + timedelta(days=1)

    ending = reverse("office:authorisation_end", args=[granted.pk])
    assert officer.post(ending, {"valid_to": start, "confirmed": "yes"}).status_code == 302
    granted.refresh_from_db()
    assert granted.valid_to == start


def test_an_officer_cannot_grant_at_another_regions_centre(demo, officer):
    roma = Centre.objects.filter(region_id="120").first()
    fields = {
        "prescriber": demo["prescriber.milano"].pk,
        "centre": roma.pk,
        "valid_from": rome_today(),
        "confirmed": "yes",
    }
    response = officer.post(reverse("office:authorisation_grant"), fields)
    assert response.status_code == 400
    assert "centre" in response.context["form"].errors


def test_inviting_a_nurse_gives_a_one_time_link_to_a_password_then_the_second_factor(demo, officer, settings):
    url = reverse("office:staff_invite")
    fields = {"username": "nurse.new", "first_name": "Anna", "last_name": "Verdi", "role": Role.NURSE}
    fields["centre"] = milano().pk
    assert officer.post(url, fields).status_code == 200
    assert not User.objects.filter(username="nurse.new").exists()
    done = officer.post(url, {**fields, "confirmed": "yes"})
    assert done.status_code == 200
    link = done.context["link"]
    invited = User.objects.get(username="nurse.new")
    assert not invited.has_usable_password()
    assert invited.staff.role == Role.NURSE and invited.staff.centre == milano()
    assert AuditEvent.objects.filter(action=AuditAction.STAFF_INVITE, object_id=str(invited.pk)).exists()

    path = re.sub(r"^https?://[^/]+", "", link)
    settings.OTP_REQUIRED = True
    settings.OTP_EXEMPT_USERNAMES = []
    person = Client()
    assert person.get(path).status_code == 200
    short = person.post(path, {"password1": "x", "password2": "x"})
    assert short.status_code == 400
    chosen = person.post(path, {"password1": "a-long-Password-648", "password2": "a-long-Password-648"})
    assert chosen.status_code == 302
    assert chosen["Location"].startswith("/accounts/otp/setup/")
    assert person.get("/").status_code == 302  # nothing before the second factor
    assert AuditEvent.objects.filter(action=AuditAction.STAFF_INVITATION_ACCEPT, object_id=str(invited.pk)).exists()
    # One use only.
    assert Client().get(path).status_code == 404


def test_an_officer_invites_no_officer_and_no_one_outside_the_region(demo, officer):
    url = reverse("office:staff_invite")
    roma = Centre.objects.filter(region_id="120").first()
    response = officer.post(url, {"username": "x.y", "role": Role.NURSE, "centre": roma.pk, "confirmed": "yes"})
    assert response.status_code == 400
    response = officer.post(url, {"username": "x.y", "role": Role.REGIONAL_OFFICER, "confirmed": "yes"})
    assert response.status_code == 400
    assert not User.objects.filter(username="x.y").exists()


def test_deactivating_a_person_ends_their_sign_in(demo, officer):
    nurse = demo["nurse.milano"]
    url = reverse("office:staff_deactivate", args=[nurse.pk])
    assert officer.get(url).status_code == 200
    assert officer.post(url, {}).status_code == 200
    nurse.refresh_from_db()
    assert nurse.is_active
    assert officer.post(url, {"confirmed": "yes"}).status_code == 302
    nurse.refresh_from_db()
    assert not nurse.is_active
    assert AuditEvent.objects.filter(action=AuditAction.STAFF_DEACTIVATE, object_id=str(nurse.pk)).exists()
    refused = Client().post("/accounts/login/", {"username": "nurse.milano", "password": DEMO_PASSWORD})
    assert refused.status_code == 200
    # Another region's person is not even found.
    assert officer.get(reverse("office:staff_deactivate", args=[demo["nurse.milano"].pk])).status_code == 404
    roma = demo["pharmacist.roma"]
    assert officer.post(reverse("office:staff_deactivate", args=[roma.pk]), {"confirmed": "yes"}).status_code == 404


@pytest.mark.parametrize("language", ["it", "en"])
def test_every_office_page_opens_in_both_languages(demo, language):
    client = signed_in(demo["officer.lombardia"], language)
    designation = CentreDesignation.objects.filter(centre=milano()).first()
    authorisation = PrescriberAuthorisation.objects.filter(centre=milano()).first()
    for url in [
        "/office/",
        "/office/pharmacies/",
        "/office/authorisations/",
        "/office/staff/",
        reverse("office:centre_new"),
        reverse("office:centre_edit", args=[milano().pk]),
        reverse("office:pharmacy_new"),
        reverse("office:designate", args=[milano().pk]),
        reverse("office:designation_end", args=[designation.pk]),
        reverse("office:authorisation_grant"),
        reverse("office:authorisation_renew", args=[authorisation.pk]),
        reverse("office:authorisation_end", args=[authorisation.pk]),
        reverse("office:staff_invite"),
        reverse("office:staff_deactivate", args=[demo["nurse.milano"].pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Language"] == language


def _office_pages(demo):
    designation = CentreDesignation.objects.filter(centre=milano()).first()
    authorisation = PrescriberAuthorisation.objects.filter(centre=milano()).first()
    officer_pages = [
        "/office/",
        "/office/pharmacies/",
        "/office/authorisations/",
        "/office/staff/",
        reverse("office:centre_new"),
        reverse("office:centre_edit", args=[milano().pk]),
        reverse("office:pharmacy_new"),
        reverse("office:designate", args=[milano().pk]),
        reverse("office:designation_end", args=[designation.pk]),
        reverse("office:authorisation_grant"),
        reverse("office:authorisation_renew", args=[authorisation.pk]),
        reverse("office:authorisation_end", args=[authorisation.pk]),
        reverse("office:staff_invite"),
        reverse("office:staff_deactivate", args=[demo["nurse.milano"].pk]),
    ]
    aifa_pages = ["/prescriptions/shortages/", "/prescriptions/shortages/new/", "/prescriptions/criteria/", "/"]
    return [("officer.lombardia", url) for url in [*officer_pages, "/"]] + [("aifa", url) for url in aifa_pages]


def test_the_office_and_aifa_pages_have_no_english_and_no_iso_date_in_italian(demo):
    from tests.test_pages_i18n import ENGLISH, ISO_DATE, visible_text

    for username, url in _office_pages(demo):
        client = signed_in(demo[username], "it")
        client.cookies["django_language"] = "it"
        response = client.get(url)
        assert response.status_code == 200, url
        text = visible_text(response.content.decode())
        assert [chunk for chunk in text if ENGLISH.search(chunk)] == [], url
        assert [chunk for chunk in text if ISO_DATE.search(chunk)] == [], url


def test_a_taken_username_and_deactivating_oneself_are_refused_in_words(demo, officer):
    taken = officer.post(
        reverse("office:staff_invite"),
        {"username": "nurse.milano", "role": Role.NURSE, "centre": milano().pk, "confirmed": "yes"},
    )
    assert taken.status_code == 400 and taken.context["form"].errors["username"]
    myself = demo["officer.lombardia"]
    response = officer.post(reverse("office:staff_deactivate", args=[myself.pk]), {"confirmed": "yes"})
    assert response.status_code == 400 and response.context["error"]
    myself.refresh_from_db()
    assert myself.is_active


def test_a_used_or_forged_invitation_link_is_a_plain_page(demo):
    response = Client().get(reverse("invitation-accept", args=["MQ", "not-a-token"]))
    assert response.status_code == 404
    assert "invitation" in response.content.decode().lower() or "invito" in response.content.decode().lower()
    # An account that already has a password is never invited again by a link.
    from registry.auth.invitations import invitation_link_parts

    uidb64, token = invitation_link_parts(demo["nurse.milano"])
    assert Client().get(reverse("invitation-accept", args=[uidb64, token])).status_code == 404


def test_a_pharmacy_serving_no_centre_says_so_in_italian(demo, officer):
    # The audit: "none", English, under "Centri serviti".
    from registry.models import Pharmacy

    Pharmacy.objects.create(region_id="030", name="Farmacia Ospedaliera Nuova")
    officer.cookies["django_language"] = "it"
    html = officer.get(reverse("office:pharmacies")).content.decode()
    row = html[html.index("Farmacia Ospedaliera Nuova") :]
    row = row[: row.index("</tr>")]
    assert "nessun centro" in row and "none" not in row
