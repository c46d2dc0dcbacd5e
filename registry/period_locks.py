"""Locked periods: a region's calendar quarter, once its data are approved and signed, accepts no write dated in it.

The quarterly submission (``reports.submissions``) locks and unlocks; every write service of the prescriptions
asks ``locked_period`` (through ``prescriptions.services._common.ensure_period_open``) before it writes. The two
never interleave: a write holds the region's advisory lock shared from its check to its commit, an approval holds
it exclusively while it signs and locks, so a write either commits before the approval reads the data or sees the
lock (on PostgreSQL; SQLite serialises every writer on its own).
"""

from collections.abc import Iterable
from datetime import date

from django.db.models import Q

from .db_locks import REGION_PERIODS, advisory_xact_lock
from .models import PeriodLock, Region


def locked_period(*, region_code: str, days: Iterable[date | None]) -> PeriodLock | None:
    """The lock covering any of ``days`` in that region (None: every day is open). Call inside the write's
    transaction: it holds the region's lock shared until the commit, so no approval slips in between."""
    days = sorted({day for day in days if day is not None})
    if not days:
        return None
    advisory_xact_lock(REGION_PERIODS, region_code, shared=True)
    covering = Q()
    for day in days:
        covering |= Q(period_start__lte=day, period_end__gte=day)
    return PeriodLock.objects.filter(covering, region_id=region_code).order_by("period_start").first()


def region_periods_hold(*, region_code: str) -> None:
    """Wait for the region's writes in flight, and keep new ones waiting until this transaction ends."""
    advisory_xact_lock(REGION_PERIODS, region_code)


def period_lock(*, region: Region, period_start: date, period_end: date, reference: str) -> PeriodLock:
    """Lock the period (idempotent: a period already locked keeps its lock). Call inside the caller's transaction,
    after ``region_periods_hold``; the caller audits it."""
    lock, _created = PeriodLock.objects.get_or_create(
        region=region, period_start=period_start, defaults={"period_end": period_end, "reference": reference}
    )
    return lock


def period_unlock(*, region: Region, period_start: date) -> bool:
    """Lift the period's lock; whether there was one. The caller audits it."""
    deleted, _by_model = PeriodLock.objects.filter(region=region, period_start=period_start).delete()
    return bool(deleted)
