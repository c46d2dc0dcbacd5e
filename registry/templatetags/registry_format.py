"""Dates as the reader writes them: ``{% load registry_format %}{{ day|long_date }}`` → 1 dicembre 2026 / 1 December
2026. Django's Italian month names are capitalised; Italian writes them in lower case."""

from django import template
from django.utils import formats
from django.utils.translation import get_language

register = template.Library()


def _lower_months(text: str) -> str:
    return text.lower() if (get_language() or "").startswith("it") else text


@register.filter
def long_date(value) -> str:
    """The long date of the active language (DATE_FORMAT): 1 dicembre 2026."""
    if value in (None, ""):
        return ""
    return _lower_months(formats.date_format(value, "DATE_FORMAT"))
