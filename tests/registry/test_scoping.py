"""Who sees which centres and regions: permissions, selectors and the API agree, for every demo user."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from registry import services
from registry.models import Centre, Region
from registry.permissions import centre_scope, region_scope, sees_patients, visible_centres

ALL_REGIONS = {
    "010", "020", "030", "041", "042", "050", "060", "070", "080", "090", "100",
    "110", "120", "130", "140", "150", "160", "170", "180", "190", "200",
}  # fmt: skip
NAMES = {
    "Ospedale Demo Milano": "milano",
    "Ospedale Demo Roma": "roma",
    "Ospedale di Bergamo": "bergamo",
    "Ospedale di Padova": "padova",
}
ALL_CENTRES = set(NAMES.values())

# user: (centres whose patients they may see, centres they may list, regions they may read)
EXPECTED = {
    "prescriber.milano": ({"milano"}, {"milano"}, {"030"}),
    "prescriber.roma": ({"roma"}, {"roma"}, {"120"}),
    "prescriber.expired": (set(), set(), set()),
    "pharmacist.milano": ({"milano"}, {"milano"}, {"030"}),
    "pharmacist.roma": ({"roma"}, {"roma"}, {"120"}),
    "nurse.milano": ({"milano"}, {"milano"}, {"030"}),
    "officer.lombardia": ({"milano", "bergamo"}, {"milano", "bergamo"}, {"030"}),
    "officer.lazio": ({"roma"}, {"roma"}, {"120"}),
    "aifa": (set(), ALL_CENTRES, ALL_REGIONS),
    "admin": (ALL_CENTRES, ALL_CENTRES, ALL_REGIONS),
}


@pytest.fixture
def centres(demo, lombardia):
    """The demo centres plus one more in Lombardia (its own pharmacy) and one in Veneto."""
    officer = demo["officer.lombardia"]
    bergamo_pharmacy = services.pharmacy_create(actor=officer, region=lombardia, name="Farmacia di Bergamo")
    services.centre_create(actor=officer, region=lombardia, name="Ospedale di Bergamo", pharmacy=bergamo_pharmacy)
    services.centre_create(actor=demo["admin"], region=Region.objects.get(code="050"), name="Ospedale di Padova")
    return {NAMES[centre.name]: centre for centre in Centre.objects.all()}


def short(queryset_or_names):
    names = [getattr(item, "name", item) for item in queryset_or_names]
    assert len(names) == len(set(names)), f"listed twice: {names}"
    return {NAMES[name] for name in names}


@pytest.mark.parametrize("username", EXPECTED)
def test_permission_scopes(centres, demo, username):
    patients_of, listed, regions = EXPECTED[username]
    user = demo[username]
    assert short(centre_scope(user)) == patients_of
    assert short(visible_centres(user)) == listed
    region_codes = list(region_scope(user).values_list("code", flat=True))
    assert len(region_codes) == len(set(region_codes))
    assert set(region_codes) == regions


@pytest.mark.parametrize("username", EXPECTED)
def test_api_centre_list(centres, client_for, username):
    response = client_for(username).get("/api/v1/centres/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(EXPECTED[username][1])
    assert short(row["name"] for row in body["results"]) == EXPECTED[username][1]


@pytest.mark.parametrize("username", EXPECTED)
def test_api_centre_detail_is_404_outside_scope(centres, client_for, username):
    client = client_for(username)
    for key, centre in centres.items():
        response = client.get(f"/api/v1/centres/{centre.pk}/")
        if key in EXPECTED[username][1]:
            assert response.status_code == 200, key
            assert response.json()["id"] == str(centre.pk)
            assert response.json()["region"] == centre.region_id
        else:
            assert response.status_code == 404, key
            assert centre.name not in response.content.decode()


@pytest.mark.parametrize("username", EXPECTED)
def test_api_region_list(centres, client_for, username):
    response = client_for(username).get("/api/v1/regions/")
    assert response.status_code == 200
    codes = [row["code"] for row in response.json()]
    assert codes == sorted(EXPECTED[username][2])


def test_national_role_sees_aggregates_not_patients(demo):
    assert not sees_patients(demo["aifa"])
    for username in EXPECTED.keys() - {"aifa"}:
        assert sees_patients(demo[username]), username


def test_an_expired_prescriber_still_sees_the_centre_on_a_day_of_the_authorisation(demo, milano):
    yesterday = timezone.localdate() - timedelta(days=1)
    assert list(centre_scope(demo["prescriber.expired"], day=yesterday)) == [milano]
    assert not centre_scope(demo["prescriber.expired"]).exists()


def test_a_pharmacist_does_not_see_a_centre_another_pharmacy_serves(centres, client_for, demo):
    bergamo = centres["bergamo"]
    assert bergamo.region_id == "030"
    assert bergamo not in centre_scope(demo["pharmacist.milano"])
    response = client_for("pharmacist.milano").get(f"/api/v1/centres/{bergamo.pk}/")
    assert response.status_code == 404


def test_the_region_filter_cannot_widen_the_scope(centres, client_for):
    response = client_for("officer.lombardia").get("/api/v1/centres/", {"region": "120"})
    assert response.status_code == 200
    assert response.json()["results"] == []
    response = client_for("aifa").get("/api/v1/centres/", {"region": "030"})
    assert short(row["name"] for row in response.json()["results"]) == {"milano", "bergamo"}


def test_another_regions_centre_is_404_like_a_missing_one(centres, client_for):
    client = client_for("officer.lombardia")
    assert client.get(f"/api/v1/centres/{centres['roma'].pk}/").status_code == 404
    assert client.get(f"/api/v1/centres/{uuid.uuid4()}/").status_code == 404


def test_a_centre_shows_its_designation(client_for, milano):
    response = client_for("officer.lombardia").get(f"/api/v1/centres/{milano.pk}/")
    assert response.json()["designations"] == [
        {"valid_from": "2021-10-01", "valid_to": None, "act_reference": "Delibera regionale demo (Lombardia)"}
    ]
    assert response.json()["pharmacy_name"] == "Farmacia Ospedaliera Demo Milano"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/centres/", "/api/v1/regions/", "/api/v1/me/", f"/api/v1/centres/{uuid.uuid4()}/"],
    # Named, not derived from the value: the random id would give each xdist worker a different test.
    ids=["centres", "regions", "me", "centre-detail"],
)
def test_unauthenticated_requests_are_401(demo, path):
    assert APIClient().get(path).status_code == 401
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert bad_token.get(path).status_code == 401


def test_a_user_without_a_role_sees_nothing(demo):
    nobody = get_user_model().objects.create_user(username="nobody", password="x" * 16)
    assert not centre_scope(nobody).exists()
    assert not visible_centres(nobody).exists()
    assert not region_scope(nobody).exists()
    assert not sees_patients(nobody)


@pytest.mark.parametrize("username", EXPECTED)
def test_a_row_in_hand_is_judged_by_the_same_predicate_as_the_lists(centres, demo, username):
    """``sees_centre`` (a check on one row, no query) and ``centre_condition`` (the selectors' filter) agree."""
    from registry.permissions import centre_condition, sees_centre

    user = demo[username]
    by_row = {name for name, centre in centres.items() if sees_centre(user, centre)}
    condition = centre_condition(user)
    by_query = short(Centre.objects.all() if condition is None else Centre.objects.filter(condition))
    assert by_row == by_query
    if sees_patients(user):
        assert by_row == EXPECTED[username][0]
