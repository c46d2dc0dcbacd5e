"""Sessions end after SESSION_IDLE_TIMEOUT idle or SESSION_COOKIE_AGE after sign-in; a password change ends
the user's other sessions and API tokens."""

import time

import pytest
from django.test import Client

from registry.audit_actions import AuditAction
from registry.auth.middleware import SESSION_LAST_SEEN, SESSION_STARTED
from registry.models import AuditEvent
from tests.conftest import DEMO_PASSWORD

NEW_PASSWORD = "tall-green-kettle-9481"


def sign_in(username="nurse.milano") -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return client


def shift_session(client, **seconds_ago):
    session = client.session
    now = int(time.time())
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


def still_signed_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200


IDLE = 1800
AGE = 12 * 3600


@pytest.mark.parametrize(
    "signed_in_ago, idle_for, signed_in",
    [
        (60, 0, True),
        (3600, IDLE - 60, True),
        (3600, IDLE + 1, False),
        (AGE - 60, 10, True),
        (AGE + 1, 10, False),
    ],
)
def test_idle_timeout_and_absolute_lifetime(demo, settings, signed_in_ago, idle_for, signed_in):
    settings.SESSION_IDLE_TIMEOUT = IDLE
    settings.SESSION_COOKIE_AGE = AGE
    client = sign_in()
    shift_session(client, **{SESSION_STARTED: signed_in_ago, SESSION_LAST_SEEN: idle_for})
    assert still_signed_in(client) is signed_in


def test_activity_slides_the_idle_timeout(demo, settings):
    client = sign_in()
    shift_session(client, **{SESSION_LAST_SEEN: settings.SESSION_IDLE_TIMEOUT - 60})
    assert still_signed_in(client)
    assert int(time.time()) - client.session[SESSION_LAST_SEEN] < 60


def test_an_idle_session_lands_on_the_sign_in_page(demo, settings):
    client = sign_in()
    shift_session(client, **{SESSION_LAST_SEEN: settings.SESSION_IDLE_TIMEOUT + 1})
    response = client.get("/prescriptions/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_password_change_ends_the_other_sessions_and_the_tokens(demo, client_for):
    here, elsewhere = sign_in(), sign_in()
    api = client_for("nurse.milano")
    assert api.get("/api/v1/me/").status_code == 200

    response = here.post(
        "/accounts/password/",
        {"old_password": DEMO_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert still_signed_in(here)
    assert not still_signed_in(elsewhere)
    assert api.get("/api/v1/me/").status_code == 401
    user = demo["nurse.milano"]
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGE, object_id=str(user.pk)).exists()


def test_a_weak_new_password_is_refused(demo):
    client = sign_in()
    response = client.post(
        "/accounts/password/", {"old_password": DEMO_PASSWORD, "new_password1": "short", "new_password2": "short"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
