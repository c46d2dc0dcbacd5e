"""Getting a token, being locked out, who the token says you are, and the published API description."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from rest_framework.test import APIClient

from tests.conftest import DEMO_PASSWORD

TOKEN_URL = "/api/v1/auth/token/"
DEMO_USERS = [
    "prescriber.milano",
    "prescriber.roma",
    "prescriber.expired",
    "pharmacist.milano",
    "pharmacist.roma",
    "nurse.milano",
    "officer.lombardia",
    "officer.lazio",
    "aifa",
    "admin",
]


def ask_token(client, username, password=DEMO_PASSWORD):
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json")


@pytest.mark.parametrize("username", DEMO_USERS)
def test_every_demo_user_gets_a_token_that_works(demo, api_client, username):
    response = ask_token(api_client, username)
    assert response.status_code == 200
    token = response.json()["token"]
    assert re.fullmatch(r"[0-9a-f]{40}", token)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == username


def test_each_login_issues_a_new_token_and_each_works(demo, api_client):
    first, second = ask_token(api_client, "aifa").json()["token"], ask_token(api_client, "aifa").json()["token"]
    assert first != second
    for token in (first, second):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert client.get("/api/v1/me/").status_code == 200


def test_a_wrong_password_is_400_with_a_message(demo, api_client):
    response = ask_token(api_client, "prescriber.milano", "wrong-password")
    assert response.status_code == 400
    assert response.json()["non_field_errors"][0]
    assert "token" not in response.json()


def test_an_unknown_user_is_400_like_a_wrong_password(demo, api_client):
    unknown = ask_token(api_client, "nobody.here")
    wrong = ask_token(api_client, "prescriber.milano", "wrong-password")
    assert unknown.status_code == wrong.status_code == 400
    assert unknown.json() == wrong.json()


@pytest.mark.parametrize("missing", ["username", "password"])
def test_a_missing_field_is_400_naming_it(demo, api_client, missing):
    body = {"username": "prescriber.milano", "password": DEMO_PASSWORD}
    del body[missing]
    response = api_client.post(TOKEN_URL, body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert errors.pop("code") == "VALIDATION_ERROR"
    assert list(errors) == [missing]


@pytest.mark.parametrize(
    "body", ['{"username": "prescriber.milano", "password": ', "username=prescriber.milano", '"a string"', "[]"]
)
def test_a_body_that_is_not_a_json_object_is_400(demo, api_client, body):
    response = api_client.post(TOKEN_URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()


def test_five_failures_lock_the_username_even_for_the_right_password(demo, api_client):
    for _attempt in range(4):
        assert ask_token(api_client, "prescriber.milano", "guess").status_code == 400
    assert ask_token(api_client, "prescriber.milano", "guess").status_code == 429

    locked = ask_token(api_client, "prescriber.milano")
    assert locked.status_code == 429
    assert "token" not in locked.json()
    assert locked.json()["detail"]
    # The lock is the username's: another user logs in from the same client.
    assert ask_token(api_client, "prescriber.roma").status_code == 200


def test_the_lock_ignores_the_case_of_the_username(demo, api_client):
    for _attempt in range(5):
        ask_token(api_client, "Prescriber.Milano", "guess")
    assert ask_token(api_client, "prescriber.milano").status_code == 429


def test_a_success_resets_the_count_of_failures(demo, api_client):
    for _round in range(2):
        for _attempt in range(4):
            assert ask_token(api_client, "nurse.milano", "guess").status_code == 400
        assert ask_token(api_client, "nurse.milano").status_code == 200


def test_an_inactive_user_gets_no_token(demo, api_client):
    user = demo["nurse.milano"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert ask_token(api_client, "nurse.milano").status_code == 400


@pytest.mark.parametrize(
    "username, role, place",
    [
        ("prescriber.milano", "prescriber", {"centre": "milano"}),
        ("prescriber.expired", "prescriber", {"centre": "milano"}),
        ("nurse.milano", "nurse", {"centre": "milano"}),
        ("pharmacist.roma", "pharmacist", {"pharmacy": "roma_pharmacy"}),
        ("officer.lombardia", "regional_officer", {"region": "030"}),
        ("aifa", "national", {}),
        ("admin", "administrator", {}),
    ],
)
def test_me_gives_role_and_place(client_for, milano, roma_pharmacy, username, role, place):
    places = {"milano": str(milano.pk), "roma_pharmacy": str(roma_pharmacy.pk), "030": "030"}
    body = client_for(username).get("/api/v1/me/").json()
    assert body["role"] == role
    assert {key: body[key] for key in ("centre", "pharmacy", "region") if body[key]} == {
        key: places[value] for key, value in place.items()
    }


def test_me_lists_where_a_prescriber_may_prescribe_today(client_for, milano):
    assert client_for("prescriber.milano").get("/api/v1/me/").json()["prescribing_centres"] == [str(milano.pk)]
    assert client_for("prescriber.expired").get("/api/v1/me/").json()["prescribing_centres"] == []


def test_the_schema_is_openapi_and_describes_the_registry_api(db, api_client):
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    for path in ["/api/v1/auth/token/", "/api/v1/me/", "/api/v1/regions/", "/api/v1/centres/"]:
        assert path in schema["paths"], path
    assert "post" in schema["paths"]["/api/v1/auth/token/"]
    assert any(path.startswith("/api/v1/centres/{") for path in schema["paths"])


def test_the_default_schema_download_mentions_the_token_endpoint(db, api_client):
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/auth/token/" in response.content


def test_the_docs_page_loads_only_local_assets(db, api_client):
    response = api_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert assets, "the page references no assets at all"
    remote = [url for url in assets if re.match(r"(https?:)?//", url)]
    assert remote == []
    own_script = "/api/docs/?script="
    for url in assets:
        if url == own_script:  # the page's settings, served beside it: the CSP allows no inline script
            continue
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), f"{url} is not shipped"
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], "an inline script"
    script = api_client.get(own_script)
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()
