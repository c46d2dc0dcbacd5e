"""``{% may_report_events prescription as may_report %}``: whether the page's reader reports this prescription's
adverse events to pharmacovigilance (its E2B(R3) download), as prescriptions.interop.pharmacovigilance decides."""

from django import template

from ..interop.pharmacovigilance import may_report

register = template.Library()


@register.simple_tag(takes_context=True)
def may_report_events(context, prescription) -> bool:
    request = context.get("request")
    return may_report(getattr(request, "user", None), prescription)
