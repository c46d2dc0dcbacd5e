"""Who may prescribe where and when, and who manages a region."""

from datetime import date, timedelta

import pytest
from django.utils import timezone, translation

from registry import services
from registry.models import CentreDesignation, Role
from registry.permissions import PermissionDenied, ensure_manages_region, ensure_may_prescribe_at

PROGRAMME_START = date(2021, 10, 1)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def english_day(day: date) -> str:
    """A day as the English pages write it (SHORT_DATE_FORMAT "d M Y"): 09 Jan 2022."""
    return f"{day.day:02d} {MONTHS[day.month - 1]} {day.year}"


@pytest.fixture(autouse=True)
def english():
    """These tests assert the English messages; the default language is Italian."""
    with translation.override("en"):
        yield


def test_a_prescriber_may_prescribe_at_their_designated_centre_today(demo, milano):
    ensure_may_prescribe_at(demo["prescriber.milano"], milano, timezone.localdate())
    ensure_may_prescribe_at(demo["prescriber.milano"], milano, PROGRAMME_START)


def test_not_before_the_authorisation_starts(demo, milano):
    with pytest.raises(PermissionDenied, match=r"not authorised to prescribe at Ospedale Demo Milano"):
        ensure_may_prescribe_at(demo["prescriber.milano"], milano, PROGRAMME_START - timedelta(days=1))


def test_an_authorisation_starting_later_than_the_designation(demo, milano):
    officer = demo["officer.lombardia"]
    newcomer = services.staff_create(
        actor=officer, username="dr.neri", password=None, role=Role.PRESCRIBER, centre=milano
    )
    services.prescriber_authorise(actor=officer, prescriber=newcomer, centre=milano, valid_from=date(2022, 1, 10))

    with pytest.raises(PermissionDenied, match="09 Jan 2022"):
        ensure_may_prescribe_at(newcomer, milano, date(2022, 1, 9))
    ensure_may_prescribe_at(newcomer, milano, date(2022, 1, 10))


def test_an_authorisation_that_ended_yesterday(demo, milano):
    expired = demo["prescriber.expired"]
    today = timezone.localdate()
    with pytest.raises(PermissionDenied, match=english_day(today)) as refused:
        ensure_may_prescribe_at(expired, milano, today)
    assert "not authorised" in str(refused.value)
    # Its last day and any day inside its period are fine.
    ensure_may_prescribe_at(expired, milano, today - timedelta(days=1))
    ensure_may_prescribe_at(expired, milano, date(2021, 11, 3))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("it", "Non è abilitato/a a prescrivere presso Ospedale Demo Milano il 08/12/2099."),
        ("en", "You are not authorised to prescribe at Ospedale Demo Milano on 08 Dec 2099."),
    ],
    ids=["it", "en"],
)
def test_an_expired_authorisation_is_refused_with_the_day_as_the_reader_writes_it(demo, milano, language, expected):
    # The audit read "… il 2026-12-08.": the day was the date object's ISO text. (Its authorisation ended
    # yesterday: any later day is refused.)
    with translation.override(language), pytest.raises(PermissionDenied) as refused:
        ensure_may_prescribe_at(demo["prescriber.expired"], milano, date(2099, 12, 8))
    assert str(refused.value) == expected


def test_not_once_the_centres_designation_has_ended(demo, milano):
    designation = CentreDesignation.objects.get(centre=milano)
    services.designation_end(actor=demo["officer.lombardia"], designation=designation, valid_to=date(2022, 6, 30))

    ensure_may_prescribe_at(demo["prescriber.milano"], milano, date(2022, 6, 30))
    with pytest.raises(PermissionDenied, match=r"not designated by its Region.*01 Jul 2022"):
        ensure_may_prescribe_at(demo["prescriber.milano"], milano, date(2022, 7, 1))


def test_not_before_the_centre_is_designated(demo, lombardia):
    officer = demo["officer.lombardia"]
    centre = services.centre_create(actor=officer, region=lombardia, name="Ospedale di Como")
    prescriber = demo["prescriber.milano"]
    services.prescriber_authorise(actor=officer, prescriber=prescriber, centre=centre, valid_from=PROGRAMME_START)

    with pytest.raises(PermissionDenied, match="not designated"):
        ensure_may_prescribe_at(prescriber, centre, date(2021, 11, 3))
    services.centre_designate(actor=officer, centre=centre, valid_from=date(2021, 11, 3))
    ensure_may_prescribe_at(prescriber, centre, date(2021, 11, 3))


def test_not_at_a_centre_where_they_are_not_authorised(demo, roma):
    with pytest.raises(PermissionDenied, match="Ospedale Demo Roma"):
        ensure_may_prescribe_at(demo["prescriber.milano"], roma, timezone.localdate())


@pytest.mark.parametrize("username", ["nurse.milano", "pharmacist.milano", "officer.lombardia", "aifa"])
def test_only_prescribers_prescribe(demo, milano, username):
    with pytest.raises(PermissionDenied, match="prescriber"):
        ensure_may_prescribe_at(demo[username], milano, timezone.localdate())


def test_an_officer_manages_their_own_region(demo):
    actor = ensure_manages_region(demo["officer.lombardia"], "030")
    assert actor.region_id == "030"
    ensure_manages_region(demo["admin"], "120")


def test_an_officer_of_another_region_is_refused(demo):
    with pytest.raises(PermissionDenied, match="your own region"):
        ensure_manages_region(demo["officer.lazio"], "030")


@pytest.mark.parametrize("username", ["nurse.milano", "prescriber.milano", "pharmacist.milano", "aifa"])
def test_other_roles_manage_no_region(demo, username):
    with pytest.raises(PermissionDenied, match="regional officer"):
        ensure_manages_region(demo[username], "030")


def test_the_day_permissions_judge_is_the_rome_day_whatever_the_process_time_zone(settings):
    """23:30 UTC on New Year's Eve is already 1 January in Rome: an authorisation starting that day is in force."""
    from datetime import UTC, datetime
    from unittest import mock

    from registry import permissions

    settings.TIME_ZONE = "UTC"
    with mock.patch("django.utils.timezone.now", return_value=datetime(2025, 12, 31, 23, 30, tzinfo=UTC)):
        assert permissions.today() == date(2026, 1, 1)
