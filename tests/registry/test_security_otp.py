"""The second factor: TOTP with single-use backup codes, required for every account when OTP_REQUIRED."""

import re
import time

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

import registry.settings as production_settings
from registry.audit_actions import AuditAction
from registry.auth.otp import pending_totp_device, totp_confirm
from registry.models import AuditEvent
from tests.conftest import DEMO_PASSWORD

USERNAME = "prescriber.milano"


@pytest.fixture(autouse=True)
def otp_required(settings):
    settings.OTP_REQUIRED = True
    settings.OTP_EXEMPT_USERNAMES = []
    # django-otp also slows a device down after a wrong code (1 s, 2 s, 4 s…); these tests follow a wrong code
    # with a right one at once, and the lockout they test is the registry's own.
    settings.OTP_TOTP_THROTTLE_FACTOR = settings.OTP_STATIC_THROTTLE_FACTOR = 0


def code(device, steps_ahead=0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def enrolled(demo):
    """The user with a confirmed authenticator and their backup codes."""
    user = demo[USERNAME]
    device = pending_totp_device(user)
    backup_codes = totp_confirm(user=user, device=device, code=code(device))
    device.refresh_from_db()
    return device, backup_codes


def sign_in_with_password(username=USERNAME) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return client


def ask_token(**extra):
    body = {"username": USERNAME, "password": DEMO_PASSWORD, **extra}
    return APIClient().post("/api/v1/auth/token/", body, format="json")


def test_production_requires_the_second_factor_and_exempts_nobody():
    # tests run with DJANGO_DEBUG off, as production does
    assert production_settings.OTP_REQUIRED is True
    assert production_settings.OTP_EXEMPT_USERNAMES == []


def test_a_user_without_a_device_must_enrol_before_anything_else(demo):
    client = sign_in_with_password()
    for url in ["/", "/prescriptions/", "/admin/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/otp/setup/"), url
    assert client.get("/api/v1/me/").status_code == 403


def test_enrolment_shows_a_qr_code_drawn_by_the_app_then_the_backup_codes(demo):
    client = sign_in_with_password()
    page = client.get("/accounts/otp/setup/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html), "nothing is loaded from another site"

    device = TOTPDevice.objects.get(user=demo[USERNAME], confirmed=False)
    assert client.post("/accounts/otp/setup/", {"code": "000000"}).status_code == 200
    done = client.post("/accounts/otp/setup/", {"code": code(device)})
    assert done.status_code == 200
    assert len(done.context["codes"]) == 10
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.OTP_ENROL).exists()


def test_an_enrolled_user_signs_in_with_a_code(enrolled):
    device, _backup = enrolled
    client = sign_in_with_password()
    response = client.get("/prescriptions/")
    assert response["Location"].startswith("/accounts/otp/?")

    wrong = client.post("/accounts/otp/", {"code": "123456", "next": "/prescriptions/"})
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["code"]
    assert client.get("/").status_code == 302

    right = client.post("/accounts/otp/", {"code": code(device, steps_ahead=1), "next": "/prescriptions/"})
    assert right.status_code == 302
    assert right["Location"] == "/prescriptions/"
    assert client.get("/prescriptions/").status_code == 200


def test_an_enrolled_user_cannot_replace_the_device_without_the_code(enrolled):
    client = sign_in_with_password()
    response = client.get("/accounts/otp/setup/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/otp/"


def test_a_backup_code_works_once(enrolled):
    _device, backup_codes = enrolled
    assert sign_in_with_password().post("/accounts/otp/", {"code": backup_codes[0]}).status_code == 302
    reused = sign_in_with_password().post("/accounts/otp/", {"code": backup_codes[0]})
    assert reused.status_code == 200
    assert not StaticToken.objects.filter(token=backup_codes[0]).exists()


def test_wrong_codes_count_towards_the_lockout_and_the_right_code_is_then_refused(enrolled):
    device, _backup = enrolled
    client = sign_in_with_password()
    for _attempt in range(4):
        assert client.post("/accounts/otp/", {"code": "000000"}).status_code == 200
    assert client.post("/accounts/otp/", {"code": "000000"}).status_code == 429

    again = sign_in_with_password_refused()
    assert again.status_code == 429
    assert client.post("/accounts/otp/", {"code": code(device, steps_ahead=1)}).status_code != 200
    assert client.get("/prescriptions/").status_code == 302


def test_a_locked_out_session_cannot_go_on_guessing_codes(enrolled):
    device, _backup = enrolled
    guesser, other_session = sign_in_with_password(), sign_in_with_password()
    for _attempt in range(5):
        guesser.post("/accounts/otp/", {"code": "000000"})
    # A session opened before the lock: the right code is not even checked, and the session ends.
    response = other_session.post("/accounts/otp/", {"code": code(device, steps_ahead=1)})
    assert response.status_code == 429
    assert other_session.get("/prescriptions/")["Location"].startswith("/accounts/login/")


def sign_in_with_password_refused():
    return Client().post("/accounts/login/", {"username": USERNAME, "password": DEMO_PASSWORD})


def test_the_token_endpoint_takes_the_code(enrolled):
    device, backup_codes = enrolled
    missing = ask_token()
    assert missing.status_code == 400
    assert missing.json() == {"otp": [missing.json()["otp"][0]], "code": "VALIDATION_ERROR"}
    assert ask_token(otp="000000").status_code == 400
    assert ask_token(otp=code(device, steps_ahead=1)).status_code == 200
    assert ask_token(otp_code=backup_codes[1]).status_code == 200
    assert ask_token(otp=backup_codes[1]).status_code == 400


def test_without_a_device_the_token_endpoint_says_to_enrol_first(demo):
    response = ask_token()
    assert response.status_code == 400
    assert "otp" in response.json()


def test_the_demo_users_are_exempt_only_when_listed(demo, settings):
    settings.OTP_EXEMPT_USERNAMES = [USERNAME]
    assert ask_token().status_code == 200
    assert sign_in_with_password().get("/").status_code == 200


# --- Issue 18: backup codes on a text keyboard, a word about waiting, codes downloaded and printed --------------


def test_the_code_field_opens_a_text_keyboard_for_backup_codes(enrolled):
    page = sign_in_with_password().get("/accounts/otp/")
    html = page.content.decode()
    field = re.search(r"<input[^>]*name=\"code\"[^>]*>", html).group(0)
    assert 'inputmode="text"' in field
    assert 'autocomplete="one-time-code"' in field


def test_a_backup_code_typed_in_capitals_with_a_space_works(enrolled):
    _device, backup_codes = enrolled
    typed = backup_codes[2].upper()[:4] + " " + backup_codes[2].upper()[4:]
    assert sign_in_with_password().post("/accounts/otp/", {"code": typed}).status_code == 302


def test_a_right_code_of_a_window_already_used_says_to_wait_for_the_next(enrolled, settings):
    settings.LANGUAGE_CODE = "en"
    device, _backup = enrolled
    used = code(device, steps_ahead=1)
    assert sign_in_with_password().post("/accounts/otp/", {"code": used}).status_code == 302
    again = sign_in_with_password().post("/accounts/otp/", {"code": used}, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 200
    message = " ".join(again.context["form"].errors["code"])
    assert "already used" in message and "next code" in message


def test_a_right_code_typed_right_after_a_wrong_one_says_how_long_to_wait(enrolled, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = settings.OTP_STATIC_THROTTLE_FACTOR = 10
    device, _backup = enrolled
    client = sign_in_with_password()
    assert client.post("/accounts/otp/", {"code": "000000"}, HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    right_at_once = client.post("/accounts/otp/", {"code": code(device, steps_ahead=1)}, HTTP_ACCEPT_LANGUAGE="en")
    assert right_at_once.status_code == 200
    message = " ".join(right_at_once.context["form"].errors["code"])
    assert re.search(r"wait \d+ seconds?", message), message
    italian = client.post("/accounts/otp/", {"code": code(device, steps_ahead=1)}, HTTP_ACCEPT_LANGUAGE="it")
    assert "attendi" in " ".join(italian.context["form"].errors["code"]).lower()


def _enrol(client, demo):
    device = TOTPDevice.objects.get(user=demo[USERNAME], confirmed=False)
    return client.post("/accounts/otp/setup/", {"code": code(device), "next": "/prescriptions/"})


def test_the_backup_codes_are_downloadable_printable_and_their_saving_confirmed(demo):
    client = sign_in_with_password()
    client.get("/accounts/otp/setup/")
    done = _enrol(client, demo)
    codes = done.context["codes"]
    html = done.content.decode()
    assert "data-print" in html and "/accounts/otp/backup-codes.txt" in html

    download = client.get("/accounts/otp/backup-codes.txt")
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/plain")
    assert "attachment" in download["Content-Disposition"]
    assert all(backup in download.content.decode() for backup in codes)

    # Continuing without ticking "saved" is refused and shows the codes again.
    refused = client.post("/accounts/otp/backup-codes/", {"next": "/prescriptions/"})
    assert refused.status_code == 400
    assert refused.context["codes"] == codes
    confirmed = client.post("/accounts/otp/backup-codes/", {"saved": "on", "next": "/prescriptions/"})
    assert confirmed.status_code == 302 and confirmed["Location"] == "/prescriptions/"
    # Gone for good once saved.
    assert client.get("/accounts/otp/backup-codes.txt").status_code == 404
    assert client.get("/accounts/otp/backup-codes/").status_code == 302


def test_nobody_downloads_backup_codes_they_were_not_just_given(enrolled):
    assert sign_in_with_password().get("/accounts/otp/backup-codes.txt").status_code in (302, 404)
