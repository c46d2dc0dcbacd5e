"""Hostile or broken requests get the contract's answers, never a 500 (issue 9, defects 6 and the DB-down 503).

Deeply nested JSON, a NUL byte in a path, malformed identifiers, unknown paths and oversize bodies are all
answered in JSON under ``/api/``; a database that stops answering gives a 503 with a clear message, never a
trace.
"""

import pytest
from django.db import InterfaceError, OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

SOME_ID = "6f1c2a7e-0000-4000-8000-000000000000"
NESTED = "[" * 100_000 + "]" * 100_000  # 200 KB


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/token/",
        "/api/v1/prescriptions/",
        "/api/v1/eligibility-checks/",
        "/api/v1/reports/",
    ],
)
def test_deeply_nested_json_is_a_400_on_every_post(client_for, path):
    response = client_for("prescriber.milano").post(path, NESTED, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_deeply_nested_json_is_a_400_without_credentials(api_client, db):
    response = api_client.post("/api/v1/auth/token/", NESTED, content_type="application/json")

    assert response.status_code == 400


def test_nesting_is_refused_past_the_configured_depth(client_for, settings):
    settings.JSON_MAX_DEPTH = 5
    client = client_for("prescriber.milano")

    over = client.post("/api/v1/eligibility-checks/", nested(6), content_type="application/json")
    assert over.status_code == 400
    assert "5" in over.json()["detail"]
    # Five levels parse: the serializer then refuses a list where an object belongs.
    within = client.post("/api/v1/eligibility-checks/", nested(5), content_type="application/json")
    assert within.status_code == 400
    assert "detail" not in within.json()


def test_brackets_inside_strings_do_not_count_as_nesting(client_for, settings):
    settings.JSON_MAX_DEPTH = 3
    body = '{"username": "[[[[[[{{{{", "password": "\\"[[[[[["}'

    response = client_for("prescriber.milano").post("/api/v1/auth/token/", body, content_type="application/json")

    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_an_ordinary_body_within_the_depth_still_parses(api_client, demo):
    body = {"username": "prescriber.milano", "password": "demo-password-648"}

    response = api_client.post("/api/v1/auth/token/", body, format="json")

    assert response.status_code == 200
    assert response.json()["token"]


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/reports/{SOME_ID}/files/%00/",
        f"/api/v1/reports/{SOME_ID}/files/csv%00/",
        "/api/v1/prescriptions/%00/",
        "/prescriptions/%00/",
    ],
)
def test_a_nul_byte_in_a_path_is_a_404(client_for, path):
    response = client_for("officer.lombardia").get(path)

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/centres/?region=%00", "region"),
        ("/api/v1/centres/?region=03%000", "region"),
        ("/api/v1/prescriptions/?centre=%00", "centre"),
        ("/api/v1/regions/?x%00y=1", "xy"),
    ],
)
def test_a_nul_byte_in_a_query_parameter_is_a_400_naming_it(client_for, path, param):
    response = client_for("officer.lombardia").get(path)

    assert response.status_code == 400
    assert param in response.json()


def test_a_nul_byte_in_a_page_query_is_a_400(client, demo):
    client.force_login(demo["officer.lombardia"])

    assert client.get("/prescriptions/?status=%00").status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/prescriptions/not-a-uuid/",
        "/api/v1/reports/123/",
        "/api/v1/centres/zzz/",
        "/api/v1/no-such-thing/",
        "/api/nothing/",
    ],
)
def test_unknown_paths_and_malformed_ids_under_the_api_are_json_404s(client_for, path):
    response = client_for("officer.lombardia").get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_pages_keep_their_html_404(client_for, demo):
    client = client_for("officer.lombardia")
    client.force_login(demo["officer.lombardia"])

    response = client.get("/prescriptions/not-a-uuid/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/v1/prescriptions/", "/api/v1/auth/token/", "/api/v1/reports/"])
def test_a_body_over_the_upload_limit_is_a_json_413(client_for, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"padding": "' + "x" * 2000 + '"}'

    response = client_for("prescriber.milano").post(path, body, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_a_body_within_the_upload_limit_is_read(client_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 5000
    body = '{"padding": "' + "x" * 2000 + '"}'

    response = client_for("prescriber.milano").post("/api/v1/reports/", body, content_type="application/json")

    assert response.status_code in (400, 403)


# --- The database stops answering ------------------------------------------------------------


@pytest.fixture
def database_down():
    """Arms a failure of every new cursor, as with PostgreSQL gone; disarmed before the test's rollback."""
    original = BaseDatabaseWrapper.cursor

    def arm(error=OperationalError):
        def fail(self, *args, **kwargs):
            raise error("connection to server at 127.0.0.1, port 5432 failed: Connection refused")

        BaseDatabaseWrapper.cursor = fail

    yield arm
    BaseDatabaseWrapper.cursor = original


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_the_api_answers_503_in_json_when_the_database_is_down(client_for, database_down, error):
    client = client_for("prescriber.milano")
    database_down(error)

    response = client.get("/api/v1/prescriptions/")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["detail"]
    assert "5432" not in body["detail"]
    assert response["Retry-After"]


def test_a_page_answers_a_friendly_503_when_the_database_is_down(client, demo, database_down):
    client.force_login(demo["officer.lombardia"])
    # The session is read by a middleware before any view: the error reaches handler500 as it would in
    # production, where no test client re-raises it.
    client.raise_request_exception = False
    database_down()

    response = client.get("/prescriptions/")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "5432" not in text
    assert "Traceback" not in text
    assert "<html" in text.lower()


# --- Errors raised outside a view (handler500) ------------------------------------------------


def _handled(path: str, error: Exception):
    from django.test import RequestFactory

    from registry.middleware import server_error

    try:
        raise error
    except Exception:
        return server_error(RequestFactory().get(path))


def test_a_database_error_outside_a_view_is_a_503_too(db):
    response = _handled("/api/v1/me/", OperationalError("server closed the connection unexpectedly"))

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert "closed" not in response.content.decode()


def test_a_page_database_error_outside_a_view_is_the_friendly_page(db):
    response = _handled("/prescriptions/", InterfaceError("connection already closed"))

    assert response.status_code == 503
    assert "<html" in response.content.decode().lower()


def test_another_error_outside_a_view_is_a_json_500_under_the_api(db):
    response = _handled("/api/v1/me/", RuntimeError("boom"))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "boom" not in response.content.decode()
