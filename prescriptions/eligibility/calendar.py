"""Calendar arithmetic of the rules: Rome dates and ages.

The registry's day is a calendar day in Europe/Rome, whatever zone a client sends (docs/rules.md). The zone and
``rome_date`` are ``registry.calendar``'s, re-exported here for the engine: a fixed zone, never read from
Django's settings, so the engine stays a pure function.
"""

from datetime import date

from registry.calendar import REGISTRY_TIME_ZONE, rome_date

__all__ = ["REGISTRY_TIME_ZONE", "age_in_years", "rome_date"]


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
