"""The national role records tocilizumab shortage periods in the admin; each change is audited."""

from prescriptions.models import TocilizumabShortage
from registry.models import AuditEvent

ADD_URL = "/admin/prescriptions/tocilizumabshortage/add/"


def test_aifa_records_a_shortage_period_through_the_service(client, demo):
    client.force_login(demo["aifa"])
    response = client.post(
        ADD_URL, {"starts_on": "2022-03-01", "ends_on": "2022-06-30", "aifa_reference": "Comunicato AIFA demo"}
    )
    assert response.status_code == 302
    shortage = TocilizumabShortage.objects.get(aifa_reference="Comunicato AIFA demo")
    event = AuditEvent.objects.get(object_id=str(shortage.pk))
    assert event.action == "shortage.record"
    assert event.actor_username == "aifa"


def test_an_end_before_the_start_is_a_form_error(client, demo):
    client.force_login(demo["aifa"])
    response = client.post(ADD_URL, {"starts_on": "2022-03-01", "ends_on": "2022-02-01", "aifa_reference": "x"})
    assert response.status_code == 200
    assert not TocilizumabShortage.objects.filter(aifa_reference="x").exists()


def test_a_regional_officer_cannot_manage_shortages(client, demo):
    client.force_login(demo["officer.lombardia"])
    assert client.get(ADD_URL).status_code == 403
