"""Template helpers of the stock pages."""

from django import template

register = template.Library()


@register.filter
def signed(value: int) -> str:
    """A movement's syringes with their sign: +20, −3 (a true minus sign, as a count of syringes out)."""
    return f"+{value}" if value > 0 else f"−{abs(value)}"
