"""The sixteen criteria of the listing, one small function each.

Each criterion reads a few fields of the ``Assessment`` (declared in ``reads``, which the property tests hold
it to) and the thresholds, lists and catalogue of the criteria version, and returns an outcome with a message
naming the values that decided it. Nothing here is a number or a drug name of the listing: those are data of
the version (``versions/*.json``).

Messages are built with ``gettext`` when the rule runs, so they come out in the active language. Numbers and
dates inside them keep the API's own notation (``200.0``, ``2021-11-01``) in every language, so that a message
always agrees with the JSON beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from .calendar import age_in_years, rome_date
from .exposure import Exposure, ExposureStatus, MedicationReview
from .types import (
    ALL_CRITERION_CODES,
    Assessment,
    CriterionCode,
    Outcome,
    Pneumonia,
    Regimen,
    RespiratorySupport,
    ShortagePeriod,
)
from .versioning import CriteriaVersion


@dataclass(frozen=True)
class Context:
    """What every criterion may look at besides the assessment, prepared once per evaluation."""

    criteria: CriteriaVersion
    shortages: tuple[ShortagePeriod, ...]
    assessed_on: date  # the Rome calendar date of assessed_at
    medications: MedicationReview


# An outcome and its message, and optionally details the verdict records (a mapping).
Judgement = tuple[Outcome, str] | tuple[Outcome, str, Mapping | None]


@dataclass(frozen=True)
class Criterion:
    code: CriterionCode
    reads: frozenset[str]  # the Assessment fields the judgement depends on
    judge: Callable[[Assessment, Context], Judgement]


# -- formatting -----------------------------------------------------------------------------------------------


def number(value: Decimal) -> str:
    """A decimal as written, without exponent: ``6`` stays ``6``, ``6.0`` stays ``6.0``."""
    return format(value, "f")


def _ratio_text(ratio: Decimal, threshold: Decimal, exactly_threshold: bool) -> str:
    """The ratio to one decimal, or to as many more as it takes not to look equal to the threshold."""
    for places in range(1, 7):
        shown = ratio.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if exactly_threshold or shown != threshold:
            return number(shown)
    return number(ratio)


def _pneumonia_label(value: str) -> str:
    labels = {
        Pneumonia.NONE: pgettext("pneumonia severity", "none"),
        Pneumonia.MILD: pgettext("pneumonia severity", "mild"),
        Pneumonia.MODERATE: pgettext("pneumonia severity", "moderate"),
        Pneumonia.SEVERE: pgettext("pneumonia severity", "severe"),
    }
    return labels.get(value, value)


def _support_label(value: str) -> str:
    labels = {
        RespiratorySupport.NONE: _("no respiratory support"),
        RespiratorySupport.LOW_FLOW_OXYGEN: _("low-flow oxygen"),
        RespiratorySupport.HIGH_FLOW_OXYGEN: _("high-flow oxygen"),
        RespiratorySupport.CPAP: _("CPAP"),
        RespiratorySupport.NIV: _("non-invasive ventilation"),
        RespiratorySupport.IMV: _("invasive mechanical ventilation"),
        RespiratorySupport.ECMO: _("ECMO"),
    }
    return labels.get(value, value)


def _regimen_text(regimen: Regimen) -> str:
    return ngettext(
        "%(dose)s mg %(route)s every %(interval)s h for %(days)s day",
        "%(dose)s mg %(route)s every %(interval)s h for %(days)s days",
        regimen.duration_days,
    ) % {
        "dose": number(regimen.dose_mg),
        "route": regimen.route,
        "interval": regimen.interval_hours,
        "days": regimen.duration_days,
    }


def _drug_text(exposure: Exposure) -> str:
    """Name and code, as in "tocilizumab (L04AC07)"; a medicine known only by its code, by the code alone."""
    match = exposure.match
    if match.display_name == match.atc_code:
        return match.atc_code
    return f"{match.display_name} ({match.atc_code})"


def _exposure_text(exposure: Exposure) -> str:
    values = {"drug": _drug_text(exposure), "days": exposure.match.washout_days}
    if exposure.status is ExposureStatus.ONGOING:
        return _("%(drug)s, ongoing") % values
    if exposure.status is ExposureStatus.UNDATED:
        return _("%(drug)s, no last dose given: counted as ongoing") % values
    assert exposure.medication.last_dose_at is not None and exposure.window_ends_at is not None
    values["last_dose"] = rome_date(exposure.medication.last_dose_at).isoformat()
    values["window_end"] = rome_date(exposure.window_ends_at).isoformat()
    if exposure.status is ExposureStatus.INSIDE_WINDOW:
        return (
            ngettext(
                "%(drug)s, last dose %(last_dose)s: inside its %(days)s-day washout window (ends %(window_end)s)",
                "%(drug)s, last dose %(last_dose)s: inside its %(days)s-day washout window (ends %(window_end)s)",
                exposure.match.washout_days,
            )
            % values
        )
    return (
        ngettext(
            "%(drug)s, last dose %(last_dose)s: outside its %(days)s-day washout window (ended %(window_end)s)",
            "%(drug)s, last dose %(last_dose)s: outside its %(days)s-day washout window (ended %(window_end)s)",
            exposure.match.washout_days,
        )
        % values
    )


def _exposures_text(exposures: Sequence[Exposure]) -> str:
    return "; ".join(_exposure_text(exposure) for exposure in exposures)


def _sentences(*parts: str) -> str:
    return ". ".join(part for part in parts if part)


# -- the mandatory criteria (CTS 23/09/2021, Determina 114586/2021, Kineret SmPC) ---------------------------


def age_adult(assessment: Assessment, context: Context) -> Judgement:
    minimum = context.criteria.thresholds.adult_age_years
    values = {
        "birth_date": assessment.birth_date.isoformat(),
        "date": context.assessed_on.isoformat(),
        "min_age": minimum,
    }
    if assessment.birth_date > context.assessed_on:
        return Outcome.FAIL, _("Born %(birth_date)s, after the assessment date %(date)s") % values
    values["age"] = age_in_years(assessment.birth_date, context.assessed_on)
    if values["age"] >= minimum:
        return Outcome.PASS, _("Born %(birth_date)s: aged %(age)s on %(date)s, at least %(min_age)s") % values
    return Outcome.FAIL, _(
        "Born %(birth_date)s: aged %(age)s on %(date)s, under %(min_age)s; the listing is for adults"
    ) % values


def hospitalised(assessment: Assessment, context: Context) -> Judgement:
    if assessment.hospitalised:
        return Outcome.PASS, _("Admitted to hospital")
    return Outcome.FAIL, _("Not admitted to hospital; the listing is for hospitalised patients")


def sars_cov_2_confirmed(assessment: Assessment, context: Context) -> Judgement:
    if assessment.sars_cov_2_confirmed:
        return Outcome.PASS, _("SARS-CoV-2 infection confirmed")
    return Outcome.FAIL, _("SARS-CoV-2 infection not confirmed by a molecular test")


def pneumonia_moderate_severe(assessment: Assessment, context: Context) -> Judgement:
    eligible = context.criteria.pneumonia_eligible
    values = {
        "severity": _pneumonia_label(assessment.pneumonia),
        "required": ", ".join(_pneumonia_label(value) for value in eligible),
    }
    if assessment.pneumonia in eligible:
        return Outcome.PASS, _("COVID-19 pneumonia: %(severity)s") % values
    return Outcome.FAIL, _("COVID-19 pneumonia: %(severity)s; required: %(required)s") % values


def pao2_fio2_above(assessment: Assessment, context: Context) -> Judgement:
    threshold = context.criteria.thresholds.pao2_fio2_above_mmhg
    # Compared without dividing, so that no rounding can lift 150 over the line (45/0.30 fails).
    above = assessment.pao2_mmhg > threshold * assessment.fio2
    exactly = assessment.pao2_mmhg == threshold * assessment.fio2
    values = {
        "pao2": number(assessment.pao2_mmhg),
        "fio2": number(assessment.fio2),
        "ratio": _ratio_text(pao2_fio2_ratio(assessment), threshold, exactly),
        "threshold": number(threshold),
    }
    if above:
        return Outcome.PASS, _("PaO2/FiO2 = %(pao2)s/%(fio2)s = %(ratio)s mmHg, above %(threshold)s") % values
    return Outcome.FAIL, _("PaO2/FiO2 = %(pao2)s/%(fio2)s = %(ratio)s mmHg, not above %(threshold)s") % values


def pao2_fio2_ratio(assessment: Assessment) -> Decimal:
    return assessment.pao2_mmhg / assessment.fio2


def no_cpap_or_ventilation(assessment: Assessment, context: Context) -> Judgement:
    allowed = context.criteria.respiratory_support_allowed
    values = {
        "support": _support_label(assessment.respiratory_support),
        "allowed": ", ".join(_support_label(value) for value in allowed),
    }
    if assessment.respiratory_support in allowed:
        return Outcome.PASS, _("Respiratory support: %(support)s, allowed") % values
    return Outcome.FAIL, _("Respiratory support: %(support)s, not allowed (allowed: %(allowed)s)") % values


def supar_at_least(assessment: Assessment, context: Context) -> Judgement:
    threshold = context.criteria.thresholds.supar_at_least_ng_ml
    values = {"value": number(assessment.supar_ng_ml), "threshold": number(threshold)}
    if assessment.supar_ng_ml >= threshold:
        return Outcome.PASS, _("suPAR %(value)s ng/mL, at least %(threshold)s") % values
    return Outcome.FAIL, _("suPAR %(value)s ng/mL, below %(threshold)s") % values


def no_il_or_jak_inhibitor(assessment: Assessment, context: Context) -> Judgement:
    """No other interleukin or JAK inhibitor on board (CTS: "non è consentita la co-somministrazione").

    Fails for a systemic interleukin or JAK inhibitor ongoing or inside its washout window, and for a medicine
    the catalogue does not recognise (by name, brand or ATC code) unless the prescriber confirmed it is
    neither (``confirmed_not_il_jak``): an unrecognised medicine never leaves the patient silently eligible.
    A topical form (ruxolitinib cream) warns instead. The confirmations are kept in the result's details.
    """
    exposures = context.medications.for_criterion(CriterionCode.NO_IL_OR_JAK_INHIBITOR)
    systemic = [exposure for exposure in exposures if not exposure.match.drug_class.topical]
    topical = [exposure for exposure in exposures if exposure.match.drug_class.topical and exposure.counts]
    counted = [exposure for exposure in systemic if exposure.counts]
    unknown = context.medications.not_in_catalogue
    unconfirmed = [medication for medication in unknown if not medication.confirmed_not_il_jak]
    confirmed = [medication for medication in unknown if medication.confirmed_not_il_jak]
    details = {"confirmed_not_il_jak": [medication.label for medication in confirmed]} if confirmed else None
    unrecognised = (
        _(
            "Not recognised by the interaction catalogue: %(medicines)s. Give its ATC code, or confirm that it is "
            "neither an interleukin inhibitor nor a JAK inhibitor"
        )
        % {"medicines": ", ".join(medication.label for medication in unconfirmed)}
        if unconfirmed
        else ""
    )
    if counted or unconfirmed:
        listed = context.criteria.catalogue.substance(context.criteria.listed_substance)
        already_running = any(exposure.match.substance == listed for exposure in counted)
        return (
            Outcome.FAIL,
            _sentences(
                _exposures_text(counted),
                _("Co-administration with another interleukin inhibitor or a JAK inhibitor is not allowed")
                if counted
                else "",
                _("Anakinra itself is listed: a course is already running") if already_running else "",
                unrecognised,
            ),
            details,
        )
    if systemic:
        message = _("No interleukin or JAK inhibitor ongoing or inside its washout window: %(medicines)s") % {
            "medicines": _exposures_text(systemic)
        }
    else:
        message = _("No interleukin or JAK inhibitor among the concomitant medications")
    confirmation = (
        _(
            "Not in the interaction catalogue, confirmed by the prescriber as neither an interleukin "
            "nor a JAK inhibitor: %(medicines)s"
        )
        % {"medicines": ", ".join(medication.label for medication in confirmed)}
        if confirmed
        else ""
    )
    if topical:
        return (
            Outcome.WARN,
            _sentences(
                _exposures_text(topical),
                _("A topical JAK inhibitor: little reaches the blood, so it does not block, but watch for infections"),
                message,
                confirmation,
            ),
            details,
        )
    return Outcome.PASS, _sentences(message, confirmation), details


def _regimen_matches(given: Regimen, required: Regimen) -> bool:
    return (
        given.dose_mg == required.dose_mg
        and given.route.upper() == required.route.upper()
        and given.interval_hours == required.interval_hours
        and given.duration_days == required.duration_days
    )


def regimen_648(assessment: Assessment, context: Context) -> Judgement:
    """The listing's regimen; with creatinine clearance below the threshold, also the renal one (SmPC: every
    other day in severe renal impairment), which the message then names."""
    required = context.criteria.regimen
    renal = context.criteria.renal_regimen
    given = assessment.regimen
    accepted = context.criteria.accepted_regimens(assessment.creatinine_clearance_ml_min)
    values = {
        "regimen": _regimen_text(given),
        "required": _regimen_text(required),
        "clearance": number(assessment.creatinine_clearance_ml_min or Decimal(0)),
        "threshold": number(context.criteria.thresholds.creatinine_clearance_below_ml_min),
    }
    if renal is not None and renal in accepted:
        values.update(renal=_regimen_text(renal), doses=context.criteria.course_doses(renal))
        if _regimen_matches(given, renal):
            return Outcome.PASS, _(
                "%(regimen)s (%(doses)s doses): the listing's regimen in severe renal impairment "
                "(creatinine clearance %(clearance)s mL/min, below %(threshold)s)"
            ) % values
        if _regimen_matches(given, required):
            return Outcome.PASS, _(
                "%(regimen)s: the regimen of the listing; with creatinine clearance %(clearance)s mL/min "
                "(below %(threshold)s) %(renal)s (%(doses)s doses) is also accepted"
            ) % values
        return Outcome.FAIL, _(
            "%(regimen)s: not the regimen of the listing (%(required)s, or %(renal)s with creatinine clearance "
            "below %(threshold)s), not reimbursable under Law 648/96"
        ) % values
    if _regimen_matches(given, required):
        return Outcome.PASS, _("%(regimen)s: the regimen of the listing") % values
    if renal is not None and _regimen_matches(given, renal):
        values["renal"] = _regimen_text(renal)
        return Outcome.FAIL, _(
            "%(regimen)s: accepted only with creatinine clearance below %(threshold)s mL/min; otherwise the "
            "regimen of the listing is %(required)s"
        ) % values
    return Outcome.FAIL, _(
        "%(regimen)s: not the regimen of the listing (%(required)s), not reimbursable under Law 648/96"
    ) % values


def no_neutropenia(assessment: Assessment, context: Context) -> Judgement:
    threshold = context.criteria.thresholds.anc_at_least_10e9_l
    values = {"threshold": number(threshold)}
    if assessment.anc_10e9_l is None:
        return Outcome.INFO, _(
            "ANC not given: check it is at least %(threshold)s ×10⁹/L before the first dose"
        ) % values
    values["value"] = number(assessment.anc_10e9_l)
    if assessment.anc_10e9_l >= threshold:
        return Outcome.PASS, _("ANC %(value)s ×10⁹/L, at least %(threshold)s") % values
    return Outcome.FAIL, _("ANC %(value)s ×10⁹/L, below %(threshold)s: anakinra must not be started") % values


def no_hypersensitivity(assessment: Assessment, context: Context) -> Judgement:
    if assessment.known_hypersensitivity:
        return Outcome.FAIL, _("Known hypersensitivity to anakinra or to E. coli-derived proteins")
    return Outcome.PASS, _("No known hypersensitivity to anakinra or to E. coli-derived proteins")


def tocilizumab_shortage(assessment: Assessment, context: Context) -> Judgement:
    """Determina 114586/2021 lists anakinra "nel caso di carenza del medicinale tocilizumab"."""
    if not context.criteria.requires_tocilizumab_shortage:
        return Outcome.PASS, _("This criteria version does not require a tocilizumab shortage")
    values = {"date": context.assessed_on.isoformat()}
    for shortage in context.shortages:
        if shortage.covers(context.assessed_on):
            values.update(reference=shortage.reference, starts_on=shortage.starts_on.isoformat())
            return Outcome.PASS, _(
                "Tocilizumab shortage in force on %(date)s (%(reference)s, from %(starts_on)s)"
            ) % values
    return Outcome.FAIL, _(
        "No tocilizumab shortage recorded as in force on %(date)s; the listing applies only while "
        "tocilizumab is in shortage"
    ) % values


# -- the warnings: recorded and shown, never refusing ----------------------------------------------------------


def tnf_alpha_antagonist(assessment: Assessment, context: Context) -> Judgement:
    exposures = context.medications.for_criterion(CriterionCode.TNF_ALPHA_ANTAGONIST)
    counted = [exposure for exposure in exposures if exposure.counts]
    if counted:
        return Outcome.WARN, _sentences(
            _exposures_text(counted),
            _("Concomitant anakinra and TNF-α antagonists are not recommended"),
        )
    if exposures:
        return Outcome.PASS, _("No TNF-α antagonist ongoing or inside its washout window: %(medicines)s") % {
            "medicines": _exposures_text(exposures)
        }
    return Outcome.PASS, _("No TNF-α antagonist among the concomitant medications")


def cyp450_narrow_therapeutic_index(assessment: Assessment, context: Context) -> Judgement:
    exposures = context.medications.for_criterion(CriterionCode.CYP450_NARROW_THERAPEUTIC_INDEX)
    counted = [exposure for exposure in exposures if exposure.counts]
    if counted:
        return Outcome.WARN, _sentences(
            _exposures_text(counted),
            _(
                "CYP450 substrate with a narrow therapeutic index: anakinra normalises CYP450 formation, so "
                "monitor its effect or concentration when anakinra starts or ends and adjust its dose if needed"
            ),
        )
    if exposures:
        return Outcome.PASS, _(
            "No CYP450 substrate with a narrow therapeutic index ongoing or inside its washout window: %(medicines)s"
        ) % {"medicines": _exposures_text(exposures)}
    return Outcome.PASS, _("No CYP450 substrate with a narrow therapeutic index among the concomitant medications")


def renal_impairment(assessment: Assessment, context: Context) -> Judgement:
    """Warns below the threshold. A clearance not given is ``info``, like a missing ANC: it cannot pass
    unchecked, and it cannot warn about a value nobody measured."""
    threshold = context.criteria.thresholds.creatinine_clearance_below_ml_min
    values = {"threshold": number(threshold)}
    if assessment.creatinine_clearance_ml_min is None:
        return Outcome.INFO, _("Creatinine clearance not given: renal function not checked")
    values["value"] = number(assessment.creatinine_clearance_ml_min)
    if assessment.creatinine_clearance_ml_min < threshold:
        renal = context.criteria.renal_regimen
        if renal is not None:
            values.update(renal=_regimen_text(renal), doses=context.criteria.course_doses(renal))
            return Outcome.WARN, _(
                "Creatinine clearance %(value)s mL/min, below %(threshold)s: daily dosing may not suit; "
                "the listing also accepts %(renal)s (%(doses)s doses), as the SmPC advises in severe renal impairment"
            ) % values
        return Outcome.WARN, _(
            "Creatinine clearance %(value)s mL/min, below %(threshold)s: daily dosing may not suit "
            "(consider a dose every other day)"
        ) % values
    return Outcome.PASS, _("Creatinine clearance %(value)s mL/min, not below %(threshold)s") % values


def liver_enzymes(assessment: Assessment, context: Context) -> Judgement:
    """Warns when ALT or AST is at or above the threshold; ``info`` when neither is raised but one is
    missing."""
    threshold = context.criteria.thresholds.liver_enzymes_at_least_x_uln
    enzymes = (("ALT", assessment.alt_x_uln), ("AST", assessment.ast_x_uln))
    shown = "; ".join(
        _("%(enzyme)s not given") % {"enzyme": enzyme}
        if value is None
        else _("%(enzyme)s %(value)s × ULN") % {"enzyme": enzyme, "value": number(value)}
        for enzyme, value in enzymes
    )
    values = {"enzymes": shown, "threshold": number(threshold)}
    if any(value is not None and value >= threshold for _enzyme, value in enzymes):
        return Outcome.WARN, _(
            "%(enzymes)s: at least %(threshold)s × ULN; not studied with anakinra, monitor liver enzymes"
        ) % values
    if any(value is None for _enzyme, value in enzymes):
        return Outcome.INFO, _("%(enzymes)s: liver enzymes not fully checked") % values
    return Outcome.PASS, _("%(enzymes)s: below %(threshold)s × ULN") % values


CRITERIA: tuple[Criterion, ...] = (
    Criterion(CriterionCode.AGE_ADULT, frozenset({"birth_date", "assessed_at"}), age_adult),
    Criterion(CriterionCode.HOSPITALISED, frozenset({"hospitalised"}), hospitalised),
    Criterion(CriterionCode.SARS_COV_2_CONFIRMED, frozenset({"sars_cov_2_confirmed"}), sars_cov_2_confirmed),
    Criterion(CriterionCode.PNEUMONIA_MODERATE_SEVERE, frozenset({"pneumonia"}), pneumonia_moderate_severe),
    Criterion(CriterionCode.PAO2_FIO2_ABOVE_150, frozenset({"pao2_mmhg", "fio2"}), pao2_fio2_above),
    Criterion(CriterionCode.NO_CPAP_OR_VENTILATION, frozenset({"respiratory_support"}), no_cpap_or_ventilation),
    Criterion(CriterionCode.SUPAR_AT_LEAST_6, frozenset({"supar_ng_ml"}), supar_at_least),
    Criterion(
        CriterionCode.NO_IL_OR_JAK_INHIBITOR,
        frozenset({"concomitant_medications", "assessed_at"}),
        no_il_or_jak_inhibitor,
    ),
    Criterion(CriterionCode.REGIMEN_648, frozenset({"regimen", "creatinine_clearance_ml_min"}), regimen_648),
    Criterion(CriterionCode.NO_NEUTROPENIA, frozenset({"anc_10e9_l"}), no_neutropenia),
    Criterion(CriterionCode.NO_HYPERSENSITIVITY, frozenset({"known_hypersensitivity"}), no_hypersensitivity),
    Criterion(CriterionCode.TOCILIZUMAB_SHORTAGE, frozenset({"assessed_at"}), tocilizumab_shortage),
    Criterion(
        CriterionCode.TNF_ALPHA_ANTAGONIST,
        frozenset({"concomitant_medications", "assessed_at"}),
        tnf_alpha_antagonist,
    ),
    Criterion(
        CriterionCode.CYP450_NARROW_THERAPEUTIC_INDEX,
        frozenset({"concomitant_medications", "assessed_at"}),
        cyp450_narrow_therapeutic_index,
    ),
    Criterion(CriterionCode.RENAL_IMPAIRMENT, frozenset({"creatinine_clearance_ml_min"}), renal_impairment),
    Criterion(CriterionCode.LIVER_ENZYMES, frozenset({"alt_x_uln", "ast_x_uln"}), liver_enzymes),
)

if tuple(criterion.code for criterion in CRITERIA) != ALL_CRITERION_CODES:  # pragma: no cover
    raise ImportError("CRITERIA must judge every criterion code once, in the API's order")
