"""Safety and outcomes: adverse events, lab results and the WHO-CPS at day 14 and 28."""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.calendar import rome_date
from registry.errors import Conflict, InvalidInput
from registry.formats import long_date

from .. import events, notices
from ..codes import ConflictCode
from ..course import workflow
from ..course.alerts import lab_alert, serious_infection_alert
from ..course.workflow import OUTCOME_DAYS, WHO_CPS_MAX, WHO_CPS_MIN
from ..models import MEDDRA_CODE_PATTERN, MEDDRA_VERSION_PATTERN, AdverseEvent, LabResult, Outcome, Prescription
from ..permissions import ensure_may
from ._common import _lock, ensure_prescription_period_open
from .course import CLOCK_TOLERANCE


@transaction.atomic
def adverse_event_record(
    *,
    user,
    prescription: Prescription,
    category: str,
    serious: bool,
    onset_date: date,
    description: str,
    reported_to_pharmacovigilance: bool,
    meddra_preferred_term: str = "",
    meddra_code: str = "",
    meddra_version: str = "",
    causality: str = "",
    outcome: str = "",
    pharmacovigilance_report_number: str = "",
    pharmacovigilance_report_date: date | None = None,
) -> AdverseEvent:
    """An adverse event; the national pharmacovigilance report's number and date only once reported."""
    prescription = _lock(prescription)
    now = timezone.now()
    ensure_may(user, prescription, workflow.ADVERSE_EVENT, today=rome_date(now))
    workflow.require_status(prescription, workflow.ADVERSE_EVENT)
    if onset_date > rome_date(now):
        raise InvalidInput({"onset_date": _("The onset cannot be in the future.")})
    if onset_date < rome_date(prescription.prescribed_at):
        raise InvalidInput({"onset_date": _("The onset cannot come before the prescription.")})
    ensure_prescription_period_open(prescription, onset_date)
    meddra_code, meddra_version = meddra_code.strip(), meddra_version.strip()
    if meddra_code and not re.fullmatch(MEDDRA_CODE_PATTERN, meddra_code):
        raise InvalidInput({"meddra_code": _("A MedDRA code (lowest level term) is 8 digits, e.g. 10035664.")})
    if meddra_version and not re.fullmatch(MEDDRA_VERSION_PATTERN, meddra_version):
        raise InvalidInput(
            {"meddra_version": _("A MedDRA version looks like 27.1 (a release: .0 in March, .1 in September).")}
        )
    if meddra_code and not meddra_version:
        raise InvalidInput({"meddra_version": _("A MedDRA code needs the MedDRA version it comes from.")})
    if meddra_version and not meddra_code:
        raise InvalidInput({"meddra_code": _("A MedDRA version goes with a MedDRA code.")})
    pharmacovigilance_report_number = pharmacovigilance_report_number.strip()
    if not reported_to_pharmacovigilance and (pharmacovigilance_report_number or pharmacovigilance_report_date):
        raise InvalidInput(
            {"reported_to_pharmacovigilance": _("A pharmacovigilance report number or date means it was reported.")}
        )
    if pharmacovigilance_report_date is not None:
        if pharmacovigilance_report_date > rome_date(now):
            raise InvalidInput({"pharmacovigilance_report_date": _("A report cannot be dated in the future.")})
        if pharmacovigilance_report_date < onset_date:
            raise InvalidInput({"pharmacovigilance_report_date": _("A report cannot come before the event's onset.")})
    event = AdverseEvent.objects.create(
        prescription=prescription,
        category=category,
        serious=serious,
        onset_date=onset_date,
        description=description,
        reported_to_pharmacovigilance=reported_to_pharmacovigilance,
        meddra_preferred_term=meddra_preferred_term.strip(),
        meddra_code=meddra_code,
        meddra_version=meddra_version,
        causality=causality,
        outcome=outcome,
        pharmacovigilance_report_number=pharmacovigilance_report_number,
        pharmacovigilance_report_date=pharmacovigilance_report_date,
        recorded_by=user,
        recorded_at=now,
    )
    events.adverse_event_recorded(user, prescription, event)
    notices.blocking_alert(prescription, serious_infection_alert(event), record_key=f"adverse_event:{event.pk}")
    return event


@transaction.atomic
def lab_result_record(
    *,
    user,
    prescription: Prescription,
    test: str,
    value: Decimal,
    upper_limit_normal: Decimal | None,
    collected_at: datetime,
) -> LabResult:
    prescription = _lock(prescription)
    now = timezone.now()
    ensure_may(user, prescription, workflow.LAB_RESULT, today=rome_date(now))
    workflow.require_status(prescription, workflow.LAB_RESULT)
    if collected_at > now + CLOCK_TOLERANCE:
        raise InvalidInput({"collected_at": _("A sample cannot be collected in the future.")})
    if test == "anc" and upper_limit_normal is not None:
        raise InvalidInput({"upper_limit_normal": _("An ANC is judged on its value, not on a ULN.")})
    ensure_prescription_period_open(prescription, rome_date(collected_at))
    result = LabResult.objects.create(
        prescription=prescription,
        test=test,
        value=value,
        upper_limit_normal=upper_limit_normal,
        collected_at=collected_at,
        recorded_by=user,
        recorded_at=now,
    )
    events.lab_result_recorded(user, prescription, result)
    notices.blocking_alert(prescription, lab_alert(result), record_key=f"lab_result:{result.pk}")
    return result


@transaction.atomic
def outcome_record(
    *,
    prescriber,
    prescription: Prescription,
    day: int,
    who_cps: int,
    assessed_on: date,
    icu_admission: bool | None = None,
    severe_respiratory_failure: bool | None = None,
    death_on: date | None = None,
    death_cause: str = "",
) -> Outcome:
    """WHO-CPS at day 14 or 28; day 1 is the first dose's date; one per day.

    With it, by that day: ICU admission, severe respiratory failure (PaO2/FiO2 < 150, NIV or mechanical
    ventilation) and, for a patient who died (WHO-CPS 10), the date and cause of death.
    """
    prescription = _lock(prescription)
    now = timezone.now()
    ensure_may(prescriber, prescription, workflow.OUTCOME, today=rome_date(now))
    if day not in OUTCOME_DAYS:
        raise InvalidInput({"day": _("The outcome is recorded at day 14 or day 28.")})
    if not WHO_CPS_MIN <= who_cps <= WHO_CPS_MAX:
        raise InvalidInput({"who_cps": _("The WHO Clinical Progression Scale runs from 0 to 10.")})
    if prescription.first_dose_on is None:
        raise Conflict(ConflictCode.NO_DOSE_GIVEN, _("No dose was ever given: there is no course to follow up."))
    workflow.require_status(prescription, workflow.OUTCOME)
    if assessed_on > rome_date(now):
        raise InvalidInput({"assessed_on": _("An outcome cannot be assessed in the future.")})
    due = prescription.first_dose_on + timedelta(days=day - 1)
    if assessed_on < due:
        raise InvalidInput(
            {
                "assessed_on": _("Day %(day)d of this course is %(due)s: the outcome cannot be assessed before.")
                % {"day": day, "due": long_date(due)}
            }
        )
    death_cause = death_cause.strip()
    if death_on is not None or death_cause:
        if who_cps != WHO_CPS_MAX:
            raise InvalidInput({"death_on": _("A death is WHO-CPS 10.")})
        if death_on is None:
            raise InvalidInput({"death_on": _("Give the date of death with its cause.")})
        if death_on > assessed_on:
            raise InvalidInput({"death_on": _("The death cannot come after the assessment that records it.")})
        if death_on < rome_date(prescription.prescribed_at):
            raise InvalidInput({"death_on": _("The death cannot come before the prescription.")})
    ensure_prescription_period_open(prescription, assessed_on, death_on)
    if prescription.outcomes.filter(day=day, entered_in_error_at__isnull=True).exists():
        raise Conflict(
            ConflictCode.OUTCOME_ALREADY_RECORDED,
            _("The day-%(day)d outcome is already recorded.") % {"day": day},
        )
    outcome = Outcome.objects.create(
        prescription=prescription,
        day=day,
        who_cps=who_cps,
        assessed_on=assessed_on,
        icu_admission=icu_admission,
        severe_respiratory_failure=severe_respiratory_failure,
        death_on=death_on,
        death_cause=death_cause,
        recorded_by=prescriber,
        recorded_at=now,
    )
    events.outcome_recorded(prescriber, prescription, outcome)
    return outcome
