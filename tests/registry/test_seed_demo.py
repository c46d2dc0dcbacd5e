"""manage.py seed_demo: the demo of API.md, exactly, and only where it is safe."""

import io
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from prescriptions.models import TocilizumabShortage
from registry.models import AuditEvent, CentreDesignation, PrescriberAuthorisation, Region, StaffProfile
from tests.conftest import DEMO_PASSWORD

User = get_user_model()

# DOMAIN.md, "Regions (Ministry of Health codes)".
REGIONS = {
    "010": "Piemonte",
    "020": "Valle d'Aosta",
    "030": "Lombardia",
    "041": "P.A. Bolzano",
    "042": "P.A. Trento",
    "050": "Veneto",
    "060": "Friuli Venezia Giulia",
    "070": "Liguria",
    "080": "Emilia-Romagna",
    "090": "Toscana",
    "100": "Umbria",
    "110": "Marche",
    "120": "Lazio",
    "130": "Abruzzo",
    "140": "Molise",
    "150": "Campania",
    "160": "Puglia",
    "170": "Basilicata",
    "180": "Calabria",
    "190": "Sicilia",
    "200": "Sardegna",
}

# API.md, "Demo data": username -> (role, centre, pharmacy, region)
USERS = {
    "prescriber.milano": ("prescriber", "Ospedale Demo Milano", None, None),
    "prescriber.roma": ("prescriber", "Ospedale Demo Roma", None, None),
    "prescriber.expired": ("prescriber", "Ospedale Demo Milano", None, None),
    "pharmacist.milano": ("pharmacist", None, "Farmacia Ospedaliera Demo Milano", None),
    "pharmacist.roma": ("pharmacist", None, "Farmacia Ospedaliera Demo Roma", None),
    "nurse.milano": ("nurse", "Ospedale Demo Milano", None, None),
    "officer.lombardia": ("regional_officer", None, None, "030"),
    "officer.lazio": ("regional_officer", None, None, "120"),
    "aifa": ("national", None, None, None),
    "admin": ("administrator", None, None, None),
}


def seed(**options):
    call_command("seed_demo", stdout=io.StringIO(), **options)


def row_counts():
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_exactly_the_demo_users_with_their_roles_and_places(demo):
    assert set(demo) == set(USERS)
    for username, (role, centre, pharmacy, region) in USERS.items():
        profile = StaffProfile.objects.select_related("centre", "pharmacy").get(user__username=username)
        assert profile.role == role, username
        assert (profile.centre.name if profile.centre else None) == centre, username
        assert (profile.pharmacy.name if profile.pharmacy else None) == pharmacy, username
        assert profile.region_id == region, username
        assert profile.user.check_password(DEMO_PASSWORD), username
        assert list(profile.user.groups.values_list("name", flat=True)) == [role], username
    assert demo["admin"].is_superuser
    assert [u.username for u in User.objects.filter(is_superuser=True)] == ["admin"]


def test_each_pharmacy_serves_its_citys_centre(milano, roma, milano_pharmacy, roma_pharmacy):
    assert (milano.region_id, milano.pharmacy) == ("030", milano_pharmacy)
    assert (roma.region_id, roma.pharmacy) == ("120", roma_pharmacy)


def test_designations_and_authorisations_start_on_1_october_2021(demo, milano, roma):
    designations = CentreDesignation.objects.order_by("centre__name")
    assert [(d.centre, d.valid_from, d.valid_to) for d in designations] == [
        (milano, date(2021, 10, 1), None),
        (roma, date(2021, 10, 1), None),
    ]
    authorisations = {
        a.prescriber.username: (a.centre, a.valid_from, a.valid_to)
        for a in PrescriberAuthorisation.objects.select_related("prescriber")
    }
    yesterday = timezone.localdate() - timedelta(days=1)
    assert authorisations == {
        "prescriber.milano": (milano, date(2021, 10, 1), None),
        "prescriber.roma": (roma, date(2021, 10, 1), None),
        "prescriber.expired": (milano, date(2021, 10, 1), yesterday),
    }


def test_the_tocilizumab_shortage_runs_from_5_october_2021_with_no_end(demo):
    (shortage,) = TocilizumabShortage.objects.all()
    assert (shortage.starts_on, shortage.ends_on) == (date(2021, 10, 5), None)
    assert "114586" in shortage.aifa_reference


def test_all_21_regions_with_their_codes(demo):
    assert dict(Region.objects.values_list("code", "name")) == REGIONS


def test_every_demo_row_is_audited_by_its_author(demo):
    actions = {}
    for event in AuditEvent.objects.all():
        actions.setdefault(event.action, []).append(event.actor_username)
    assert set(actions["staff.create"]) == {"admin"}
    created = AuditEvent.objects.filter(action="staff.create").values_list("changes__username", flat=True)
    assert sorted(created) == sorted(set(USERS) - {"admin"})
    assert sorted(actions["designation.create"]) == ["officer.lazio", "officer.lombardia"]
    assert sorted(actions["centre.create"]) == ["officer.lazio", "officer.lombardia"]
    assert actions["shortage.record"] == ["aifa"]
    assert len(actions["authorisation.grant"]) == 3
    assert actions["staff.bootstrap"] == [""]


def test_a_second_run_changes_nothing(demo):
    before = row_counts()
    events = list(AuditEvent.objects.values_list("entry_hash", flat=True))
    seed(force=True)
    assert row_counts() == before
    assert list(AuditEvent.objects.values_list("entry_hash", flat=True)) == events


def test_refused_with_debug_off_unless_forced(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        seed()
    assert not User.objects.exists()
    assert not AuditEvent.objects.exists()
    seed(force=True)
    assert User.objects.count() == len(USERS)


def test_runs_without_force_when_debug_is_on(db, settings):
    settings.DEBUG = True
    seed()
    assert User.objects.count() == len(USERS)


# --- The demo with history (seed_demo --history, used by `make run`) --------------------------------------


@pytest.fixture
def history(demo):
    seed(force=True, history=True)


def test_history_tells_every_stage_in_both_regions(history):
    from collections import Counter

    from prescriptions.models import Prescription

    by_region = Counter(Prescription.objects.values_list("centre__region_id", "status"))
    for region in ("030", "120"):
        for status in ("rejected", "in_course", "completed", "stopped"):
            assert by_region[(region, status)] >= 1, (region, status)
    assert by_region[("030", "awaiting_dispensing")] >= 1  # work for the pharmacist
    assert by_region[("030", "dispensed")] >= 1  # a first dose due for the nurse


def test_history_has_missed_days_outcomes_adverse_events_and_one_neutropenia(history):
    from prescriptions.models import AdverseEvent, Outcome, Prescription, PrescriptionStatus
    from prescriptions.selectors import prescription_view

    assert Outcome.objects.filter(day=28).count() >= 2
    assert Outcome.objects.filter(day=14).count() >= 3
    stopped = Prescription.objects.filter(status=PrescriptionStatus.STOPPED, stop_reason="adverse_event")
    assert stopped.count() == 2
    assert AdverseEvent.objects.filter(prescription__in=stopped).count() == 2
    officer = User.objects.get(username="officer.lombardia")
    codes = []
    for prescription in Prescription.objects.filter(status=PrescriptionStatus.IN_COURSE, centre__region_id="030"):
        codes += [alert.code for alert in prescription_view(user=officer, prescription_id=prescription.pk).alerts]
    assert "MISSED_DOSE" in codes
    assert codes.count("NEUTROPENIA") == 1  # two low counts, one alert


def test_history_is_made_through_the_services_and_audited(history):
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "prescription.submit",
        "prescription.dispense",
        "prescription.administer",
        "prescription.stop",
        "prescription.adverse_event",
        "prescription.lab_result",
        "prescription.outcome",
    } <= actions


def test_history_is_made_once(history):
    before = row_counts()
    seed(force=True, history=True)
    assert row_counts() == before


def test_seeding_with_in_process_tasks_logs_no_warning(db, caplog, django_capture_on_commit_callbacks, settings):
    from kombu import Connection

    with caplog.at_level("WARNING"):
        # The connection a fresh `make run` opens for its first in-process task (kombu warns if it names no host).
        Connection(settings.CELERY_BROKER_URL).info()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            seed(force=True, history=True)
    assert callbacks  # the tasks were queued, and ran in-process
    assert [record.getMessage() for record in caplog.records if record.levelno >= 30] == []


@pytest.mark.parametrize("rome_clock", ["00:00:30", "00:05:00", "00:29:00", "00:45:00", "13:10:00", "23:59:00"])
def test_todays_moments_are_never_in_the_future_even_just_after_midnight(monkeypatch, rome_clock):
    """The history's moments of today come before now, on today's date, in the order of their hours, whatever the
    time of day: at 00:00–00:30 in Rome (23:00–23:30 UTC) the hours not yet come went to 00:hour, after now, and
    the demo's history was refused ("a prescription cannot be dated in the future"), in CI and in `make run`."""
    from datetime import datetime, time

    from prescriptions.management.commands import seed_demo
    from registry.calendar import REGISTRY_TIME_ZONE

    now = datetime.combine(date(2026, 12, 8), time.fromisoformat(rome_clock), tzinfo=REGISTRY_TIME_ZONE)
    monkeypatch.setattr(timezone, "now", lambda: now)
    moments = [seed_demo._at(0, hour) for hour in range(24)]
    assert all(moment <= now for moment in moments), [m.isoformat() for m in moments if m > now]
    assert {moment.astimezone(REGISTRY_TIME_ZONE).date() for moment in moments} == {date(2026, 12, 8)}
    assert moments == sorted(moments) and len(set(moments)) == 24
    # Past days keep their hour.
    assert seed_demo._at(1, 8) == datetime(2026, 12, 7, 8, tzinfo=REGISTRY_TIME_ZONE)


def test_the_history_is_made_five_minutes_after_midnight(db, monkeypatch):
    """`seed_demo --history` at 00:05 in Rome (what CI met at 23:00 UTC): every story is told, none dated after now."""
    from datetime import datetime, time

    from prescriptions.models import Administration, Prescription
    from registry.calendar import REGISTRY_TIME_ZONE, rome_today

    now = datetime.combine(rome_today(), time(0, 5), tzinfo=REGISTRY_TIME_ZONE)
    monkeypatch.setattr(timezone, "now", lambda: now)
    seed(force=True, history=True)
    assert Prescription.objects.filter(prescribed_at__date__gte=now.date()).exists()
    assert not Prescription.objects.filter(prescribed_at__gt=now).exists()
    assert not Administration.objects.filter(administered_at__gt=now).exists()
