"""Headers: a Content-Security-Policy that allows no inline script, and nothing with patient data cached."""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import check_password, make_password
from django.test import Client

import registry.settings as production_settings

TEMPLATES = Path(django_settings.BASE_DIR) / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.fixture
def signed_in(demo):
    client = Client()
    client.force_login(demo["prescriber.milano"])
    return client


def test_every_page_carries_a_policy_without_inline_script(demo, signed_in):
    for url in ["/", "/prescriptions/", "/accounts/password/"]:
        response = signed_in.get(url)
        assert response.status_code == 200, url
        directives = policy(response)
        assert directives["script-src"] == ["'self'"], url
        assert directives["object-src"] == ["'none'"]
        assert directives["frame-ancestors"] == ["'none'"]
        assert not INLINE_SCRIPT.search(response.content.decode()), url
    assert "script-src" in policy(Client().get("/accounts/login/"))


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda path: str(path.relative_to(TEMPLATES))
)
def test_no_template_has_inline_script_or_event_handlers(template):
    html = template.read_text()
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html)


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_every_api_answer_is_no_store(client_for):
    assert no_store(client_for("prescriber.milano").get("/api/v1/me/"))
    assert no_store(client_for("prescriber.milano").get("/api/v1/prescriptions/"))
    assert no_store(Client().get("/api/v1/me/"))  # even the 401


def test_every_page_of_a_signed_in_user_is_no_store(signed_in):
    for url in ["/", "/prescriptions/", "/prescriptions/doses-due/"]:
        response = signed_in.get(url)
        assert response.status_code == 200, url
        assert no_store(response), url


def test_passwords_are_hashed_with_argon2_in_production(settings):
    settings.PASSWORD_HASHERS = production_settings.PASSWORD_HASHERS
    assert production_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    encoded = make_password("tall-green-kettle-9481")
    assert encoded.startswith("argon2$")
    assert check_password("tall-green-kettle-9481", encoded)
