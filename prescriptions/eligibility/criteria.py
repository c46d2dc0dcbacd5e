"""The criteria of the listing and its warnings, one small function each.

Each criterion reads a few fields of the ``Assessment`` (declared in ``reads``, which the property tests hold
it to) and the thresholds, lists and catalogue of the criteria version, and returns an outcome with a message
naming the values that decided it. Nothing here is a number or a drug name of the listing: those are data of
the version (``versions/*.json``).

A message is not translated when the rule runs: it is a ``Text`` (``text.py``), a msgid and its parameters,
stored with the verdict and rendered in the reader's language when read. Numbers and dates in it are parameters
(``Decimal``, ``date``), so they follow the reader's language too: ``200.0`` and ``01 Nov 2021`` in English,
``200,0`` and ``01/11/2021`` in Italian. ``msg``, ``pmsg`` and ``nmsg`` stand where ``gettext``, ``pgettext`` and
``ngettext`` would: ``make messages`` extracts their msgids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .calendar import age_in_years, rome_date
from .catalogue import Catalogue
from .exposure import Exposure, ExposureStatus, MedicationReview
from .text import Message, join, msg, nmsg, pmsg
from .types import (
    ALL_CRITERION_CODES,
    Assessment,
    ConcomitantMedication,
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
Judgement = tuple[Outcome, Message] | tuple[Outcome, Message, Mapping | None]


@dataclass(frozen=True)
class Criterion:
    code: CriterionCode
    reads: frozenset[str]  # the Assessment fields the judgement depends on
    judge: Callable[[Assessment, Context], Judgement]


# -- formatting -----------------------------------------------------------------------------------------------


def _ratio(ratio: Decimal, threshold: Decimal, exactly_threshold: bool) -> Decimal:
    """The ratio to one decimal, or to as many more as it takes not to look equal to the threshold."""
    for places in range(1, 7):
        shown = ratio.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if exactly_threshold or shown != threshold:
            return shown
    return ratio


_PNEUMONIA_LABELS = {
    Pneumonia.NONE: pmsg("pneumonia severity", "none"),
    Pneumonia.MILD: pmsg("pneumonia severity", "mild"),
    Pneumonia.MODERATE: pmsg("pneumonia severity", "moderate"),
    Pneumonia.SEVERE: pmsg("pneumonia severity", "severe"),
}
_SUPPORT_LABELS = {
    RespiratorySupport.NONE: msg("no respiratory support"),
    RespiratorySupport.LOW_FLOW_OXYGEN: msg("low-flow oxygen"),
    RespiratorySupport.HIGH_FLOW_OXYGEN: msg("high-flow oxygen"),
    RespiratorySupport.CPAP: msg("CPAP"),
    RespiratorySupport.NIV: msg("non-invasive ventilation"),
    RespiratorySupport.IMV: msg("invasive mechanical ventilation"),
    RespiratorySupport.ECMO: msg("ECMO"),
}


def _pneumonia_label(value: str) -> Message | str:
    return _PNEUMONIA_LABELS.get(value, value)


def _support_label(value: str) -> Message | str:
    return _SUPPORT_LABELS.get(value, value)


def _regimen_text(regimen: Regimen) -> Message:
    return nmsg(
        "%(dose)s mg %(route)s every %(interval)s h for %(days)s day",
        "%(dose)s mg %(route)s every %(interval)s h for %(days)s days",
        regimen.duration_days,
        {
            "dose": regimen.dose_mg,
            "route": regimen.route,
            "interval": regimen.interval_hours,
            "days": regimen.duration_days,
        },
    )


# What a drug class is called when a medicine is recognised only by its ATC group (keys of the catalogue's
# classes; a class not named here is shown by its key).
_CLASS_LABELS = {
    "interleukin_inhibitor": msg("interleukin inhibitors"),
    "jak_inhibitor": msg("JAK inhibitors"),
    "topical_jak_inhibitor": msg("topical JAK inhibitors"),
    "tnf_alpha_antagonist": msg("TNF-α antagonists"),
    "cyp450_narrow_therapeutic_index": msg("CYP450 substrates with a narrow therapeutic index"),
}


def _drug_text(exposure: Exposure) -> Message | str:
    """Name and code, as in "tocilizumab (L04AC07)"; a medicine known only by its code, by the code alone; a code
    recognised only by its group names the group: "L04AC99 (ATC group L04AC: interleukin inhibitors)"."""
    match = exposure.match
    if match.substance is None and match.atc_group:
        drug_class = match.drug_class
        values = {
            "code": match.atc_code,
            "group": match.atc_group,
            "class": _CLASS_LABELS.get(drug_class.key, drug_class.key.replace("_", " ")),
        }
        if match.display_name == match.atc_code:
            return msg("%(code)s (ATC group %(group)s: %(class)s)", values)
        return msg("%(name)s (%(code)s, ATC group %(group)s: %(class)s)", {**values, "name": match.display_name})
    if match.display_name == match.atc_code:
        return match.atc_code
    return f"{match.display_name} ({match.atc_code})"


def _written(medication: ConcomitantMedication) -> str:
    """A medicine as the clinician wrote it: "name (code)", or whichever of the two was given."""
    name, code = (medication.name or "").strip(), (medication.atc_code or "").strip()
    return f"{name} ({code})" if name and code else medication.label


def _unrecognised_text(medication: ConcomitantMedication, catalogue: Catalogue) -> Message:
    """Why the catalogue does not know a medicine, and the one thing that clears it."""
    if group := catalogue.ambiguous_group(medication.atc_code):
        # The code was given: asking for it again would contradict the prescriber.
        return msg(
            "%(medicine)s: its ATC code lies in group %(group)s, which holds interleukin or JAK inhibitors beside "
            "other medicines, and the interaction catalogue does not list it. Confirm that it is neither an "
            "interleukin inhibitor nor a JAK inhibitor",
            {"medicine": _written(medication), "group": group},
        )
    if medication.atc_code:
        return msg(
            "%(medicine)s: an incomplete ATC code, not recognised by the interaction catalogue. Give its complete "
            "ATC code (7 characters, for example N02BE01), or confirm that it is neither an interleukin inhibitor "
            "nor a JAK inhibitor",
            {"medicine": _written(medication)},
        )
    return msg(
        "%(medicine)s: not recognised by the interaction catalogue. Give its complete ATC code (7 characters, for "
        "example N02BE01), or confirm that it is neither an interleukin inhibitor nor a JAK inhibitor",
        {"medicine": medication.label},
    )


def _exposure_text(exposure: Exposure) -> Message:
    if exposure.status is ExposureStatus.ONGOING:
        return msg("%(drug)s, ongoing", {"drug": _drug_text(exposure)})
    if exposure.status is ExposureStatus.UNDATED:
        return msg("%(drug)s, no last dose given: counted as ongoing", {"drug": _drug_text(exposure)})
    assert exposure.medication.last_dose_at is not None and exposure.window_ends_at is not None
    values = {
        "drug": _drug_text(exposure),
        "days": exposure.match.washout_days,
        "last_dose": rome_date(exposure.medication.last_dose_at),
        "window_end": rome_date(exposure.window_ends_at),
    }
    if exposure.status is ExposureStatus.INSIDE_WINDOW:
        return nmsg(
            "%(drug)s, last dose %(last_dose)s: inside its %(days)s-day washout window (ends %(window_end)s)",
            "%(drug)s, last dose %(last_dose)s: inside its %(days)s-day washout window (ends %(window_end)s)",
            exposure.match.washout_days,
            values,
        )
    return nmsg(
        "%(drug)s, last dose %(last_dose)s: outside its %(days)s-day washout window (ended %(window_end)s)",
        "%(drug)s, last dose %(last_dose)s: outside its %(days)s-day washout window (ended %(window_end)s)",
        exposure.match.washout_days,
        values,
    )


def _exposures_text(exposures: Sequence[Exposure]) -> Message:
    return join("; ", (_exposure_text(exposure) for exposure in exposures))


def _sentences(*parts: Message | None) -> Message:
    """The parts given, as sentences; a single one stands alone (not wrapped in a join)."""
    given = [part for part in parts if part]
    return given[0] if len(given) == 1 else join(". ", given)


# -- the mandatory criteria (CTS 23/09/2021, Determina 114586/2021, Kineret SmPC) ---------------------------


def age_adult(assessment: Assessment, context: Context) -> Judgement:
    minimum = context.criteria.thresholds.adult_age_years
    values: dict = {"birth_date": assessment.birth_date, "date": context.assessed_on, "min_age": minimum}
    if assessment.birth_date > context.assessed_on:
        return Outcome.FAIL, msg("Born %(birth_date)s, after the assessment date %(date)s", values)
    values["age"] = age_in_years(assessment.birth_date, context.assessed_on)
    if values["age"] >= minimum:
        return Outcome.PASS, msg("Born %(birth_date)s: aged %(age)s on %(date)s, at least %(min_age)s", values)
    return Outcome.FAIL, msg(
        "Born %(birth_date)s: aged %(age)s on %(date)s, under %(min_age)s; the listing is for adults", values
    )


def hospitalised(assessment: Assessment, context: Context) -> Judgement:
    if assessment.hospitalised:
        return Outcome.PASS, msg("Admitted to hospital")
    return Outcome.FAIL, msg("Not admitted to hospital; the listing is for hospitalised patients")


def sars_cov_2_confirmed(assessment: Assessment, context: Context) -> Judgement:
    if assessment.sars_cov_2_confirmed:
        return Outcome.PASS, msg("SARS-CoV-2 infection confirmed")
    return Outcome.FAIL, msg("SARS-CoV-2 infection not confirmed by a molecular test")


def pneumonia_moderate_severe(assessment: Assessment, context: Context) -> Judgement:
    eligible = context.criteria.pneumonia_eligible
    severity = _pneumonia_label(assessment.pneumonia)
    if assessment.pneumonia in eligible:
        return Outcome.PASS, msg("COVID-19 pneumonia: %(severity)s", {"severity": severity})
    return Outcome.FAIL, msg(
        "COVID-19 pneumonia: %(severity)s; required: %(required)s",
        {"severity": severity, "required": join(", ", (_pneumonia_label(value) for value in eligible))},
    )


def pao2_fio2_above(assessment: Assessment, context: Context) -> Judgement:
    threshold = context.criteria.thresholds.pao2_fio2_above_mmhg
    # Compared without dividing, so that no rounding can lift 150 over the line (45/0.30 fails).
    above = assessment.pao2_mmhg > threshold * assessment.fio2
    exactly = assessment.pao2_mmhg == threshold * assessment.fio2
    values = {
        "pao2": assessment.pao2_mmhg,
        "fio2": assessment.fio2,
        "ratio": _ratio(pao2_fio2_ratio(assessment), threshold, exactly),
        "threshold": threshold,
    }
    if above:
        return Outcome.PASS, msg("PaO2/FiO2 = %(pao2)s/%(fio2)s = %(ratio)s mmHg, above %(threshold)s", values)
    return Outcome.FAIL, msg("PaO2/FiO2 = %(pao2)s/%(fio2)s = %(ratio)s mmHg, not above %(threshold)s", values)


def pao2_fio2_ratio(assessment: Assessment) -> Decimal:
    return assessment.pao2_mmhg / assessment.fio2


def no_cpap_or_ventilation(assessment: Assessment, context: Context) -> Judgement:
    allowed = context.criteria.respiratory_support_allowed
    support = _support_label(assessment.respiratory_support)
    if assessment.respiratory_support in allowed:
        return Outcome.PASS, msg("Respiratory support: %(support)s, allowed", {"support": support})
    return Outcome.FAIL, msg(
        "Respiratory support: %(support)s, not allowed (allowed: %(allowed)s)",
        {"support": support, "allowed": join(", ", (_support_label(value) for value in allowed))},
    )


def supar_at_least(assessment: Assessment, context: Context) -> Judgement:
    threshold = context.criteria.thresholds.supar_at_least_ng_ml
    values = {"value": assessment.supar_ng_ml, "threshold": threshold}
    if assessment.supar_ng_ml >= threshold:
        return Outcome.PASS, msg("suPAR %(value)s ng/mL, at least %(threshold)s", values)
    return Outcome.FAIL, msg("suPAR %(value)s ng/mL, below %(threshold)s", values)


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
    catalogue = context.criteria.catalogue
    unrecognised = join(". ", (_unrecognised_text(medication, catalogue) for medication in unconfirmed))
    if counted or unconfirmed:
        listed = context.criteria.catalogue.substance(context.criteria.listed_substance)
        already_running = any(exposure.match.substance == listed for exposure in counted)
        return (
            Outcome.FAIL,
            _sentences(
                _exposures_text(counted),
                msg("Co-administration with another interleukin inhibitor or a JAK inhibitor is not allowed")
                if counted
                else None,
                msg("Anakinra itself is listed: a course is already running") if already_running else None,
                unrecognised,
            ),
            details,
        )
    if systemic:
        message = msg(
            "No interleukin or JAK inhibitor ongoing or inside its washout window: %(medicines)s",
            {"medicines": _exposures_text(systemic)},
        )
    else:
        message = msg("No interleukin or JAK inhibitor among the concomitant medications")
    confirmation = (
        msg(
            "Not in the interaction catalogue, confirmed by the prescriber as neither an interleukin "
            "nor a JAK inhibitor: %(medicines)s",
            {"medicines": ", ".join(medication.label for medication in confirmed)},
        )
        if confirmed
        else None
    )
    if topical:
        return (
            Outcome.WARN,
            _sentences(
                _exposures_text(topical),
                msg(
                    "A topical JAK inhibitor: little reaches the blood, so it does not block, but watch for infections"
                ),
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
    given = assessment.regimen or required
    accepted = context.criteria.accepted_regimens(assessment.creatinine_clearance_ml_min)
    values: dict = {
        "regimen": _regimen_text(given),
        "required": _regimen_text(required),
        "threshold": context.criteria.thresholds.creatinine_clearance_below_ml_min,
    }
    if renal is not None and renal in accepted:
        values.update(
            renal=_regimen_text(renal),
            doses=renal.doses,
            clearance=assessment.creatinine_clearance_ml_min or Decimal(0),
        )
        if _regimen_matches(given, renal):
            return Outcome.PASS, msg(
                "%(regimen)s (%(doses)s doses): the listing's regimen in severe renal impairment "
                "(creatinine clearance %(clearance)s mL/min, below %(threshold)s)",
                values,
            )
        if _regimen_matches(given, required):
            return Outcome.PASS, msg(
                "%(regimen)s: the regimen of the listing; with creatinine clearance %(clearance)s mL/min "
                "(below %(threshold)s) %(renal)s (%(doses)s doses) is also accepted",
                values,
            )
        return Outcome.FAIL, msg(
            "%(regimen)s: not the regimen of the listing (%(required)s, or %(renal)s with creatinine clearance "
            "below %(threshold)s), not reimbursable under Law 648/96",
            values,
        )
    if _regimen_matches(given, required):
        return Outcome.PASS, msg("%(regimen)s: the regimen of the listing", {"regimen": values["regimen"]})
    if renal is not None and _regimen_matches(given, renal):
        return Outcome.FAIL, msg(
            "%(regimen)s: accepted only with creatinine clearance below %(threshold)s mL/min; otherwise the "
            "regimen of the listing is %(required)s",
            values,
        )
    return Outcome.FAIL, msg(
        "%(regimen)s: not the regimen of the listing (%(required)s), not reimbursable under Law 648/96",
        {"regimen": values["regimen"], "required": values["required"]},
    )


def no_neutropenia(assessment: Assessment, context: Context) -> Judgement:
    threshold = context.criteria.thresholds.anc_at_least_10e9_l
    if assessment.anc_10e9_l is None:
        return Outcome.INFO, msg(
            "ANC not given: check it is at least %(threshold)s ×10⁹/L before the first dose", {"threshold": threshold}
        )
    values = {"value": assessment.anc_10e9_l, "threshold": threshold}
    if assessment.anc_10e9_l >= threshold:
        return Outcome.PASS, msg("ANC %(value)s ×10⁹/L, at least %(threshold)s", values)
    return Outcome.FAIL, msg("ANC %(value)s ×10⁹/L, below %(threshold)s: anakinra must not be started", values)


def no_hypersensitivity(assessment: Assessment, context: Context) -> Judgement:
    if assessment.known_hypersensitivity:
        return Outcome.FAIL, msg("Known hypersensitivity to anakinra or to E. coli-derived proteins")
    return Outcome.PASS, msg("No known hypersensitivity to anakinra or to E. coli-derived proteins")


def tocilizumab_shortage(assessment: Assessment, context: Context) -> Judgement:
    """Determina 114586/2021 lists anakinra "nel caso di carenza del medicinale tocilizumab"."""
    if not context.criteria.requires_tocilizumab_shortage:
        return Outcome.PASS, msg("This criteria version does not require a tocilizumab shortage")
    for shortage in context.shortages:
        if shortage.covers(context.assessed_on):
            return Outcome.PASS, msg(
                "Tocilizumab shortage in force on %(date)s (%(reference)s, from %(starts_on)s)",
                {"date": context.assessed_on, "reference": shortage.reference, "starts_on": shortage.starts_on},
            )
    return Outcome.FAIL, msg(
        "No tocilizumab shortage recorded as in force on %(date)s; the listing applies only while "
        "tocilizumab is in shortage",
        {"date": context.assessed_on},
    )


# -- the warnings: recorded and shown, never refusing ----------------------------------------------------------


def tnf_alpha_antagonist(assessment: Assessment, context: Context) -> Judgement:
    exposures = context.medications.for_criterion(CriterionCode.TNF_ALPHA_ANTAGONIST)
    counted = [exposure for exposure in exposures if exposure.counts]
    if counted:
        return Outcome.WARN, _sentences(
            _exposures_text(counted),
            msg("Concomitant anakinra and TNF-α antagonists are not recommended"),
        )
    if exposures:
        return Outcome.PASS, msg(
            "No TNF-α antagonist ongoing or inside its washout window: %(medicines)s",
            {"medicines": _exposures_text(exposures)},
        )
    return Outcome.PASS, msg("No TNF-α antagonist among the concomitant medications")


def cyp450_narrow_therapeutic_index(assessment: Assessment, context: Context) -> Judgement:
    exposures = context.medications.for_criterion(CriterionCode.CYP450_NARROW_THERAPEUTIC_INDEX)
    counted = [exposure for exposure in exposures if exposure.counts]
    if counted:
        return Outcome.WARN, _sentences(
            _exposures_text(counted),
            msg(
                "CYP450 substrate with a narrow therapeutic index: anakinra normalises CYP450 formation, so "
                "monitor its effect or concentration when anakinra starts or ends and adjust its dose if needed"
            ),
        )
    if exposures:
        return Outcome.PASS, msg(
            "No CYP450 substrate with a narrow therapeutic index ongoing or inside its washout window: %(medicines)s",
            {"medicines": _exposures_text(exposures)},
        )
    return Outcome.PASS, msg("No CYP450 substrate with a narrow therapeutic index among the concomitant medications")


def renal_impairment(assessment: Assessment, context: Context) -> Judgement:
    """Warns below the threshold. A clearance not given is ``info``, like a missing ANC: it cannot pass
    unchecked, and it cannot warn about a value nobody measured."""
    threshold = context.criteria.thresholds.creatinine_clearance_below_ml_min
    if assessment.creatinine_clearance_ml_min is None:
        return Outcome.INFO, msg("Creatinine clearance not given: renal function not checked")
    values: dict = {"value": assessment.creatinine_clearance_ml_min, "threshold": threshold}
    if assessment.creatinine_clearance_ml_min < threshold:
        renal = context.criteria.renal_regimen
        if renal is not None:
            values.update(renal=_regimen_text(renal), doses=renal.doses)
            return Outcome.WARN, msg(
                "Creatinine clearance %(value)s mL/min, below %(threshold)s: daily dosing may not suit; "
                "the listing also accepts %(renal)s (%(doses)s doses), as the SmPC advises in severe renal impairment",
                values,
            )
        return Outcome.WARN, msg(
            "Creatinine clearance %(value)s mL/min, below %(threshold)s: daily dosing may not suit "
            "(consider a dose every other day)",
            values,
        )
    return Outcome.PASS, msg("Creatinine clearance %(value)s mL/min, not below %(threshold)s", values)


def liver_enzymes(assessment: Assessment, context: Context) -> Judgement:
    """Warns when ALT or AST is at or above the threshold; ``info`` when neither is raised but one is
    missing."""
    threshold = context.criteria.thresholds.liver_enzymes_at_least_x_uln
    enzymes = (("ALT", assessment.alt_x_uln), ("AST", assessment.ast_x_uln))
    shown = join(
        "; ",
        (
            msg("%(enzyme)s not given", {"enzyme": enzyme})
            if value is None
            else msg("%(enzyme)s %(value)s × ULN", {"enzyme": enzyme, "value": value})
            for enzyme, value in enzymes
        ),
    )
    values = {"enzymes": shown, "threshold": threshold}
    if any(value is not None and value >= threshold for _enzyme, value in enzymes):
        return Outcome.WARN, msg(
            "%(enzymes)s: at least %(threshold)s × ULN; not studied with anakinra, monitor liver enzymes", values
        )
    if any(value is None for _enzyme, value in enzymes):
        return Outcome.INFO, msg("%(enzymes)s: liver enzymes not fully checked", {"enzymes": shown})
    return Outcome.PASS, msg("%(enzymes)s: below %(threshold)s × ULN", values)


def pregnancy_breastfeeding(assessment: Assessment, context: Context) -> Judgement:
    """Kineret SmPC 4.6: no adequate data in pregnancy, avoid unless clearly needed; weigh breastfeeding."""
    if assessment.pregnant_or_breastfeeding:
        return Outcome.WARN, msg(
            "Pregnant or breastfeeding: as a precaution anakinra is avoided in pregnancy unless clearly needed; "
            "weigh stopping breastfeeding against the benefit of treatment"
        )
    return Outcome.PASS, msg("Neither pregnancy nor breastfeeding recorded")


def live_vaccine(assessment: Assessment, context: Context) -> Judgement:
    """Kineret SmPC 4.4, 4.5: live vaccines must not be given at the same time as anakinra."""
    if assessment.live_vaccine:
        return Outcome.WARN, msg(
            "A live vaccine given recently or planned: live vaccines must not be given at the same time as "
            "anakinra; postpone a planned one until after the course"
        )
    return Outcome.PASS, msg("No live vaccine recorded as given recently or planned")


# Texts of verdicts already stored, reworded since: named here so that ``make messages`` keeps their translations
# (a stored verdict renders the msgid it was written with).
RETIRED_TEXTS = (
    msg(
        "Not recognised by the interaction catalogue: %(medicines)s. Give its ATC code, or confirm that it is "
        "neither an interleukin inhibitor nor a JAK inhibitor"
    ),
)

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
    Criterion(CriterionCode.PREGNANCY_BREASTFEEDING, frozenset({"pregnant_or_breastfeeding"}), pregnancy_breastfeeding),
    Criterion(CriterionCode.LIVE_VACCINE, frozenset({"live_vaccine"}), live_vaccine),
)

if tuple(criterion.code for criterion in CRITERIA) != ALL_CRITERION_CODES:  # pragma: no cover
    raise ImportError("CRITERIA must judge every criterion code once, in the API's order")
