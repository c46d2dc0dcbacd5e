"""AIFA's pages (issue 18): the tocilizumab shortage periods, recorded and changed with a confirmation and audited,
and the criteria versions in force, read only."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from prescriptions.models import TocilizumabShortage
from registry.audit_actions import AuditAction
from registry.models import AuditEvent


def signed_in(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def test_only_aifa_and_administrators_manage_shortages(demo):
    for username in ("prescriber.milano", "pharmacist.milano", "officer.lombardia"):
        client = signed_in(demo[username])
        assert client.get("/prescriptions/shortages/").status_code == 403, username
        assert client.post("/prescriptions/shortages/new/", {}).status_code == 403, username
    assert signed_in(demo["aifa"]).get("/prescriptions/shortages/").status_code == 200
    assert signed_in(demo["admin"]).get("/prescriptions/shortages/").status_code == 200


def test_recording_a_shortage_is_confirmed_then_audited(demo):
    client = signed_in(demo["aifa"])
    fields = {"starts_on": "2027-01-10", "ends_on": "2027-03-31", "aifa_reference": "Carenze AIFA 01/2027"}
    confirm = client.post("/prescriptions/shortages/new/", fields)
    assert confirm.status_code == 200 and 'name="confirmed"' in confirm.content.decode()
    assert not TocilizumabShortage.objects.filter(aifa_reference="Carenze AIFA 01/2027").exists()
    assert client.post("/prescriptions/shortages/new/", {**fields, "confirmed": "yes"}).status_code == 302
    shortage = TocilizumabShortage.objects.get(aifa_reference="Carenze AIFA 01/2027")
    assert shortage.ends_on == date(2027, 3, 31)
    assert AuditEvent.objects.filter(action=AuditAction.SHORTAGE_RECORD, object_id=str(shortage.pk)).exists()
    listing = client.get("/prescriptions/shortages/").content.decode()
    assert f'data-shortage="{shortage.pk}"' in listing


def test_ending_a_shortage(demo):
    client = signed_in(demo["aifa"])
    shortage = TocilizumabShortage.objects.first()
    url = reverse("prescriptions:shortage_edit", args=[shortage.pk])
    assert client.get(url).status_code == 200
    fields = {"starts_on": shortage.starts_on, "ends_on": "2030-12-31", "aifa_reference": shortage.aifa_reference}
    assert client.post(url, {**fields, "confirmed": "yes"}).status_code == 302
    shortage.refresh_from_db()
    assert shortage.ends_on == date(2030, 12, 31)
    assert AuditEvent.objects.filter(action=AuditAction.SHORTAGE_UPDATE, object_id=str(shortage.pk)).exists()
    backwards = client.post(url, {**fields, "ends_on": "2000-01-01", "confirmed": "yes"})
    assert backwards.status_code == 400 and backwards.context["form"].errors["ends_on"]


@pytest.mark.parametrize("language", ["it", "en"])
def test_the_criteria_versions_in_force(demo, language):
    page = signed_in(demo["aifa"], language).get("/prescriptions/criteria/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-criteria-version="L648-2021-10"' in html
    assert 'data-validity="current"' in html
    assert signed_in(demo["prescriber.milano"]).get("/prescriptions/criteria/").status_code == 403
