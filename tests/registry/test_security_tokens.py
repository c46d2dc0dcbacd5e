"""API tokens: stored only as a digest, expiring, revocable by their owner and by an administrator."""

import hashlib
import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from registry.audit_actions import AuditAction
from registry.auth.models import ApiToken
from registry.models import AuditEvent
from tests.conftest import DEMO_PASSWORD

TOKEN_URL = "/api/v1/auth/token/"


def new_token(username="prescriber.milano") -> str:
    response = APIClient().post(TOKEN_URL, {"username": username, "password": DEMO_PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()["token"]


def with_token(token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def works(token) -> bool:
    return with_token(token).get("/api/v1/me/").status_code == 200


def test_only_the_digest_of_a_token_is_stored(demo):
    key = new_token()
    stored = ApiToken.objects.get(user=demo["prescriber.milano"])
    assert stored.digest == hashlib.sha256(key.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608 - a model's own table name
        assert key not in repr(cursor.fetchall())
    assert not Token.objects.exists()


def test_a_token_expires_after_the_configured_hours(demo, settings):
    settings.TOKEN_TTL_HOURS = 12
    key = new_token()
    token = ApiToken.objects.get(user=demo["prescriber.milano"])
    assert token.expires_at - token.created_at == timedelta(hours=12)
    assert works(key)

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = with_token(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_the_owner_revokes_the_token_in_use_and_only_that_one(demo):
    kept, revoked = new_token(), new_token()
    assert with_token(revoked).delete(TOKEN_URL).status_code == 204
    assert not works(revoked)
    assert works(kept)
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKE).count() == 1


def test_revoking_needs_a_token(demo):
    assert APIClient().delete(TOKEN_URL).status_code == 401
    assert with_token("0" * 40).delete(TOKEN_URL).status_code == 401


def test_an_administrator_revokes_tokens_in_the_admin(demo):
    key = new_token("nurse.milano")
    admin = Client()
    admin.force_login(demo["admin"])
    token = ApiToken.objects.get(user=demo["nurse.milano"])
    assert admin.get("/admin/registry/apitoken/").status_code == 200
    response = admin.post("/admin/registry/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    assert not works(key)
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKE)
    assert event.actor_username == "admin"


def test_only_administrators_see_the_tokens_in_the_admin(demo):
    new_token("nurse.milano")
    officer = Client()
    officer.force_login(demo["officer.lombardia"])
    assert officer.get("/admin/registry/apitoken/").status_code == 403


def test_each_sign_in_for_a_token_is_logged_with_its_address(demo):
    from axes.models import AccessLog

    APIClient().post(
        TOKEN_URL, {"username": "aifa", "password": DEMO_PASSWORD}, format="json", REMOTE_ADDR="198.51.100.20"
    )
    logged = AccessLog.objects.get(username="aifa")
    assert (logged.ip_address, logged.path_info) == ("198.51.100.20", TOKEN_URL)


def test_the_migration_hashes_the_existing_plain_tokens(demo):
    plain = Token.objects.create(user=demo["pharmacist.milano"])
    migration = importlib.import_module("registry.migrations.0006_api_tokens")
    migration.hash_existing_tokens(apps, None)
    assert not Token.objects.exists()
    assert works(plain.key)


@pytest.mark.parametrize("header", ["Token", "Token a b", "Bearer " + "0" * 40])
def test_a_malformed_authorization_header_is_401(demo, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/v1/me/").status_code == 401


def test_a_password_set_anywhere_else_also_ends_the_tokens(demo):
    key = new_token("nurse.milano")
    user = demo["nurse.milano"]
    user.first_name = "Anna"
    user.save()
    assert works(key), "saving the user without a new password keeps the tokens"

    user.set_password("tall-green-kettle-9481")
    user.save()
    assert not works(key)


def test_upgrading_the_password_hash_at_sign_in_keeps_the_tokens(demo, settings):
    user = demo["nurse.milano"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user.set_password(DEMO_PASSWORD)
    user.save()
    key = new_token("nurse.milano")
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    new_token("nurse.milano")  # the sign-in rewrites the hash with the new first hasher
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$")
    assert works(key)
