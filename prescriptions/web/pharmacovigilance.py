"""Pages of pharmacovigilance reporting (issue 21): the centre's serious adverse events not yet reported to the
national network, each with its E2B(R3) report to download, and marking one reported after a confirmation.

Thin: the reads and the write are prescriptions.interop.pharmacovigilance's; the report itself is the API's
``GET .../adverse-events/{event_id}/e2b/`` (the page links to it: the browser's session signs the request).
"""

from datetime import date

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from registry.errors import Conflict, InvalidInput, NotFound
from registry.permissions import PermissionDenied, actor_for

from ..interop.pharmacovigilance import (
    REPORTING_ROLES,
    adverse_event_for_report,
    adverse_event_mark_reported,
    unreported_serious_events,
)
from .views import page


@page
def unreported_events(request):
    if actor_for(request.user).role not in REPORTING_ROLES:
        raise PermissionDenied(_("Adverse events are reported by the prescribers and nurses of the treating centre."))
    events = list(unreported_serious_events(user=request.user))
    return render(
        request, "prescriptions/pharmacovigilance.html", {"events": events, "nav_section": "pharmacovigilance"}
    )


@page
@require_http_methods(["GET", "POST"])
def mark_reported(request, prescription_id, event_id):
    event = adverse_event_for_report(user=request.user, prescription_id=prescription_id, event_id=event_id)
    if event is None:
        raise NotFound()
    errors, values, status = {}, {"report_number": "", "report_date": ""}, 200
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        report_date: date | None = None
        if values["report_date"]:
            report_date = parse_date(values["report_date"]) if len(values["report_date"]) == 10 else None
            if report_date is None:
                errors["report_date"] = _("Enter a valid date.")
        if len(values["report_number"]) > 40:
            errors["report_number"] = _("At most 40 characters.")
        if not errors:
            try:
                adverse_event_mark_reported(
                    user=request.user,
                    prescription_id=prescription_id,
                    event_id=event_id,
                    report_number=values["report_number"],
                    report_date=report_date,
                )
            except InvalidInput as exc:
                errors = {field: " ".join(map(str, problems)) for field, problems in exc.errors.items()}
            except Conflict as exc:
                # Already reported with another number (or date): said under the field that differs.
                number_differs = values["report_number"] not in ("", event.pharmacovigilance_report_number)
                errors = {"report_number" if number_differs else "report_date": exc.detail}
                status = 409
            else:
                messages.success(request, _("Marked as reported to the pharmacovigilance network."))
                return redirect("prescriptions:pharmacovigilance")
    return render(
        request,
        "prescriptions/mark_reported.html",
        {"event": event, "prescription": event.prescription, "errors": errors, "values": values},
        status=status if status != 200 else (400 if errors else 200),
    )
