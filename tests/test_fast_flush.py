"""The end of a transactional test (tests/fast_flush.py) leaves the database as Django's flush would, keys restarted."""

import pytest
from django.core.management import call_command
from django.db import connection

from tests import demo_snapshot
from tests.conftest import need
from tests.fast_flush import fast_flush, tables_with_rows


@pytest.mark.django_db(transaction=True)
def test_the_fast_flush_ends_where_djangos_flush_does():
    need(connection.vendor == "postgresql", "the fast flush is PostgreSQL's")
    demo_snapshot.keys_restarted()
    fresh = demo_snapshot._fingerprint()  # what post_migrate makes, keys from 1

    demo_snapshot.demo_build()
    demo_snapshot.history_build()
    written = set(tables_with_rows(connection))
    assert {"registry_auditevent", "prescriptions_prescription", "prescriptions_administration"} <= written
    assert fast_flush(connection) is True
    assert demo_snapshot._fingerprint() == fresh

    demo_snapshot.demo_build()
    call_command("flush", interactive=False, reset_sequences=True, verbosity=0)  # Django's own, sequences reset
    assert demo_snapshot._fingerprint() == fresh


def test_other_databases_keep_djangos_flush(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    assert fast_flush(connection) is False
