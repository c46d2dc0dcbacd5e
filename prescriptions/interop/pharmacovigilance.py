"""Pharmacovigilance: who may export an adverse event's E2B(R3) report, the serious events a centre has not yet
reported to the national network, and marking one reported (issue 21).

Reads are selectors scoped to the user; the one write is a service that locks, checks, writes and audits in
one transaction. The staff of the treating centre — its prescribers (authorised there today) and nurses — are
who report: everyone else gets a 404, as for any record they may not see.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.audit import audit_record
from registry.audit_actions import AuditAction
from registry.calendar import rome_date
from registry.errors import Conflict, InvalidInput, NotFound
from registry.formats import long_date
from registry.models import Role
from registry.patient_identity import may_see_identity
from registry.permissions import actor_for, centre_condition

from .. import selectors
from ..codes import ConflictCode
from ..models import AdverseEvent, Prescription

REPORTING_ROLES = (Role.PRESCRIBER, Role.NURSE)


def may_report(user, prescription) -> bool:
    """A prescriber or nurse of the treating centre."""
    return actor_for(user).role in REPORTING_ROLES and may_see_identity(user, prescription)


def adverse_event_for_report(*, user, prescription_id, event_id) -> AdverseEvent | None:
    """The adverse event (not entered in error) with its prescription's records prefetched, for its E2B(R3)
    report; None outside the caller's scope or for an unknown event."""
    prescription = selectors.prescription_view(user=user, prescription_id=prescription_id)
    if prescription is None or not may_report(user, prescription):
        return None
    for event in prescription.adverse_events.all():
        if str(event.pk) == str(event_id) and event.entered_in_error_at is None:
            event.prescription = prescription
            return event
    return None


def unreported_serious_events(*, user):
    """The serious adverse events of the centres the caller reports for, not yet reported: oldest onset first."""
    actor = actor_for(user)
    if actor.role not in REPORTING_ROLES:
        return AdverseEvent.objects.none()
    condition = centre_condition(user, through="prescription__centre__")
    events = AdverseEvent.objects.filter(
        serious=True, reported_to_pharmacovigilance=False, entered_in_error_at__isnull=True
    )
    if condition is not None:
        events = events.filter(condition)
    return events.select_related("prescription__patient", "prescription__centre", "recorded_by").order_by(
        "onset_date", "recorded_at"
    )


@transaction.atomic
def adverse_event_mark_reported(
    *, user, prescription_id, event_id, report_number: str = "", report_date: date | None = None
) -> AdverseEvent:
    """Mark an adverse event reported to the national pharmacovigilance network (its report number and date when
    known), audited. 404 outside the caller's scope.

    Never overwrites a report: on an event already reported, another report number than the recorded one, or
    another date than the recorded one, is 409 ``ALREADY_REPORTED``; the same again (or nothing) is idempotent
    (200, nothing written, no audit event); a number or date the first report lacked is added (audited)."""
    prescription = Prescription.objects.select_for_update().filter(pk=prescription_id).first()
    if prescription is None or not may_report(user, prescription):
        raise NotFound()
    event = (
        AdverseEvent.objects.select_for_update()
        .filter(pk=event_id, prescription=prescription, entered_in_error_at__isnull=True)
        .first()
    )
    if event is None:
        raise NotFound()
    today = rome_date(timezone.now())
    report_number = (report_number or "").strip()
    if report_date is not None and report_date > today:
        raise InvalidInput({"report_date": _("A report cannot be dated in the future.")})
    if report_date is not None and report_date < event.onset_date:
        raise InvalidInput({"report_date": _("A report cannot come before the event's onset.")})
    if event.reported_to_pharmacovigilance:
        recorded_number = event.pharmacovigilance_report_number
        recorded_date = event.pharmacovigilance_report_date
        if (report_number and recorded_number and report_number != recorded_number) or (
            report_date is not None and recorded_date is not None and report_date != recorded_date
        ):
            raise Conflict(
                ConflictCode.ALREADY_REPORTED,
                _(
                    "This adverse event was already reported to the pharmacovigilance network "
                    "(report %(number)s of %(date)s): a report is not overwritten."
                )
                % {"number": recorded_number or "—", "date": long_date(recorded_date) if recorded_date else "—"},
            )
        if (not report_number or report_number == recorded_number) and report_date in (None, recorded_date):
            return event
    before = {
        "reported_to_pharmacovigilance": event.reported_to_pharmacovigilance,
        "pharmacovigilance_report_number": event.pharmacovigilance_report_number,
        "pharmacovigilance_report_date": event.pharmacovigilance_report_date,
    }
    first_report = not event.reported_to_pharmacovigilance
    event.reported_to_pharmacovigilance = True
    if report_number:
        event.pharmacovigilance_report_number = report_number
    if event.pharmacovigilance_report_date is None:
        # The first report is dated today unless said; a later one only adds the date it is given.
        event.pharmacovigilance_report_date = report_date or (today if first_report else None)
    event.save(
        update_fields=[
            "reported_to_pharmacovigilance",
            "pharmacovigilance_report_number",
            "pharmacovigilance_report_date",
        ]
    )
    audit_record(
        actor=user,
        action=AuditAction.ADVERSE_EVENT_REPORTED,
        obj=prescription,
        changes={
            "adverse_event": event.pk,
            "before": before,
            "reported_to_pharmacovigilance": True,
            "pharmacovigilance_report_number": event.pharmacovigilance_report_number,
            "pharmacovigilance_report_date": event.pharmacovigilance_report_date,
        },
    )
    return event
