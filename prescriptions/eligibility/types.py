"""The plain data the eligibility engine takes and gives back.

Everything here is a frozen dataclass of standard types (``Decimal``, ``date``, aware ``datetime``), so the
engine can be called from the API, the prescription service or a batch re-evaluation without the ORM.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from .text import Message


class CriterionCode(StrEnum):
    """The stable codes of the eligibility criteria (API.md, "Eligibility check"), in the API's order."""

    AGE_ADULT = "AGE_ADULT"
    HOSPITALISED = "HOSPITALISED"
    SARS_COV_2_CONFIRMED = "SARS_COV_2_CONFIRMED"
    PNEUMONIA_MODERATE_SEVERE = "PNEUMONIA_MODERATE_SEVERE"
    PAO2_FIO2_ABOVE_150 = "PAO2_FIO2_ABOVE_150"
    NO_CPAP_OR_VENTILATION = "NO_CPAP_OR_VENTILATION"
    SUPAR_AT_LEAST_6 = "SUPAR_AT_LEAST_6"
    NO_IL_OR_JAK_INHIBITOR = "NO_IL_OR_JAK_INHIBITOR"
    REGIMEN_648 = "REGIMEN_648"
    NO_NEUTROPENIA = "NO_NEUTROPENIA"
    NO_HYPERSENSITIVITY = "NO_HYPERSENSITIVITY"
    TOCILIZUMAB_SHORTAGE = "TOCILIZUMAB_SHORTAGE"
    TNF_ALPHA_ANTAGONIST = "TNF_ALPHA_ANTAGONIST"
    CYP450_NARROW_THERAPEUTIC_INDEX = "CYP450_NARROW_THERAPEUTIC_INDEX"
    RENAL_IMPAIRMENT = "RENAL_IMPAIRMENT"
    LIVER_ENZYMES = "LIVER_ENZYMES"
    PREGNANCY_BREASTFEEDING = "PREGNANCY_BREASTFEEDING"
    LIVE_VACCINE = "LIVE_VACCINE"


ALL_CRITERION_CODES: tuple[str, ...] = tuple(code.value for code in CriterionCode)


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 (an outcome, not a password)
    FAIL = "fail"
    WARN = "warn"
    INFO = "info"


class Pneumonia(StrEnum):
    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class RespiratorySupport(StrEnum):
    NONE = "none"
    LOW_FLOW_OXYGEN = "low_flow_oxygen"
    HIGH_FLOW_OXYGEN = "high_flow_oxygen"
    CPAP = "cpap"
    NIV = "niv"
    IMV = "imv"
    ECMO = "ecmo"


class Route(StrEnum):
    SC = "SC"
    IV = "IV"


class InvalidAssessment(ValueError):
    """The engine refuses to judge this assessment: ``field`` names what is wrong, ``reason`` says why.

    The input serializers refuse the same values first; the engine checks again so that no caller (a batch
    re-evaluation, a test, a future path) can get a verdict on impossible values.
    """

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _require_aware(name: str, moment: datetime | None) -> None:
    if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
        raise InvalidAssessment(name, "must be a timezone-aware datetime")


@dataclass(frozen=True)
class ConcomitantMedication:
    """A medicine the patient takes or took, as the clinician wrote it.

    ``name`` is an INN or a brand in any case; ``atc_code`` may be current or legacy. At least one of the two
    should be given, and ``ongoing`` or ``last_dose_at`` (the input serializer enforces both; the engine
    counts a blocking medicine with neither as ongoing, the prudent reading). ``confirmed_not_il_jak``: the
    prescriber confirms that a medicine the catalogue does not recognise is neither an interleukin nor a JAK
    inhibitor (without it, an unrecognised medicine fails NO_IL_OR_JAK_INHIBITOR).
    """

    name: str | None = None
    atc_code: str | None = None
    ongoing: bool = False
    last_dose_at: datetime | None = None
    confirmed_not_il_jak: bool = False

    def __post_init__(self) -> None:
        _require_aware("last_dose_at", self.last_dose_at)

    @property
    def label(self) -> str:
        """How the medicine is named back to the clinician: as written, else by its ATC code."""
        return (self.name or "").strip() or (self.atc_code or "").strip() or "?"


@dataclass(frozen=True)
class Regimen:
    dose_mg: Decimal
    route: str
    interval_hours: int
    duration_days: int

    @property
    def doses(self) -> int:
        """How many doses the regimen gives over its days: one at the start, then one every ``interval_hours`` while
        the days last (10 days: 10 once a day, 5 every 48 h; 7 days every 48 h: days 1, 3, 5, 7, so 4)."""
        return -(-self.duration_days * 24 // self.interval_hours)


@dataclass(frozen=True)
class Assessment:
    """The clinical picture a prescriber submits for an eligibility check."""

    assessed_at: datetime
    birth_date: date
    sex: str | None
    weight_kg: Decimal | None
    hospitalised: bool
    sars_cov_2_confirmed: bool
    pneumonia: str
    pao2_mmhg: Decimal
    fio2: Decimal
    respiratory_support: str
    supar_ng_ml: Decimal
    anc_10e9_l: Decimal | None = None
    creatinine_clearance_ml_min: Decimal | None = None
    alt_x_uln: Decimal | None = None
    ast_x_uln: Decimal | None = None
    known_hypersensitivity: bool = False
    # Kineret SmPC 4.6: avoid in pregnancy unless clearly needed; weigh breastfeeding. A warning, never a refusal.
    pregnant_or_breastfeeding: bool = False
    # Kineret SmPC 4.4, 4.5: a live vaccine given recently or planned must not be given at the same time.
    live_vaccine: bool = False
    concomitant_medications: tuple[ConcomitantMedication, ...] = ()
    # None: the regimen of the criteria version that judges it (the listing's, as data in versions/*.json); the
    # default of the form and the API. No copy of the regimen lives in code.
    regimen: Regimen | None = None

    def __post_init__(self) -> None:
        # The two things the engine cannot even hold: a moment without a zone has no Rome date, and
        # PaO2/FiO2 has no value without a positive FiO2. Ranges are checked by ``evaluate`` (check_assessment).
        _require_aware("assessed_at", self.assessed_at)
        if not self.fio2 > 0:
            raise InvalidAssessment("fio2", "must be a positive fraction")
        if not isinstance(self.concomitant_medications, tuple):
            object.__setattr__(self, "concomitant_medications", tuple(self.concomitant_medications))


@dataclass(frozen=True)
class ShortagePeriod:
    """A recorded shortage of tocilizumab; ``ends_on`` is the last day included, ``None`` while it lasts."""

    starts_on: date
    ends_on: date | None
    reference: str

    def covers(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True)
class CriterionResult:
    code: str
    outcome: str
    # The message, not yet translated: a msgid and its parameters (text.py), rendered when read.
    text: Message
    source: str
    # What else the verdict records for the audit (for NO_IL_OR_JAK_INHIBITOR: the medicines the prescriber
    # confirmed as neither interleukin nor JAK inhibitors); None: nothing, and no key in ``as_dict``.
    details: Mapping | None = field(default=None, hash=False, compare=False)

    @property
    def message(self) -> str:
        """The message in the active language (rendered now: the result itself holds no language)."""
        return self.text.render()

    def as_dict(self) -> dict:
        """The stored form: the ``text`` as JSON, no rendered message (``text.rendered_verdict`` gives the API's
        ``message`` in the reader's language)."""
        data = {
            "code": str(self.code),
            "outcome": str(self.outcome),
            "source": self.source,
            "text": self.text.as_json(),
        }
        if self.details:
            data["details"] = dict(self.details)
        return data


@dataclass(frozen=True)
class Verdict:
    """The engine's answer: one result per criterion code, in ``ALL_CRITERION_CODES`` order."""

    eligible: bool
    criteria_version: str
    pao2_fio2_ratio: Decimal
    results: tuple[CriterionResult, ...]

    @property
    def failed_codes(self) -> tuple[str, ...]:
        return tuple(str(result.code) for result in self.results if result.outcome == Outcome.FAIL)

    @property
    def warning_codes(self) -> tuple[str, ...]:
        return tuple(str(result.code) for result in self.results if result.outcome == Outcome.WARN)

    def result(self, code: str) -> CriterionResult:
        for result in self.results:
            if result.code == code:
                return result
        raise KeyError(code)

    def as_dict(self) -> dict:
        """The JSON the registry stores (``Prescription.eligibility``): API.md's eligibility response with each
        result's ``text`` in place of its ``message``; ``text.rendered_verdict`` turns it into the response."""
        return {
            "eligible": self.eligible,
            "criteria_version": self.criteria_version,
            "pao2_fio2_ratio": float(self.pao2_fio2_ratio.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)),
            "results": [result.as_dict() for result in self.results],
        }
