"""The registry's date and number formats, per language (``FORMAT_MODULE_PATH``), and the one long date.

``long_date`` is how every page, report and file writes a date in words: 1 dicembre 2026 / 1 December 2026.
Django's Italian month names are capitalised ("Dicembre"); Italian writes them in lower case, so the long date
lower-cases them, in one place, for the pages and the reports alike.
"""

from django.utils import formats
from django.utils.translation import get_language


def short_date(value) -> str:
    """A day as a message writes it (SHORT_DATE_FORMAT): 08/12/2026, 08 Dec 2026; never ISO. "" for no date."""
    if value in (None, ""):
        return ""
    return formats.date_format(value, "SHORT_DATE_FORMAT")


def long_date(value) -> str:
    """The long date of the active language (DATE_FORMAT): 1 dicembre 2026; "" for no date."""
    if value in (None, ""):
        return ""
    text = formats.date_format(value, "DATE_FORMAT")
    return text.lower() if (get_language() or "").startswith("it") else text
