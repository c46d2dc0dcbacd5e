"""Calendar arithmetic of the rules: Rome dates and ages.

The registry's day is a calendar day in Europe/Rome (API.md conventions), whatever zone a client sends. The
zone is fixed here rather than read from Django's settings, so the engine stays a pure function.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

REGISTRY_TIME_ZONE = ZoneInfo("Europe/Rome")


def rome_date(moment: datetime) -> date:
    """The calendar date in Rome of an aware moment."""
    return moment.astimezone(REGISTRY_TIME_ZONE).date()


def age_in_years(birth_date: date, on: date) -> int:
    """Completed years of age on ``on``; the birthday itself counts.

    Someone born on 29 February completes a year on 1 March in common years (on 28 February that year's
    birthday has not come yet). This is the prudent reading for an adults-only listing: nobody is counted as 18
    a day early. Negative when ``on`` precedes the birth.
    """
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years
