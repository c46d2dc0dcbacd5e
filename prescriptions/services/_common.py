"""What every service of the workflow shares: the row lock, the scoped fetch, and the locked periods' check."""

from collections.abc import Iterable
from datetime import date

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from registry.errors import Conflict, NotFound
from registry.period_locks import locked_period

from ..codes import ConflictCode
from ..models import Prescription
from ..selectors import prescription_for_action


def _lock(prescription: Prescription) -> Prescription:
    """The prescription, locked for the transaction (always patient first, then prescription)."""
    # OF self: the joined centre row stays unlocked, so one patient's dose does not queue the centre's others.
    return Prescription.objects.select_for_update(of=("self",)).select_related("centre").get(pk=prescription.pk)


def prescription_for(*, user, prescription_id) -> Prescription:
    """The prescription if ``user`` may see it, else NotFound (404: never say it exists)."""
    prescription = prescription_for_action(user=user, prescription_id=prescription_id)
    if prescription is None:
        raise NotFound()
    return prescription


def ensure_period_open(*, region_code: str, days: Iterable[date | None]) -> None:
    """409 ``PERIOD_LOCKED`` when any of ``days`` lies in a period of the region approved and sent to AIFA.

    The one check of the lock (issue 19): every write service calls it, inside its transaction, with the Rome
    day(s) the write is dated by — the dose's, the sample's, the onset's, the assessment's, the stop's, the
    prescription's for a (late) registration, the corrected record's for a correction, and the day of recording
    for what carries no clinical date (a dispensation, a refusal, a hold). The region is the centre's.
    """
    lock = locked_period(region_code=region_code, days=days)
    if lock is None:
        return
    raise Conflict(
        ConflictCode.PERIOD_LOCKED,
        _(
            "The data of %(start)s – %(end)s of this region are approved and sent to AIFA: nothing dated in that "
            "period can be recorded or corrected until the regional officer reopens it."
        )
        % {
            "start": date_format(lock.period_start, "SHORT_DATE_FORMAT"),
            "end": date_format(lock.period_end, "SHORT_DATE_FORMAT"),
        },
        extra={"period_start": lock.period_start.isoformat(), "period_end": lock.period_end.isoformat()},
    )


def ensure_prescription_period_open(prescription: Prescription, *days: date | None) -> None:
    """``ensure_period_open`` for a write on ``prescription`` (its centre's region)."""
    ensure_period_open(region_code=prescription.centre.region_id, days=days)
