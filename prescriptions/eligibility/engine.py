"""Judge an assessment against a criteria version: a pure function of its arguments.

No database and no clock: the assessment carries its own moment, the caller picks the version (usually with
``criteria_in_force(assessment.assessed_at)``, or the version a stored verdict names when re-evaluating) and
passes the recorded tocilizumab shortages.
"""

from __future__ import annotations

from collections.abc import Sequence

from .calendar import rome_date
from .criteria import CRITERIA, Context, pao2_fio2_ratio
from .exposure import review_medications
from .types import Assessment, CriterionResult, Outcome, ShortagePeriod, Verdict
from .versioning import CriteriaVersion


def evaluate(assessment: Assessment, *, criteria: CriteriaVersion, shortages: Sequence[ShortagePeriod]) -> Verdict:
    """Every criterion's outcome for ``assessment``; eligible exactly when none fails."""
    context = Context(
        criteria=criteria,
        shortages=tuple(shortages),
        assessed_on=rome_date(assessment.assessed_at),
        medications=review_medications(assessment, criteria.catalogue),
    )
    results = []
    for criterion in CRITERIA:
        outcome, message = criterion.judge(assessment, context)
        results.append(
            CriterionResult(
                code=criterion.code.value,
                outcome=outcome.value,
                message=message,
                source=criteria.source(criterion.code),
            )
        )
    return Verdict(
        eligible=all(result.outcome != Outcome.FAIL for result in results),
        criteria_version=criteria.identifier,
        pao2_fio2_ratio=pao2_fio2_ratio(assessment),
        results=tuple(results),
    )
