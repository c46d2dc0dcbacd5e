"""Dates as the reader writes them: ``{% load registry_format %}{{ day|long_date }}`` → 1 dicembre 2026 / 1 December
2026. Django's Italian month names are capitalised; Italian writes them in lower case."""

from django import template

from registry import formats as registry_formats

register = template.Library()


@register.filter
def long_date(value) -> str:
    """The long date of the active language (DATE_FORMAT): 1 dicembre 2026."""
    return registry_formats.long_date(value)
