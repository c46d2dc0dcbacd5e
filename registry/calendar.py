"""The registry's calendar: every "day" in the registry is a calendar day in Europe/Rome.

A course day, a report's period, an authorisation's validity and a list's date filter are all Rome days,
whatever time zone a client writes its timestamps in. This is the one module that knows it: nothing else
builds a ZoneInfo or calls ``timezone.localdate()``.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

REGISTRY_TIME_ZONE = ZoneInfo("Europe/Rome")


def rome_date(moment: datetime) -> date:
    """The calendar date in Rome of an aware moment."""
    return moment.astimezone(REGISTRY_TIME_ZONE).date()


def rome_now() -> datetime:
    """Now, as an aware datetime (UTC inside, like every stored timestamp)."""
    return timezone.now()


def rome_today(now: datetime | None = None) -> date:
    """Today's date in Rome (or the Rome date of ``now`` when given)."""
    return rome_date(now or timezone.now())


def day_start(day: date) -> datetime:
    """The first instant of a Rome day, as an aware datetime (DST-safe: zoneinfo resolves the offset)."""
    return datetime.combine(day, time.min, tzinfo=REGISTRY_TIME_ZONE)


def day_bounds(first: date, last: date | None = None) -> tuple[datetime, datetime]:
    """``[start, end)`` instants covering the Rome days ``first``..``last`` (inclusive; one day by default).

    Filter timestamps with ``field__gte=start, field__lt=end``: unlike ``field__date`` it can use an index.
    """
    return day_start(first), day_start((last or first) + timedelta(days=1))
