"""A faster end for the transactional tests on PostgreSQL: empty only the tables that hold rows.

After each transactional test (``transactional_db``, ``live_server``) Django runs ``flush``: one ``TRUNCATE`` of the
project's 57 tables, then post_migrate. On PostgreSQL a ``TRUNCATE`` gives every table and every index a new file,
empty or not: about 1.5 to 2.5 seconds on the 2-core machine, for each of the suite's ~70 transactional tests, when
the test itself wrote into a dozen tables.

Here the same end state is reached with a ``DELETE`` of just the tables that hold rows, in one transaction, then the
sequences restarted (as ``keys_restarted`` does before a demo copy: every transactional test then meets the database
a fresh one would) and post_migrate run again, as ``flush`` does. The ``DELETE`` runs with
``session_replication_role = replica`` so that neither the foreign keys (every row of each table goes, so none is
left dangling) nor the audit trail's append-only triggers (which refuse a ``DELETE``; the test database may empty it,
as tests/settings.py lets it be truncated) stand in the way. That needs a superuser, as the suite's database role is
on CI and in the README's commands; any other role, another database or a test asking for ``available_apps`` or a
serialized rollback gets Django's own flush. ``tests/test_fast_flush.py`` holds the two to the same end state.
"""

from django.core.management.color import no_style
from django.core.management.sql import emit_post_migrate_signal
from django.db import DatabaseError, connections, transaction
from django.test import TransactionTestCase


def tables_with_rows(connection) -> list[str]:
    """The project's tables that hold at least one row, asked in one statement."""
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    quote = connection.ops.quote_name
    probes = " UNION ALL ".join(
        f"SELECT {index} WHERE EXISTS (SELECT 1 FROM {quote(table)})" for index, table in enumerate(tables)
    )
    with connection.cursor() as cursor:
        cursor.execute(probes)
        return [tables[index] for (index,) in cursor.fetchall()]


def fast_flush(connection) -> bool:
    """Empty the database as ``flush`` would, sequences restarted; False (nothing done) where it cannot."""
    if connection.vendor != "postgresql":
        return False
    quote = connection.ops.quote_name
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            for table in tables_with_rows(connection):
                cursor.execute(f"DELETE FROM {quote(table)}")
            for statement in connection.ops.sequence_reset_by_name_sql(
                no_style(), connection.introspection.sequence_list()
            ):
                cursor.execute(statement)
    except DatabaseError:  # not a superuser: session_replication_role is refused
        return False
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    return True


_django_teardown = TransactionTestCase._fixture_teardown


def _fixture_teardown(self):
    if self.available_apps is None and not self.serialized_rollback:
        names = self._databases_names(include_mirrors=False)
        if all(fast_flush(connections[name]) for name in names):
            return
    _django_teardown(self)


def install() -> None:
    """Every transactional test of the process ends with :func:`fast_flush` where it can (tests/conftest.py)."""
    TransactionTestCase._fixture_teardown = _fixture_teardown
