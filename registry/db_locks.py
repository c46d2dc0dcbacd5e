"""PostgreSQL transaction-level advisory locks: one writer at a time per name, for as long as its transaction.

Used where a read and the write that depends on it must not interleave with another request's: appending to a
read-access chain (its head is read, then the next row written) and checking then counting a sign-in attempt.
The lock ends with the transaction (commit or rollback), so it cannot outlive a request. SQLite serialises every
writer on its own and has no advisory locks: there the call does nothing.
"""

import hashlib

from django.db import transaction

# The first half of each lock's key: what is locked (the second is a hash of the name).
ACCESS_LOG_CHAIN = 648_001
LOGIN_ATTEMPT = 648_002
# A region's locked periods: writes hold it shared while they check and write, an approval exclusively while it
# signs and locks (registry.period_locks).
REGION_PERIODS = 648_003
# AIFA's prices per syringe: one writer at a time checks that no period overlaps, then inserts
# (prescriptions.stock.services.syringe_price_record).
SYRINGE_PRICES = 648_004


# unnest yields the keys in the array's order, each locked before the next.
_EXCLUSIVE_SQL = (
    "SELECT pg_advisory_xact_lock(%s, %s)",
    "SELECT pg_advisory_xact_lock(%s, k) FROM unnest(%s::int[]) AS k",
)
_SHARED_SQL = (
    "SELECT pg_advisory_xact_lock_shared(%s, %s)",
    "SELECT pg_advisory_xact_lock_shared(%s, k) FROM unnest(%s::int[]) AS k",
)


def lock_key(name: str) -> int:
    """A 32-bit key for ``name`` (two names sharing one only makes them wait for each other)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


def advisory_xact_lock(namespace: int, *names: str, using: str | None = None, shared: bool = False) -> None:
    """Wait for, then hold until the end of the current transaction, the lock of every name.

    ``shared``: many holders at once, waiting only for (and making wait) an exclusive holder.

    Several names are locked in one statement, always in the same (sorted) order, so two requests locking
    overlapping sets never deadlock.
    """
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        raise RuntimeError("an advisory transaction lock needs a transaction (transaction.atomic)")
    if connection.vendor != "postgresql" or not names:
        return
    keys = sorted({lock_key(name) for name in names})
    one, many = _SHARED_SQL if shared else _EXCLUSIVE_SQL
    with connection.cursor() as cursor:
        if len(keys) == 1:
            cursor.execute(one, [namespace, keys[0]])
        else:
            cursor.execute(many, [namespace, keys])
