"""The validity of a designation, an authorisation or a shortage period, as the office's pages show it."""

from django import template

from registry.calendar import rome_today

register = template.Library()


@register.inclusion_tag("registry/office/_validity.html")
def validity(start, end, today=None):
    """ "In force", "from …" or "ended", with the period's first and last day (``end`` None: open-ended)."""
    today = today or rome_today()
    if start > today:
        state = "future"
    elif end is not None and end < today:
        state = "ended"
    else:
        state = "current"
    return {"start": start, "end": end, "state": state}
