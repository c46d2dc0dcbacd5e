"""One lockout for every way in: the sign-in page, the admin's and the token endpoint.

Failures count per username AND client address: the fifth locks that pair out for LOGIN_LOCKOUT_MINUTES,
whatever the password; the same user from another address still signs in, so nobody can lock a clinician
out from elsewhere. The count lives in the database (django-axes) and every failure is audited.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from registry.audit_actions import AuditAction
from registry.models import AuditEvent
from tests.conftest import DEMO_PASSWORD

ATTACKER = "203.0.113.7"
CLINIC = "198.51.100.20"


def form_login(client, username, password, address=ATTACKER, url="/accounts/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def admin_login(client, username, password, address=ATTACKER):
    return form_login(client, username, password, address, url="/admin/login/")


def token_login(client, username, password, address=ATTACKER):
    return client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json", REMOTE_ADDR=address
    )


ENTRIES = {"form": (Client, form_login), "admin": (Client, admin_login), "token": (APIClient, token_login)}


def signed_in(entry, response) -> bool:
    if entry == "token":
        return response.status_code == 200 and "token" in response.json()
    return response.status_code == 302 and "_auth_user_id" in response.wsgi_request.session


@pytest.mark.parametrize("entry", ENTRIES)
def test_five_wrong_passwords_lock_out_even_the_right_one(demo, entry):
    make_client, attempt = ENTRIES[entry]
    client = make_client()
    for _attempt in range(4):
        assert not signed_in(entry, attempt(client, "admin", "wrong-password"))
    assert attempt(client, "admin", "wrong-password").status_code == 429

    locked = attempt(client, "admin", DEMO_PASSWORD)
    assert locked.status_code == 429
    assert not signed_in(entry, locked)


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_locked_out_user_still_signs_in_from_another_address(demo, entry):
    make_client, attempt = ENTRIES[entry]
    for _attempt in range(5):
        attempt(make_client(), "admin", "wrong-password", address=ATTACKER)
    assert attempt(make_client(), "admin", DEMO_PASSWORD, address=ATTACKER).status_code == 429

    assert signed_in(entry, attempt(make_client(), "admin", DEMO_PASSWORD, address=CLINIC))


def test_one_count_across_the_form_the_admin_and_the_token_endpoint(demo):
    form_login(Client(), "prescriber.milano", "guess")
    form_login(Client(), "prescriber.milano", "guess")
    admin_login(Client(), "prescriber.milano", "guess")
    token_login(APIClient(), "prescriber.milano", "guess")
    token_login(APIClient(), "prescriber.milano", "guess")

    assert form_login(Client(), "prescriber.milano", DEMO_PASSWORD).status_code == 429
    assert token_login(APIClient(), "prescriber.milano", DEMO_PASSWORD).status_code == 429


def test_the_lock_ends_after_the_lockout_time(demo, settings):
    for _attempt in range(5):
        token_login(APIClient(), "nurse.milano", "guess")
    assert token_login(APIClient(), "nurse.milano", DEMO_PASSWORD).status_code == 429

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES, seconds=1)
    )
    assert token_login(APIClient(), "nurse.milano", DEMO_PASSWORD).status_code == 200


def test_the_locked_page_is_a_page_and_the_api_answer_is_json(demo):
    for _attempt in range(5):
        form_login(Client(), "aifa", "guess")
        token_login(APIClient(), "aifa", "guess")
    page = form_login(Client(), "aifa", DEMO_PASSWORD)
    assert page.status_code == 429
    assert "text/html" in page["Content-Type"]
    api = token_login(APIClient(), "aifa", DEMO_PASSWORD)
    assert api.status_code == 429
    assert api.json()["detail"]


def test_every_failure_and_the_lockout_are_audited_on_the_user(demo):
    for _attempt in range(6):
        token_login(APIClient(), "pharmacist.roma", "guess")
    user = demo["pharmacist.roma"]
    events = list(
        AuditEvent.objects.filter(object_type="auth.user", object_id=str(user.pk))
        .order_by("sequence")
        .values_list("action", "changes")
    )
    actions = [action for action, _changes in events]
    assert actions[-6:] == [AuditAction.LOGIN_FAILURE] * 4 + [AuditAction.LOGIN_LOCKOUT, AuditAction.LOGIN_FAILURE]
    first_failure = events[-6][1]
    assert first_failure["address"] == ATTACKER
    assert first_failure["path"] == "/api/v1/auth/token/"
    assert events[-1][1]["refused_while_locked"] is True


def test_a_success_clears_the_failures_of_that_address(demo):
    for _attempt in range(4):
        form_login(Client(), "officer.lazio", "guess")
    assert signed_in("form", form_login(Client(), "officer.lazio", DEMO_PASSWORD))
    for _attempt in range(4):
        form_login(Client(), "officer.lazio", "guess")
    assert signed_in("form", form_login(Client(), "officer.lazio", DEMO_PASSWORD))


def test_a_failure_for_an_unknown_username_is_logged_too(demo):
    from axes.models import AccessFailureLog

    token_login(APIClient(), "nobody.here", "guess")
    logged = AccessFailureLog.objects.get()
    assert (logged.username, logged.ip_address) == ("nobody.here", ATTACKER)
