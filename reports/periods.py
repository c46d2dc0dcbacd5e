"""The periods of the reports: calendar days, months and quarters in Rome (``registry.calendar``).

A report covers the prescriptions made from the first day of its period to the last, both included, each
day being a calendar day in Rome whatever time zone a timestamp was written in.
"""

from datetime import date, datetime, timedelta

from registry.calendar import day_bounds

# Long enough for a yearly comparison, short enough that a run stays a report, not an export.
MAX_PERIOD_DAYS = 2 * 366


def period_bounds(period_start: date, period_end: date) -> tuple[datetime, datetime]:
    """[start of ``period_start``, start of the day after ``period_end``) in Rome, as aware datetimes."""
    return day_bounds(period_start, period_end)


def period_days(period_start: date, period_end: date) -> int:
    """How many calendar days the period holds, both ends included."""
    return (period_end - period_start).days + 1


def quarter_of(day: date) -> tuple[date, date]:
    """The calendar quarter holding ``day``: its first and last day."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    next_start = date(day.year + 1, 1, 1) if first_month == 10 else date(day.year, first_month + 3, 1)
    return start, next_start - timedelta(days=1)


def is_calendar_quarter(period_start: date, period_end: date) -> bool:
    return quarter_of(period_start) == (period_start, period_end)


def month_of(day: date) -> tuple[date, date]:
    """The calendar month holding ``day``: its first and last day."""
    start = day.replace(day=1)
    next_start = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
    return start, next_start - timedelta(days=1)


def is_calendar_month_or_quarter(period_start: date, period_end: date) -> bool:
    """Exactly one calendar month or one calendar quarter: periods that leave the region (two of them that
    overlap, subtracted, would tell the figures of their difference)."""
    return month_of(period_start) == (period_start, period_end) or is_calendar_quarter(period_start, period_end)


def current_month(today: date) -> tuple[date, date]:
    """The month holding ``today``, from its first day to ``today``."""
    return today.replace(day=1), today


def previous_month(today: date) -> tuple[date, date]:
    """The calendar month before the one holding ``today``: its first and last day."""
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def previous_quarter(today: date) -> tuple[date, date]:
    """The calendar quarter before the one holding ``today``: its first and last day."""
    start, _end = quarter_of(today)
    return quarter_of(start - timedelta(days=1))
