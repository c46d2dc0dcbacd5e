"""Who is told what about a prescription (issue 18): one function per notification kind of API.md, called by the
services inside their transaction. ``registry.notifications.notify`` writes each notification once per person and
event; the params never hold the patient's identity (the prescription's number and its centre's name only).
"""

from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from registry.models import Role
from registry.notifications import day, notify, untranslated

from .codes import BLOCKING_ALERTS, AlertCode
from .course.workflow import FINAL_OUTCOME_DAY
from .models import HoldReason, Outcome, Prescription, RefusalCategory

# The title of each blocking alert, as the prescription page names it (rendered in the reader's language).
BLOCKING_ALERT_TITLES = {
    AlertCode.NEUTROPENIA: _("Neutropenia"),
    AlertCode.HEPATIC: _("Liver enzymes"),
    AlertCode.SERIOUS_INFECTION: _("Serious infection"),
    AlertCode.COMEDICATION_IL_JAK: _("IL or JAK inhibitor: co-administration not allowed"),
}
# How far back the daily task looks for courses whose day-28 outcome has come due (it is told once anyway).
OUTCOME_DUE_LOOKBACK_DAYS = 60


def _number(prescription: Prescription) -> str:
    return str(prescription.pk)[:8]


def _params(prescription: Prescription, **more) -> dict:
    return {"prescription": _number(prescription), "centre": prescription.centre.name, **more}


def pharmacists_of(pharmacy_id):
    return get_user_model().objects.filter(is_active=True, staff__role=Role.PHARMACIST, staff__pharmacy_id=pharmacy_id)


def request_waiting(prescription: Prescription) -> None:
    """An eligible request submitted: the pharmacists of the pharmacy serving its centre."""
    if prescription.centre.pharmacy_id is None:
        return
    notify(
        "request_waiting",
        pharmacists_of(prescription.centre.pharmacy_id),
        event_key=f"request_waiting:{prescription.pk}",
        prescription_id=prescription.pk,
        params=_params(prescription),
    )


def dispensed(prescription: Prescription, dispensation) -> None:
    notify(
        "dispensed",
        [prescription.prescriber],
        event_key=f"dispensed:{dispensation.pk}",
        prescription_id=prescription.pk,
        params=_params(prescription, syringes=dispensation.syringes),
    )


def on_hold(prescription: Prescription) -> None:
    """Put on hold, or the hold's reason or expected day changed (a new event each time)."""
    expected = prescription.hold_expected_on
    notify(
        "on_hold",
        [prescription.prescriber],
        event_key=(
            f"on_hold:{prescription.pk}:{prescription.hold_since.isoformat()}:{prescription.hold_reason}:"
            f"{expected.isoformat() if expected else ''}"
        ),
        prescription_id=prescription.pk,
        params=_params(
            prescription,
            reason=untranslated(HoldReason(prescription.hold_reason).label),
            expected=day(expected) if expected else untranslated(_("not known")),
        ),
    )


def refused(prescription: Prescription) -> None:
    notify(
        "refused",
        [prescription.prescriber],
        event_key=f"refused:{prescription.pk}",
        prescription_id=prescription.pk,
        params=_params(prescription, category=untranslated(RefusalCategory(prescription.refusal_category).label)),
    )


def blocking_alert(prescription: Prescription, alert, *, record_key: str) -> None:
    """A record (lab result, adverse event, medicine) raised a blocking alert: the prescriber, once per record."""
    if alert is None or alert.code not in BLOCKING_ALERTS:
        return
    notify(
        "blocking_alert",
        [prescription.prescriber],
        event_key=f"blocking_alert:{alert.code}:{record_key}",
        prescription_id=prescription.pk,
        params=_params(prescription, alert=untranslated(BLOCKING_ALERT_TITLES.get(alert.code, alert.code))),
    )


def outcomes_due_notify(*, today: date) -> int:
    """Daily (beat): each course whose day 28 has come (day 1: the first dose's day) with no day-28 outcome
    recorded tells its prescriber, once; how many courses."""
    last_first_dose = today - timedelta(days=FINAL_OUTCOME_DAY - 1)
    due = (
        Prescription.objects.filter(
            first_dose_on__lte=last_first_dose,
            first_dose_on__gte=last_first_dose - timedelta(days=OUTCOME_DUE_LOOKBACK_DAYS),
        )
        .exclude(
            Exists(
                Outcome.objects.filter(
                    prescription=OuterRef("pk"), day=FINAL_OUTCOME_DAY, entered_in_error_at__isnull=True
                )
            )
        )
        .select_related("centre", "prescriber")
    )
    count = 0
    for prescription in due:
        with transaction.atomic():
            notify(
                "outcome_due",
                [prescription.prescriber],
                event_key=f"outcome_due:{prescription.pk}",
                prescription_id=prescription.pk,
                params=_params(prescription),
            )
        count += 1
    return count
