"""The organisation's writes: who may make them and which inputs they refuse, with the field named."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

from registry import services
from registry.errors import InvalidInput
from registry.models import (
    AuditEvent,
    Centre,
    CentreDesignation,
    Pharmacy,
    PrescriberAuthorisation,
    Role,
    StaffProfile,
)
from registry.permissions import PermissionDenied


@pytest.fixture(autouse=True)
def english():
    """These tests assert the English messages; the default language is Italian."""
    with translation.override("en"):
        yield


User = get_user_model()


def counts():
    return tuple(
        model.objects.count()
        for model in (Centre, Pharmacy, CentreDesignation, PrescriberAuthorisation, User, AuditEvent)
    )


# --- An officer acts in their own region only ------------------------------------------


def test_an_officer_creates_in_their_own_region(demo, lombardia):
    officer = demo["officer.lombardia"]
    pharmacy = services.pharmacy_create(actor=officer, region=lombardia, name="Farmacia di Lodi")
    centre = services.centre_create(actor=officer, region=lombardia, name="Ospedale di Lodi", pharmacy=pharmacy)
    designation = services.centre_designate(actor=officer, centre=centre, valid_from=date(2021, 10, 1))
    authorisation = services.prescriber_authorise(
        actor=officer, prescriber=demo["prescriber.milano"], centre=centre, valid_from=date(2021, 10, 1)
    )
    assert centre.pharmacy == pharmacy
    assert designation.designated_by == officer
    assert authorisation.granted_by == officer


@pytest.mark.parametrize(
    "write",
    [
        lambda d: services.pharmacy_create(actor=d["officer"], region=d["lazio"], name="Farmacia di Latina"),
        lambda d: services.centre_create(actor=d["officer"], region=d["lazio"], name="Ospedale di Latina"),
        lambda d: services.centre_update(actor=d["officer"], centre=d["roma"], name="Ospedale X", pharmacy=None),
        lambda d: services.centre_designate(actor=d["officer"], centre=d["roma"], valid_from=date(2022, 1, 1)),
        lambda d: services.designation_end(
            actor=d["officer"],
            designation=CentreDesignation.objects.get(centre=d["roma"]),
            valid_to=date(2022, 1, 1),
        ),
        lambda d: services.prescriber_authorise(
            actor=d["officer"], prescriber=d["prescriber.milano"], centre=d["roma"], valid_from=date(2022, 1, 1)
        ),
        lambda d: services.authorisation_end(
            actor=d["officer"],
            authorisation=PrescriberAuthorisation.objects.get(centre=d["roma"]),
            valid_to=date(2022, 1, 1),
        ),
        lambda d: services.staff_create(
            actor=d["officer"], username="nurse.roma", password=None, role=Role.NURSE, centre=d["roma"]
        ),
    ],
    ids=[
        "pharmacy_create",
        "centre_create",
        "centre_update",
        "centre_designate",
        "designation_end",
        "prescriber_authorise",
        "authorisation_end",
        "staff_create",
    ],
)
def test_an_officer_of_lombardia_cannot_act_in_lazio(demo, lazio, roma, write):
    before = counts()
    with pytest.raises(PermissionDenied, match="own region"):
        write({**demo, "officer": demo["officer.lombardia"], "lazio": lazio, "roma": roma})
    assert counts() == before
    roma.refresh_from_db()
    assert roma.name == "Ospedale Demo Roma"
    assert CentreDesignation.objects.get(centre=roma).valid_to is None


def test_a_nurse_cannot_create_a_centre(demo, lombardia):
    with pytest.raises(PermissionDenied):
        services.centre_create(actor=demo["nurse.milano"], region=lombardia, name="Ospedale Y")


# --- Periods ---------------------------------------------------------------------------


def test_a_designation_cannot_end_before_it_starts(demo, milano):
    with pytest.raises(InvalidInput) as refused:
        services.centre_designate(
            actor=demo["officer.lombardia"], centre=milano, valid_from=date(2022, 2, 1), valid_to=date(2022, 1, 31)
        )
    assert list(refused.value.errors) == ["valid_to"]


def test_a_one_day_period_is_fine(demo, milano):
    designation = services.centre_designate(
        actor=demo["officer.lombardia"], centre=milano, valid_from=date(2022, 2, 1), valid_to=date(2022, 2, 1)
    )
    assert designation.valid_to == designation.valid_from


def test_ending_a_designation_before_its_start_is_refused(demo, milano):
    designation = CentreDesignation.objects.get(centre=milano)
    with pytest.raises(InvalidInput) as refused:
        services.designation_end(actor=demo["officer.lombardia"], designation=designation, valid_to=date(2021, 9, 30))
    assert list(refused.value.errors) == ["valid_to"]
    designation.refresh_from_db()
    assert designation.valid_to is None


def test_an_authorisation_cannot_end_before_it_starts(demo, milano):
    officer = demo["officer.lombardia"]
    with pytest.raises(InvalidInput) as refused:
        services.prescriber_authorise(
            actor=officer,
            prescriber=demo["prescriber.roma"],
            centre=milano,
            valid_from=date(2022, 1, 2),
            valid_to=date(2022, 1, 1),
        )
    assert list(refused.value.errors) == ["valid_to"]
    authorisation = PrescriberAuthorisation.objects.get(prescriber=demo["prescriber.milano"])
    with pytest.raises(InvalidInput) as refused:
        services.authorisation_end(actor=officer, authorisation=authorisation, valid_to=date(2021, 9, 1))
    assert list(refused.value.errors) == ["valid_to"]


@pytest.mark.parametrize("username", ["nurse.milano", "pharmacist.milano", "officer.lombardia", "aifa"])
def test_only_a_prescriber_can_be_authorised(demo, milano, username):
    before = counts()
    with pytest.raises(InvalidInput) as refused:
        services.prescriber_authorise(
            actor=demo["officer.lombardia"], prescriber=demo[username], centre=milano, valid_from=date(2022, 1, 1)
        )
    assert list(refused.value.errors) == ["prescriber"]
    assert counts() == before


# --- Places must match -----------------------------------------------------------------


def test_a_pharmacy_of_another_region_cannot_serve_a_centre(demo, lombardia, roma_pharmacy):
    with pytest.raises(InvalidInput) as refused:
        services.centre_create(actor=demo["admin"], region=lombardia, name="Ospedale di Pavia", pharmacy=roma_pharmacy)
    assert list(refused.value.errors) == ["pharmacy"]


def test_a_second_centre_with_the_same_name_in_a_region_is_refused(demo, lombardia):
    with pytest.raises(InvalidInput) as refused:
        services.centre_create(actor=demo["officer.lombardia"], region=lombardia, name="Ospedale Demo Milano")
    assert list(refused.value.errors) == ["name"]
    with pytest.raises(InvalidInput) as refused:
        services.pharmacy_create(
            actor=demo["officer.lombardia"], region=lombardia, name="Farmacia Ospedaliera Demo Milano"
        )
    assert list(refused.value.errors) == ["name"]


def test_renaming_a_centre_to_a_name_taken_in_its_region_is_invalid_input(demo, lombardia):
    officer = demo["officer.lombardia"]
    bergamo = services.centre_create(actor=officer, region=lombardia, name="Ospedale di Bergamo")
    with pytest.raises(InvalidInput) as refused:
        services.centre_update(actor=officer, centre=bergamo, name="Ospedale Demo Milano", pharmacy=None)
    assert list(refused.value.errors) == ["name"]


def test_renaming_a_pharmacy_to_a_name_taken_in_its_region_is_invalid_input(demo, lombardia):
    officer = demo["officer.lombardia"]
    other = services.pharmacy_create(actor=officer, region=lombardia, name="Farmacia di Bergamo")
    with pytest.raises(InvalidInput) as refused:
        services.pharmacy_update(actor=officer, pharmacy=other, name="Farmacia Ospedaliera Demo Milano")
    assert list(refused.value.errors) == ["name"]


# --- Staff -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, place, field",
    [
        (Role.NURSE, {}, "centre"),
        (Role.PHARMACIST, {}, "pharmacy"),
        (Role.REGIONAL_OFFICER, {}, "region"),
        (Role.PHARMACIST, {"pharmacy": "milano_pharmacy", "centre": "milano"}, "centre"),
        (Role.NURSE, {"centre": "milano", "region": "lombardia"}, "region"),
        (Role.REGIONAL_OFFICER, {"region": "lombardia", "pharmacy": "milano_pharmacy"}, "pharmacy"),
        (Role.PRESCRIBER, {"pharmacy": "milano_pharmacy"}, "pharmacy"),
        (Role.NATIONAL, {"region": "lombardia"}, "region"),
        (Role.ADMINISTRATOR, {"centre": "milano"}, "centre"),
        ("surgeon", {"centre": "milano"}, "role"),
    ],
)
def test_staff_role_and_place_must_match(demo, milano, milano_pharmacy, lombardia, role, place, field):
    places = {"milano": milano, "milano_pharmacy": milano_pharmacy, "lombardia": lombardia}
    before = counts()
    with pytest.raises(InvalidInput) as refused:
        services.staff_create(
            actor=demo["admin"],
            username="new.user",
            password=None,
            role=role,
            **{key: places[value] for key, value in place.items()},
        )
    assert list(refused.value.errors) == [field]
    assert counts() == before


@pytest.mark.parametrize("role", [Role.REGIONAL_OFFICER, Role.NATIONAL, Role.ADMINISTRATOR])
def test_an_officer_cannot_create_officers_national_or_administrators(demo, lombardia, role):
    place = {"region": lombardia} if role == Role.REGIONAL_OFFICER else {}
    with pytest.raises(InvalidInput) as refused:
        services.staff_create(actor=demo["officer.lombardia"], username="new.user", password=None, role=role, **place)
    assert list(refused.value.errors) == ["role"]
    assert not User.objects.filter(username="new.user").exists()


def test_an_officer_creates_staff_of_their_region(demo, milano, milano_pharmacy):
    officer = demo["officer.lombardia"]
    nurse = services.staff_create(
        actor=officer, username="nurse.verdi", password="una-password-lunga", role=Role.NURSE, centre=milano
    )
    pharmacist = services.staff_create(
        actor=officer, username="pharm.verdi", password=None, role=Role.PHARMACIST, pharmacy=milano_pharmacy
    )
    assert nurse.check_password("una-password-lunga")
    assert not pharmacist.has_usable_password()
    assert (nurse.staff.role, nurse.staff.centre) == (Role.NURSE, milano)
    assert list(nurse.groups.values_list("name", flat=True)) == ["nurse"]
    assert not nurse.is_staff
    assert pharmacist.staff.pharmacy == milano_pharmacy


def test_an_administrator_creates_a_regional_officer_with_admin_access(demo, lombardia):
    officer = services.staff_create(
        actor=demo["admin"], username="officer.two", password=None, role=Role.REGIONAL_OFFICER, region=lombardia
    )
    assert officer.is_staff and not officer.is_superuser
    assert StaffProfile.objects.get(user=officer).region == lombardia


def test_a_duplicate_username_is_refused(demo, milano):
    before = counts()
    with pytest.raises(InvalidInput) as refused:
        services.staff_create(
            actor=demo["admin"], username="nurse.milano", password=None, role=Role.NURSE, centre=milano
        )
    assert list(refused.value.errors) == ["username"]
    assert counts() == before
