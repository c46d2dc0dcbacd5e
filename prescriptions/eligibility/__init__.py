"""The eligibility rule engine for anakinra in COVID-19 under Law 648/96.

Pure: plain dataclasses in, a ``Verdict`` out, no ORM and no clock (ENGINEERING.md). Typical use::

    criteria = criteria_in_force(assessment.assessed_at)  # NoCriteriaInForce before the listing
    verdict = evaluate(assessment, criteria=criteria, shortages=recorded_shortages)
    verdict.eligible, verdict.failed_codes, verdict.as_dict()  # as_dict: the stored form, texts untranslated
    rendered_verdict(verdict.as_dict())  # the API's form: each message in the active language
"""

from .calendar import REGISTRY_TIME_ZONE, age_in_years, rome_date
from .catalogue import Catalogue, CatalogueMatch, DrugClass, Substance
from .engine import check_assessment, evaluate
from .text import rendered_verdict, result_message
from .types import (
    ALL_CRITERION_CODES,
    Assessment,
    ConcomitantMedication,
    CriterionCode,
    CriterionResult,
    InvalidAssessment,
    Outcome,
    Pneumonia,
    Regimen,
    RespiratorySupport,
    Route,
    ShortagePeriod,
    Verdict,
)
from .versioning import (
    SHIPPED_VERSIONS,
    CriteriaVersion,
    InvalidCriteriaVersion,
    NoCriteriaInForce,
    Thresholds,
    criteria_in_force,
    criteria_version,
    load_versions,
    parse_version,
    validate_versions,
)

__all__ = [
    "ALL_CRITERION_CODES",
    "REGISTRY_TIME_ZONE",
    "SHIPPED_VERSIONS",
    "Assessment",
    "Catalogue",
    "CatalogueMatch",
    "ConcomitantMedication",
    "CriteriaVersion",
    "CriterionCode",
    "CriterionResult",
    "DrugClass",
    "InvalidAssessment",
    "InvalidCriteriaVersion",
    "NoCriteriaInForce",
    "Outcome",
    "Pneumonia",
    "Regimen",
    "RespiratorySupport",
    "Route",
    "ShortagePeriod",
    "Substance",
    "Thresholds",
    "Verdict",
    "age_in_years",
    "check_assessment",
    "criteria_in_force",
    "criteria_version",
    "evaluate",
    "load_versions",
    "parse_version",
    "rendered_verdict",
    "result_message",
    "rome_date",
    "validate_versions",
]
