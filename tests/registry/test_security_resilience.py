"""Signing in without the cache, and staff passwords held to the same rules as everyone's."""

import socket

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests.conftest import DEMO_PASSWORD


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free again once closed: nothing listens there


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/4",
        }
    }


def ask_token(username, password=DEMO_PASSWORD):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")


def test_with_the_cache_down_the_token_endpoint_and_the_api_answer(demo, cache_down):
    response = ask_token("prescriber.milano")
    assert response.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/centres/").status_code == 200


def test_with_the_cache_down_the_lockout_still_holds(demo, cache_down):
    for _attempt in range(5):
        ask_token("prescriber.milano", "guess")
    assert ask_token("prescriber.milano").status_code == 429


def create_staff(monkeypatch, password, username="new.officer"):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": password)
    call_command("create_staff", username=username, role="regional_officer", region="030", stdout=None)


@pytest.mark.parametrize("password", ["short", "password1234", "12345678901234", "new.officer.648"])
def test_create_staff_refuses_a_password_the_validators_refuse(demo, monkeypatch, password):
    with pytest.raises(CommandError, match="password"):
        create_staff(monkeypatch, password)
    assert not get_user_model().objects.filter(username="new.officer").exists()


def test_create_staff_accepts_a_strong_password(demo, monkeypatch):
    create_staff(monkeypatch, "tall-green-kettle-9481")
    assert get_user_model().objects.get(username="new.officer").check_password("tall-green-kettle-9481")
