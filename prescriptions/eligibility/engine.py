"""Judge an assessment against a criteria version: a pure function of its arguments.

No database and no clock: the assessment carries its own moment, the caller picks the version (usually with
``criteria_in_force(assessment.assessed_at)``, or the version a stored verdict names when re-evaluating) and
passes the recorded tocilizumab shortages. The engine checks its own input first (``check_assessment``): an
impossible value or an assessment dated outside the version's validity is ``InvalidAssessment``, never a
verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .calendar import rome_date
from .criteria import CRITERIA, Context, pao2_fio2_ratio
from .exposure import review_medications
from .types import Assessment, CriterionResult, InvalidAssessment, Outcome, ShortagePeriod, Verdict
from .versioning import CriteriaVersion

# FiO2 is a fraction: room air (0.21) to pure oxygen (1.0).
FIO2_MIN, FIO2_MAX = Decimal("0.21"), Decimal("1.0")
# Above this PaO2 (mmHg) no patient breathing at sea level can be: a unit or typing error (kPa, FiO2 in %).
PAO2_MAX_MMHG = Decimal("800")
# Measurements that cannot be negative (zero is possible: an ANC of 0 is agranulocytosis).
_NON_NEGATIVE = ("supar_ng_ml", "anc_10e9_l", "creatinine_clearance_ml_min", "alt_x_uln", "ast_x_uln")


def check_assessment(assessment: Assessment, criteria: CriteriaVersion) -> None:
    """Raise ``InvalidAssessment`` (with the field and the reason) unless the engine can judge the values."""
    if not FIO2_MIN <= assessment.fio2 <= FIO2_MAX:
        raise InvalidAssessment(
            "fio2",
            _("FiO2 is a fraction from %(min)s to %(max)s, not %(value)s.")
            % {"min": FIO2_MIN, "max": FIO2_MAX, "value": assessment.fio2},
        )
    if not Decimal(0) < assessment.pao2_mmhg <= PAO2_MAX_MMHG:
        raise InvalidAssessment(
            "pao2_mmhg", _("PaO2 must be above 0 and at most %(max)s mmHg.") % {"max": PAO2_MAX_MMHG}
        )
    for name in _NON_NEGATIVE:
        value = getattr(assessment, name)
        if value is not None and (not value.is_finite() or value < 0):
            raise InvalidAssessment(name, _("This value cannot be negative."))
    if assessment.weight_kg is not None and not assessment.weight_kg > 0:
        raise InvalidAssessment("weight_kg", _("The weight must be positive."))
    regimen = assessment.regimen
    if regimen is not None and not regimen.dose_mg > 0:
        raise InvalidAssessment("regimen.dose_mg", _("This value must be positive."))
    if regimen is not None and regimen.interval_hours <= 0:
        raise InvalidAssessment("regimen.interval_hours", _("This value must be positive."))
    if regimen is not None and regimen.duration_days <= 0:
        raise InvalidAssessment("regimen.duration_days", _("This value must be positive."))
    for index, medication in enumerate(assessment.concomitant_medications):
        if medication.last_dose_at is not None and medication.last_dose_at > assessment.assessed_at:
            raise InvalidAssessment(
                f"concomitant_medications.{index}.last_dose_at", _("The last dose is after the assessment.")
            )
    day = rome_date(assessment.assessed_at)
    if not criteria.in_force_on(day):
        raise InvalidAssessment(
            "assessed_at",
            _("%(date)s is outside the validity of the criteria version %(version)s (%(start)s to %(end)s).")
            % {
                "date": date_format(day, "SHORT_DATE_FORMAT"),
                "version": criteria.identifier,
                "start": date_format(criteria.valid_from, "SHORT_DATE_FORMAT"),
                "end": date_format(criteria.valid_to, "SHORT_DATE_FORMAT") if criteria.valid_to else "…",
            },
        )


def evaluate(assessment: Assessment, *, criteria: CriteriaVersion, shortages: Sequence[ShortagePeriod]) -> Verdict:
    """Every criterion's outcome for ``assessment``; eligible exactly when none fails."""
    check_assessment(assessment, criteria)
    context = Context(
        criteria=criteria,
        shortages=tuple(shortages),
        assessed_on=rome_date(assessment.assessed_at),
        medications=review_medications(assessment, criteria.catalogue),
    )
    results = []
    for criterion in CRITERIA:
        outcome, text, *details = criterion.judge(assessment, context)
        results.append(
            CriterionResult(
                code=criterion.code.value,
                outcome=outcome.value,
                text=text,
                source=criteria.source(criterion.code),
                details=details[0] if details else None,
            )
        )
    return Verdict(
        eligible=all(result.outcome != Outcome.FAIL for result in results),
        criteria_version=criteria.identifier,
        pao2_fio2_ratio=pao2_fio2_ratio(assessment),
        results=tuple(results),
    )
