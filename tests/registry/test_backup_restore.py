"""Backup and restore (docs/operations.md): pg_dump -Fc, pg_restore into a fresh database, verify_audit there.

The data is made through the services and the API (seed_demo, a prescription submitted and dispensed, an audit
anchor written to the table and to AUDIT_ANCHOR_DIR), dumped from the test database, restored into a new one,
and checked: every table holds the same rows, the audit trail verifies there with the same keys and anchors
(and not with another AUDIT_HMAC_KEY), and the audit guards still refuse to rewrite or empty the trail.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from registry.auth.tokens import token_issue
from tests.prescriptions.factories import submission_body

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]


def _conninfo(settings_dict: dict, name: str) -> dict:
    return {
        "host": settings_dict["HOST"] or "127.0.0.1",
        "port": str(settings_dict["PORT"] or 5432),
        "user": settings_dict["USER"],
        "password": settings_dict["PASSWORD"] or None,
        "dbname": name,
    }


def _pg_env(info: dict) -> dict:
    env = {**os.environ, "PGHOST": info["host"], "PGPORT": info["port"], "PGUSER": info["user"]}
    if info["password"]:
        env["PGPASSWORD"] = info["password"]
    return env


def _row_counts(info: dict) -> dict[str, int]:
    with psycopg.connect(**info) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        ]
        return {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}  # noqa: S608


def _verify_audit(info: dict, *, anchor_dir: Path, audit_key: str) -> subprocess.CompletedProcess:
    password = f":{info['password']}" if info["password"] else ""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "registry.settings",  # the production settings, as on the restored server
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "PSEUDONYM_KEY": settings.PSEUDONYM_KEY,
        "AUDIT_HMAC_KEY": audit_key,
        "PATIENT_DATA_KEYS": ",".join(settings.PATIENT_DATA_KEYS),
        "AUDIT_ANCHOR_DIR": str(anchor_dir),
        "DATABASE_URL": f"postgres://{info['user']}{password}@{info['host']}:{info['port']}/{info['dbname']}",
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "verify_audit"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def pg_tools():
    from tests.conftest import need

    need(
        bool(shutil.which("pg_dump") and shutil.which("pg_restore")),
        "pg_dump and pg_restore are needed (apt-get install postgresql-client)",
    )


def test_pg_dump_and_restore_keep_the_data_and_a_verifiable_audit_trail(
    postgresql, transactional_db, pg_tools, settings, tmp_path
):
    settings.AUDIT_ANCHOR_DIR = str(tmp_path / "anchors")
    call_command("seed_demo", force=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    from django.contrib.auth import get_user_model

    from registry.models import Centre

    users = {user.username: user for user in get_user_model().objects.all()}

    def client(username):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=users[username])}")
        return api

    milano = Centre.objects.get(name="Ospedale Demo Milano")
    submitted = client("prescriber.milano").post(
        "/api/v1/prescriptions/", submission_body(centre=milano), format="json"
    )
    assert submitted.status_code == 201, submitted.content
    dispensed = client("pharmacist.milano").post(
        f"/api/v1/prescriptions/{submitted.json()['id']}/dispensations/",
        {"syringes": 10, "lot_number": "LOT-BACKUP", "expiry_date": "2030-12-31"},
        format="json",
    )
    assert dispensed.status_code == 201, dispensed.content
    call_command("audit_anchor", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert (tmp_path / "anchors" / "anchors.jsonl").exists()

    source = _conninfo(postgresql.settings_dict, postgresql.settings_dict["NAME"])
    restored = {**source, "dbname": f"reg_restore_{os.getpid()}"}  # not test_…: no TRUNCATE exemption there
    dump = tmp_path / "registry.dump"
    subprocess.run(  # noqa: S603
        ["pg_dump", "-Fc", "--no-password", "-d", source["dbname"], "-f", str(dump)],  # noqa: S607
        env=_pg_env(source),
        check=True,
        capture_output=True,
    )
    with psycopg.connect(**{**source, "dbname": "postgres"}, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{restored["dbname"]}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{restored["dbname"]}"')
    try:
        subprocess.run(  # noqa: S603
            ["pg_restore", "--exit-on-error", "--no-password", "-d", restored["dbname"], str(dump)],  # noqa: S607
            env=_pg_env(restored),
            check=True,
            capture_output=True,
        )

        counts = _row_counts(restored)
        assert counts == _row_counts(source)
        assert counts["registry_auditevent"] > 0
        assert counts["registry_auditanchor"] == 1
        assert counts["prescriptions_prescription"] == 1
        assert counts["prescriptions_dispensation"] == 1

        verified = _verify_audit(restored, anchor_dir=tmp_path / "anchors", audit_key=settings.AUDIT_HMAC_KEY)
        assert verified.returncode == 0, verified.stderr
        assert f"Audit trail intact: {counts['registry_auditevent']} events verified against 1 anchors" in (
            verified.stdout
        )
        # Without the right key the restored trail cannot be verified: the key is part of the backup.
        wrong_key = _verify_audit(restored, anchor_dir=tmp_path / "anchors", audit_key="another-key-" + "w" * 40)
        assert wrong_key.returncode != 0
        assert "Audit trail broken" in wrong_key.stderr

        # The guards came back with the data: the restored trail is still append-only.
        with psycopg.connect(**restored, autocommit=True) as conn:
            triggers = {
                row[0]
                for row in conn.execute(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D' "
                    "AND tgrelid IN ('registry_auditevent'::regclass, 'registry_auditanchor'::regclass)"
                )
            }
            assert {
                "registry_auditevent_append_only",
                "registry_auditevent_no_truncate",
                "registry_auditanchor_append_only",
                "registry_auditanchor_no_truncate",
            } <= triggers
            for statement in (
                "UPDATE registry_auditevent SET action = action",
                "DELETE FROM registry_auditanchor",
                "TRUNCATE registry_auditevent",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
    finally:
        with psycopg.connect(**{**source, "dbname": "postgres"}, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{restored["dbname"]}" WITH (FORCE)')
