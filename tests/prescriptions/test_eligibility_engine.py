"""The eligibility engine, one case per rule of DOMAIN.md: thresholds on both sides and on the boundary.

No database: the engine is a pure function. Messages are checked in English (the registry's default language is
Italian, so the English ones are asked for explicitly: a result's message is rendered when read, so every test reads
in English); the Italian ones have their own test at the end.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from prescriptions.eligibility import (
    ALL_CRITERION_CODES,
    SHIPPED_VERSIONS,
    Assessment,
    ConcomitantMedication,
    InvalidCriteriaVersion,
    NoCriteriaInForce,
    Regimen,
    ShortagePeriod,
    Verdict,
    criteria_in_force,
    criteria_version,
    evaluate,
    load_versions,
)
from prescriptions.eligibility.calendar import REGISTRY_TIME_ZONE as ROME
from prescriptions.eligibility.text import rendered_verdict
from prescriptions.eligibility.versioning import VERSIONS_DIR

ASSESSED_AT = datetime(2021, 11, 3, 10, 0, tzinfo=ROME)
SHORTAGE = ShortagePeriod(starts_on=date(2021, 10, 5), ends_on=None, reference="AIFA shortage notice 2021")


def assessment(**changes) -> Assessment:
    """An adult who meets every criterion, with every optional value given and nothing to warn about."""
    base = Assessment(
        assessed_at=ASSESSED_AT,
        birth_date=date(1960, 5, 1),
        sex="F",
        weight_kg=Decimal("70"),
        hospitalised=True,
        sars_cov_2_confirmed=True,
        pneumonia="severe",
        pao2_mmhg=Decimal("80"),
        fio2=Decimal("0.40"),
        respiratory_support="low_flow_oxygen",
        supar_ng_ml=Decimal("7.2"),
        anc_10e9_l=Decimal("3.1"),
        creatinine_clearance_ml_min=Decimal("80"),
        alt_x_uln=Decimal("0.8"),
        ast_x_uln=Decimal("1.1"),
        known_hypersensitivity=False,
        concomitant_medications=(),
        regimen=None,  # the criteria version's
    )
    return replace(base, **changes)


@pytest.fixture(autouse=True)
def _english():
    """Messages are rendered when they are read: these tests read them in English."""
    with translation.override("en"):
        yield


def judge(subject: Assessment, shortages=(SHORTAGE,), criteria=None) -> Verdict:
    return evaluate(subject, criteria=criteria or criteria_in_force(subject.assessed_at), shortages=shortages)


def medication(
    name=None, atc_code=None, *, ongoing=False, last_dose_at=None, confirmed_not_il_jak=False
) -> ConcomitantMedication:
    return ConcomitantMedication(
        name=name,
        atc_code=atc_code,
        ongoing=ongoing,
        last_dose_at=last_dose_at,
        confirmed_not_il_jak=confirmed_not_il_jak,
    )


def days_before(days: float) -> datetime:
    """``days`` × 24 h of elapsed time before the assessment (in UTC: not the wall clock, which moved)."""
    return (ASSESSED_AT.astimezone(UTC) - timedelta(days=days)).astimezone(ROME)


def test_the_reference_patient_is_eligible_on_every_criterion():
    verdict = judge(assessment())

    assert verdict.eligible
    assert verdict.criteria_version == "L648-2021-10"
    assert [result.code for result in verdict.results] == list(ALL_CRITERION_CODES)
    assert {result.outcome for result in verdict.results} == {"pass"}
    assert verdict.failed_codes == ()


def test_the_api_example_gives_the_api_answer():
    verdict = judge(
        assessment(
            concomitant_medications=(
                medication(atc_code="L04AC07", last_dose_at=datetime(2021, 11, 1, 8, 0, tzinfo=ROME)),
                medication("warfarin", ongoing=True),
            )
        )
    )
    stored = verdict.as_dict()
    body = rendered_verdict(stored)

    assert body["eligible"] is False
    assert body["criteria_version"] == "L648-2021-10"
    assert body["pao2_fio2_ratio"] == 200.0
    assert [result["code"] for result in body["results"]] == list(ALL_CRITERION_CODES)
    assert set(body["results"][0]) == {"code", "outcome", "message", "source"}
    assert set(stored["results"][0]) == {"code", "outcome", "text", "source"}
    outcomes = {result["code"]: result for result in body["results"]}
    assert outcomes["NO_IL_OR_JAK_INHIBITOR"]["outcome"] == "fail"
    assert outcomes["NO_IL_OR_JAK_INHIBITOR"]["message"].startswith(
        "tocilizumab (L04AC07), last dose 01 Nov 2021: inside its 65-day washout window"
    )
    assert outcomes["CYP450_NARROW_THERAPEUTIC_INDEX"]["outcome"] == "warn"
    assert outcomes["CYP450_NARROW_THERAPEUTIC_INDEX"]["message"].startswith("warfarin")
    assert verdict.failed_codes == ("NO_IL_OR_JAK_INHIBITOR",)
    json.dumps(stored)  # plain JSON types only


def test_every_result_cites_its_source():
    sources = {result.code: result.source for result in judge(assessment()).results}

    assert all(sources.values())
    assert "CTS 23/09/2021" in sources["PAO2_FIO2_ABOVE_150"]
    assert "114586" in sources["TOCILIZUMAB_SHORTAGE"]
    assert "SmPC" in sources["NO_NEUTROPENIA"]


# -- the mandatory criteria and the warnings, row by row --------------------------------------------------------

ROWS = [
    # AGE_ADULT: adult on the 18th birthday, by the Rome date of the assessment.
    ("18th birthday", {"birth_date": date(2003, 11, 3)}, "AGE_ADULT", "pass", "aged 18 on 03 Nov 2021"),
    ("day before 18th birthday", {"birth_date": date(2003, 11, 4)}, "AGE_ADULT", "fail", "aged 17"),
    ("aged 17", {"birth_date": date(2004, 1, 1)}, "AGE_ADULT", "fail", "under 18"),
    ("aged 61", {}, "AGE_ADULT", "pass", "aged 61"),
    (
        "18th birthday in Rome, 17 in UTC",
        {"birth_date": date(2003, 11, 3), "assessed_at": datetime(2021, 11, 2, 23, 30, tzinfo=UTC)},
        "AGE_ADULT",
        "pass",
        "on 03 Nov 2021",
    ),
    (
        "born 29 Feb, 28 Feb of a common year",
        {"birth_date": date(2004, 2, 29), "assessed_at": datetime(2022, 2, 28, 12, tzinfo=ROME)},
        "AGE_ADULT",
        "fail",
        "aged 17",
    ),
    (
        "born 29 Feb, 1 Mar of a common year",
        {"birth_date": date(2004, 2, 29), "assessed_at": datetime(2022, 3, 1, 12, tzinfo=ROME)},
        "AGE_ADULT",
        "pass",
        "aged 18",
    ),
    (
        "born 29 Feb, 29 Feb of a leap year",
        {"birth_date": date(2004, 2, 29), "assessed_at": datetime(2024, 2, 29, 12, tzinfo=ROME)},
        "AGE_ADULT",
        "pass",
        "aged 20",
    ),
    ("born after the assessment", {"birth_date": date(2021, 11, 4)}, "AGE_ADULT", "fail", "after"),
    # HOSPITALISED, SARS_COV_2_CONFIRMED
    ("hospitalised", {}, "HOSPITALISED", "pass", "Admitted"),
    ("not hospitalised", {"hospitalised": False}, "HOSPITALISED", "fail", "Not admitted"),
    ("infection confirmed", {}, "SARS_COV_2_CONFIRMED", "pass", "confirmed"),
    ("infection not confirmed", {"sars_cov_2_confirmed": False}, "SARS_COV_2_CONFIRMED", "fail", "not"),
    # PNEUMONIA_MODERATE_SEVERE
    ("no pneumonia", {"pneumonia": "none"}, "PNEUMONIA_MODERATE_SEVERE", "fail", "none"),
    ("mild pneumonia", {"pneumonia": "mild"}, "PNEUMONIA_MODERATE_SEVERE", "fail", "mild"),
    ("moderate pneumonia", {"pneumonia": "moderate"}, "PNEUMONIA_MODERATE_SEVERE", "pass", "moderate"),
    ("severe pneumonia", {"pneumonia": "severe"}, "PNEUMONIA_MODERATE_SEVERE", "pass", "severe"),
    # PAO2_FIO2_ABOVE_150: strictly above, compared exactly.
    ("ratio 200", {}, "PAO2_FIO2_ABOVE_150", "pass", "PaO2/FiO2 = 80/0.40 = 200.0 mmHg, above 150"),
    (
        "ratio exactly 150 (45/0.30)",
        {"pao2_mmhg": Decimal("45"), "fio2": Decimal("0.30")},
        "PAO2_FIO2_ABOVE_150",
        "fail",
        "45/0.30 = 150.0 mmHg, not above 150",
    ),
    (
        "ratio just above 150 (45.01/0.30)",
        {"pao2_mmhg": Decimal("45.01"), "fio2": Decimal("0.30")},
        "PAO2_FIO2_ABOVE_150",
        "pass",
        "= 150.03 mmHg, above 150",
    ),
    (
        "ratio just below 150 (44.99/0.30)",
        {"pao2_mmhg": Decimal("44.99"), "fio2": Decimal("0.30")},
        "PAO2_FIO2_ABOVE_150",
        "fail",
        "= 149.97 mmHg, not above 150",
    ),
    (
        "ratio exactly 150 (31.5/0.21)",
        {"pao2_mmhg": Decimal("31.5"), "fio2": Decimal("0.21")},
        "PAO2_FIO2_ABOVE_150",
        "fail",
        "not above",
    ),
    (
        "ratio 150.0002 (150.0002/1.0)",
        {"pao2_mmhg": Decimal("150.0002"), "fio2": Decimal("1.0")},
        "PAO2_FIO2_ABOVE_150",
        "pass",
        "= 150.0002 mmHg, above",
    ),
    (
        "ratio 60/0.40",
        {"pao2_mmhg": Decimal("60"), "fio2": Decimal("0.40")},
        "PAO2_FIO2_ABOVE_150",
        "fail",
        "150.0",
    ),
    # NO_CPAP_OR_VENTILATION: low- and high-flow oxygen allowed.
    ("no support", {"respiratory_support": "none"}, "NO_CPAP_OR_VENTILATION", "pass", "allowed"),
    ("low flow", {"respiratory_support": "low_flow_oxygen"}, "NO_CPAP_OR_VENTILATION", "pass", "low-flow"),
    ("high flow", {"respiratory_support": "high_flow_oxygen"}, "NO_CPAP_OR_VENTILATION", "pass", "high-flow"),
    ("CPAP", {"respiratory_support": "cpap"}, "NO_CPAP_OR_VENTILATION", "fail", "CPAP, not allowed"),
    ("NIV", {"respiratory_support": "niv"}, "NO_CPAP_OR_VENTILATION", "fail", "non-invasive ventilation"),
    ("IMV", {"respiratory_support": "imv"}, "NO_CPAP_OR_VENTILATION", "fail", "invasive mechanical"),
    ("ECMO", {"respiratory_support": "ecmo"}, "NO_CPAP_OR_VENTILATION", "fail", "ECMO, not allowed"),
    # SUPAR_AT_LEAST_6: 6 itself passes.
    ("suPAR 6", {"supar_ng_ml": Decimal("6")}, "SUPAR_AT_LEAST_6", "pass", "suPAR 6 ng/mL, at least 6"),
    ("suPAR 6.0", {"supar_ng_ml": Decimal("6.0")}, "SUPAR_AT_LEAST_6", "pass", "suPAR 6.0 ng/mL"),
    ("suPAR 5.99", {"supar_ng_ml": Decimal("5.99")}, "SUPAR_AT_LEAST_6", "fail", "5.99 ng/mL, below 6"),
    ("suPAR 6.01", {"supar_ng_ml": Decimal("6.01")}, "SUPAR_AT_LEAST_6", "pass", "6.01"),
    ("suPAR 0", {"supar_ng_ml": Decimal("0")}, "SUPAR_AT_LEAST_6", "fail", "below"),
    # REGIMEN_648: 100 mg SC every 24 h for 10 days, nothing else.
    ("L.648 regimen", {}, "REGIMEN_648", "pass", "100 mg SC every 24 h for 10 days"),
    (
        "same regimen written 100.0 and sc",
        {"regimen": Regimen(Decimal("100.0"), "sc", 24, 10)},
        "REGIMEN_648",
        "pass",
        "regimen of the listing",
    ),
    (
        "every 12 h",
        {"regimen": Regimen(Decimal("100"), "SC", 12, 10)},
        "REGIMEN_648",
        "fail",
        "not reimbursable under Law 648/96",
    ),
    ("200 mg", {"regimen": Regimen(Decimal("200"), "SC", 24, 10)}, "REGIMEN_648", "fail", "200 mg"),
    ("intravenous", {"regimen": Regimen(Decimal("100"), "IV", 24, 10)}, "REGIMEN_648", "fail", "IV"),
    ("7 days", {"regimen": Regimen(Decimal("100"), "SC", 24, 7)}, "REGIMEN_648", "fail", "7 days"),
    ("1 day", {"regimen": Regimen(Decimal("100"), "SC", 24, 1)}, "REGIMEN_648", "fail", "for 1 day:"),
    # NO_NEUTROPENIA: info when ANC is not given.
    ("ANC 1.5", {"anc_10e9_l": Decimal("1.5")}, "NO_NEUTROPENIA", "pass", "ANC 1.5 ×10⁹/L, at least 1.5"),
    ("ANC 1.49", {"anc_10e9_l": Decimal("1.49")}, "NO_NEUTROPENIA", "fail", "below 1.5"),
    ("ANC 1.51", {"anc_10e9_l": Decimal("1.51")}, "NO_NEUTROPENIA", "pass", "1.51"),
    ("ANC not given", {"anc_10e9_l": None}, "NO_NEUTROPENIA", "info", "ANC not given"),
    # NO_HYPERSENSITIVITY
    ("no hypersensitivity", {}, "NO_HYPERSENSITIVITY", "pass", "No known hypersensitivity"),
    ("hypersensitivity", {"known_hypersensitivity": True}, "NO_HYPERSENSITIVITY", "fail", "E. coli"),
    # RENAL_IMPAIRMENT (warning): below 30 warns; not given is info.
    ("clearance 29.9", {"creatinine_clearance_ml_min": Decimal("29.9")}, "RENAL_IMPAIRMENT", "warn", "29.9"),
    ("clearance 30", {"creatinine_clearance_ml_min": Decimal("30")}, "RENAL_IMPAIRMENT", "pass", "not below"),
    ("clearance 30.1", {"creatinine_clearance_ml_min": Decimal("30.1")}, "RENAL_IMPAIRMENT", "pass", "30.1"),
    (
        "clearance 0",
        {"creatinine_clearance_ml_min": Decimal("0")},
        "RENAL_IMPAIRMENT",
        "warn",
        "also accepts 100 mg SC every 48 h for 10 days (5 doses)",
    ),
    ("clearance not given", {"creatinine_clearance_ml_min": None}, "RENAL_IMPAIRMENT", "info", "not given"),
    # LIVER_ENZYMES (warning): ALT or AST at or above 1.5 × ULN.
    ("ALT 1.5", {"alt_x_uln": Decimal("1.5")}, "LIVER_ENZYMES", "warn", "ALT 1.5 × ULN"),
    ("AST 1.5", {"ast_x_uln": Decimal("1.5")}, "LIVER_ENZYMES", "warn", "AST 1.5 × ULN"),
    (
        "ALT and AST 1.49",
        {"alt_x_uln": Decimal("1.49"), "ast_x_uln": Decimal("1.49")},
        "LIVER_ENZYMES",
        "pass",
        "below 1.5",
    ),
    ("ALT 3, AST 0.5", {"alt_x_uln": Decimal("3")}, "LIVER_ENZYMES", "warn", "monitor liver enzymes"),
    ("AST not given", {"ast_x_uln": None}, "LIVER_ENZYMES", "info", "AST not given"),
    ("AST not given, ALT raised", {"ast_x_uln": None, "alt_x_uln": Decimal("2")}, "LIVER_ENZYMES", "warn", ""),
    ("neither given", {"alt_x_uln": None, "ast_x_uln": None}, "LIVER_ENZYMES", "info", "ALT not given"),
    # PREGNANCY_BREASTFEEDING (warning, SmPC 4.6): only when the prescriber records it.
    (
        "pregnant or breastfeeding",
        {"pregnant_or_breastfeeding": True},
        "PREGNANCY_BREASTFEEDING",
        "warn",
        "unless clearly needed",
    ),
    ("not pregnant", {"pregnant_or_breastfeeding": False}, "PREGNANCY_BREASTFEEDING", "pass", "Neither pregnancy"),
    # LIVE_VACCINE (warning, SmPC 4.4, 4.5): a live vaccine given recently or planned.
    ("live vaccine", {"live_vaccine": True}, "LIVE_VACCINE", "warn", "not be given at the same time"),
    ("no live vaccine", {"live_vaccine": False}, "LIVE_VACCINE", "pass", "No live vaccine"),
]


@pytest.mark.parametrize(
    ("changes", "code", "outcome", "fragment"), [row[1:] for row in ROWS], ids=[r[0] for r in ROWS]
)
def test_criterion(changes, code, outcome, fragment):
    verdict = judge(assessment(**changes))
    result = verdict.result(code)

    assert (result.outcome, fragment in result.message) == (outcome, True), result.message
    # The reference patient passes everything else, so this one criterion alone decides.
    assert verdict.eligible is (outcome != "fail")


# -- TOCILIZUMAB_SHORTAGE: a recorded shortage covering the Rome date of the assessment --------------------------

SHORTAGE_ROWS = [
    ("open-ended shortage", [SHORTAGE], "pass"),
    ("no shortage recorded", [], "fail"),
    ("ended the day before", [ShortagePeriod(date(2021, 10, 5), date(2021, 11, 2), "n. 1")], "fail"),
    ("ends that day (included)", [ShortagePeriod(date(2021, 10, 5), date(2021, 11, 3), "n. 1")], "pass"),
    ("starts that day", [ShortagePeriod(date(2021, 11, 3), None, "n. 2")], "pass"),
    ("starts the day after", [ShortagePeriod(date(2021, 11, 4), None, "n. 2")], "fail"),
    (
        "second of two periods",
        [
            ShortagePeriod(date(2021, 10, 5), date(2021, 10, 20), "n. 1"),
            ShortagePeriod(date(2021, 11, 1), None, "n. 2"),
        ],
        "pass",
    ),
]


@pytest.mark.parametrize(
    ("shortages", "outcome"), [row[1:] for row in SHORTAGE_ROWS], ids=[r[0] for r in SHORTAGE_ROWS]
)
def test_tocilizumab_shortage(shortages, outcome):
    verdict = judge(assessment(), shortages=shortages)

    assert verdict.result("TOCILIZUMAB_SHORTAGE").outcome == outcome
    assert verdict.eligible is (outcome == "pass")


def test_shortage_is_judged_on_the_rome_date():
    # 23:30 UTC on 2 November is already 3 November in Rome.
    late = assessment(assessed_at=datetime(2021, 11, 2, 23, 30, tzinfo=UTC))
    result = judge(late, shortages=[ShortagePeriod(date(2021, 11, 3), None, "n. 3")]).result("TOCILIZUMAB_SHORTAGE")

    assert result.outcome == "pass"
    assert "in force on 03 Nov 2021 (n. 3, from 03 Nov 2021)" in result.message


def test_shortage_message_names_the_day_when_missing():
    result = judge(assessment(), shortages=[]).result("TOCILIZUMAB_SHORTAGE")

    assert "No tocilizumab shortage recorded as in force on 03 Nov 2021" in result.message


# -- co-medication: each drug class by ATC code, legacy code, name and brand --------------------------------------

ONGOING_ROWS = [
    # Interleukin inhibitors: refuse.
    ("tocilizumab by ATC", medication(atc_code="L04AC07"), "NO_IL_OR_JAK_INHIBITOR", "fail", "tocilizumab (L04AC07)"),
    ("tocilizumab by name", medication(" Tocilizumab "), "NO_IL_OR_JAK_INHIBITOR", "fail", "tocilizumab (L04AC07)"),
    ("RoActemra by brand", medication("ROACTEMRA 20 mg/ml"), "NO_IL_OR_JAK_INHIBITOR", "fail", "tocilizumab"),
    ("sarilumab by brand", medication("kevzara"), "NO_IL_OR_JAK_INHIBITOR", "fail", "sarilumab (L04AC14)"),
    (
        "unlisted L04AC code",
        medication(atc_code="L04AC99"),
        "NO_IL_OR_JAK_INHIBITOR",
        "fail",
        "L04AC99 (ATC group L04AC: interleukin inhibitors), ongoing",
    ),
    (
        "L04AC with a name",
        medication("newkinumab", "l04ac99"),
        "NO_IL_OR_JAK_INHIBITOR",
        "fail",
        "newkinumab (L04AC99, ATC group L04AC: interleukin inhibitors)",
    ),
    ("siltuximab", medication("Sylvant"), "NO_IL_OR_JAK_INHIBITOR", "fail", "siltuximab (L04AC11)"),
    ("canakinumab", medication("ILARIS"), "NO_IL_OR_JAK_INHIBITOR", "fail", "canakinumab (L04AC08)"),
    ("dupilumab by ATC", medication(atc_code="D11AH05"), "NO_IL_OR_JAK_INHIBITOR", "fail", "dupilumab"),
    ("tralokinumab by brand", medication("Adtralza"), "NO_IL_OR_JAK_INHIBITOR", "fail", "tralokinumab (D11AH07)"),
    ("mepolizumab by ATC", medication(atc_code="R03DX09"), "NO_IL_OR_JAK_INHIBITOR", "fail", "mepolizumab"),
    ("mepolizumab legacy", medication(atc_code="L04AC06"), "NO_IL_OR_JAK_INHIBITOR", "fail", "mepolizumab (L04AC06)"),
    ("reslizumab by brand", medication("Cinqaero"), "NO_IL_OR_JAK_INHIBITOR", "fail", "reslizumab (R03DX08)"),
    ("benralizumab by brand", medication("FASENRA"), "NO_IL_OR_JAK_INHIBITOR", "fail", "benralizumab (R03DX10)"),
    # Anakinra itself: a course already runs.
    ("anakinra by brand", medication("Kineret"), "NO_IL_OR_JAK_INHIBITOR", "fail", "already running"),
    ("anakinra by ATC", medication(atc_code="L04AC03"), "NO_IL_OR_JAK_INHIBITOR", "fail", "anakinra (L04AC03)"),
    ("anakinra legacy", medication(atc_code="L04AA14"), "NO_IL_OR_JAK_INHIBITOR", "fail", "anakinra (L04AA14)"),
    # JAK inhibitors: refuse.
    ("baricitinib by brand", medication("Olumiant 4 mg"), "NO_IL_OR_JAK_INHIBITOR", "fail", "baricitinib (L04AF02)"),
    ("baricitinib legacy", medication(atc_code="L04AA37"), "NO_IL_OR_JAK_INHIBITOR", "fail", "baricitinib (L04AA37)"),
    ("tofacitinib legacy", medication(atc_code="L04AA29"), "NO_IL_OR_JAK_INHIBITOR", "fail", "tofacitinib"),
    ("tofacitinib by brand", medication("Xeljanz"), "NO_IL_OR_JAK_INHIBITOR", "fail", "tofacitinib (L04AF01)"),
    ("upadacitinib legacy", medication(atc_code="L04AA44"), "NO_IL_OR_JAK_INHIBITOR", "fail", "upadacitinib"),
    ("upadacitinib by brand", medication("rinvoq"), "NO_IL_OR_JAK_INHIBITOR", "fail", "upadacitinib"),
    ("filgotinib legacy", medication(atc_code="L04AA45"), "NO_IL_OR_JAK_INHIBITOR", "fail", "filgotinib"),
    ("filgotinib by brand", medication("Jyseleca"), "NO_IL_OR_JAK_INHIBITOR", "fail", "filgotinib (L04AF04)"),
    ("ruxolitinib by ATC", medication(atc_code="L01EJ01"), "NO_IL_OR_JAK_INHIBITOR", "fail", "ruxolitinib"),
    ("ruxolitinib by brand", medication("JAKAVI"), "NO_IL_OR_JAK_INHIBITOR", "fail", "ruxolitinib (L01EJ01)"),
    ("unlisted L04AF code", medication(atc_code="L04AF99"), "NO_IL_OR_JAK_INHIBITOR", "fail", "L04AF99"),
    # TNF-α antagonists: warn, never refuse.
    ("etanercept by ATC", medication(atc_code="L04AB01"), "TNF_ALPHA_ANTAGONIST", "warn", "etanercept (L04AB01)"),
    ("infliximab by brand", medication("Remicade"), "TNF_ALPHA_ANTAGONIST", "warn", "infliximab (L04AB02)"),
    ("adalimumab by brand", medication("HUMIRA 40 mg"), "TNF_ALPHA_ANTAGONIST", "warn", "adalimumab"),
    ("certolizumab by brand", medication("Cimzia"), "TNF_ALPHA_ANTAGONIST", "warn", "certolizumab pegol"),
    ("golimumab by brand", medication("simponi"), "TNF_ALPHA_ANTAGONIST", "warn", "golimumab (L04AB06)"),
    ("unlisted L04AB code", medication(atc_code="L04AB99"), "TNF_ALPHA_ANTAGONIST", "warn", "L04AB99"),
    # Narrow-therapeutic-index CYP450 substrates: warn, never refuse.
    ("warfarin by name", medication("warfarin"), "CYP450_NARROW_THERAPEUTIC_INDEX", "warn", "warfarin (B01AA03)"),
    ("warfarin by brand", medication("Coumadin 5 mg"), "CYP450_NARROW_THERAPEUTIC_INDEX", "warn", "warfarin"),
    ("phenytoin, Italian", medication("Fenitoina"), "CYP450_NARROW_THERAPEUTIC_INDEX", "warn", "phenytoin (N03AB02)"),
    ("phenytoin by brand", medication("DINTOINA"), "CYP450_NARROW_THERAPEUTIC_INDEX", "warn", "phenytoin"),
    ("acenocoumarol", medication("Sintrom"), "CYP450_NARROW_THERAPEUTIC_INDEX", "warn", "acenocoumarol (B01AA07)"),
    ("ciclosporin", medication("Sandimmun Neoral"), "CYP450_NARROW_THERAPEUTIC_INDEX", "warn", "ciclosporin"),
    ("theophylline", medication("Théo-Dur"), "CYP450_NARROW_THERAPEUTIC_INDEX", "warn", "theophylline (R03DA04)"),
    ("tacrolimus by ATC", medication(atc_code="L04AD02"), "CYP450_NARROW_THERAPEUTIC_INDEX", "warn", "tacrolimus"),
    ("carbamazepine", medication("Tegretol"), "CYP450_NARROW_THERAPEUTIC_INDEX", "warn", "carbamazepine"),
]


@pytest.mark.parametrize(
    ("taken", "code", "outcome", "fragment"), [row[1:] for row in ONGOING_ROWS], ids=[r[0] for r in ONGOING_ROWS]
)
def test_concomitant_medicine_ongoing(taken, code, outcome, fragment):
    verdict = judge(assessment(concomitant_medications=(replace(taken, ongoing=True),)))
    result = verdict.result(code)

    assert result.outcome == outcome
    assert fragment in result.message, result.message
    assert "ongoing" in result.message
    assert verdict.eligible is (outcome != "fail")
    # No other co-medication criterion is touched.
    for other in ("NO_IL_OR_JAK_INHIBITOR", "TNF_ALPHA_ANTAGONIST", "CYP450_NARROW_THERAPEUTIC_INDEX"):
        if other != code:
            assert verdict.result(other).outcome == "pass"


WASHOUT_ROWS = [
    # (substance written, its window in days)
    ("tocilizumab", 65),
    ("Kevzara", 45),
    ("baricitinib", 3),
    ("Xeljanz", 1),
    ("upadacitinib", 3),
    ("Jakavi", 2),
    ("filgotinib", 4),
    ("Kineret", 2),
]


@pytest.mark.parametrize(("written", "window"), WASHOUT_ROWS)
def test_washout_window_inside_at_the_edge_and_outside(written, window):
    def outcome_with_last_dose(last_dose_at):
        taken = medication(written, last_dose_at=last_dose_at)
        return judge(assessment(concomitant_medications=(taken,))).result("NO_IL_OR_JAK_INHIBITOR")

    inside = outcome_with_last_dose(days_before(window) + timedelta(seconds=1))
    at_the_edge = outcome_with_last_dose(days_before(window))
    outside = outcome_with_last_dose(days_before(window + 1))

    assert inside.outcome == "fail"
    assert f"inside its {window}-day washout window" in inside.message
    assert at_the_edge.outcome == "pass"
    assert f"outside its {window}-day washout window" in at_the_edge.message
    assert outside.outcome == "pass"


def test_washout_message_names_drug_code_last_dose_and_window():
    taken = medication(atc_code="L04AC07", last_dose_at=datetime(2021, 8, 1, 9, 0, tzinfo=ROME))
    result = judge(assessment(concomitant_medications=(taken,))).result("NO_IL_OR_JAK_INHIBITOR")

    assert result.outcome == "pass"
    assert result.message == (
        "No interleukin or JAK inhibitor ongoing or inside its washout window: tocilizumab (L04AC07), "
        "last dose 01 Aug 2021: outside its 65-day washout window (ended 05 Oct 2021)"
    )


def test_washout_is_elapsed_time_across_a_clock_change():
    # 45 × 24 h after 10:00 summer time on 1 October is 09:00 winter time on 15 November.
    taken = medication("sarilumab", last_dose_at=datetime(2021, 10, 1, 10, 0, tzinfo=ROME))

    def outcome_at(hour, minute):
        at = datetime(2021, 11, 15, hour, minute, tzinfo=ROME)
        return judge(assessment(assessed_at=at, concomitant_medications=(taken,))).result("NO_IL_OR_JAK_INHIBITOR")

    assert outcome_at(8, 59).outcome == "fail"
    assert outcome_at(9, 0).outcome == "pass"


def test_a_medicine_with_neither_ongoing_nor_last_dose_counts_as_ongoing():
    result = judge(assessment(concomitant_medications=(medication("tocilizumab"),))).result("NO_IL_OR_JAK_INHIBITOR")

    assert result.outcome == "fail"
    assert "no last dose given: counted as ongoing" in result.message


def test_ongoing_counts_even_with_an_old_last_dose():
    taken = medication("tocilizumab", ongoing=True, last_dose_at=days_before(100))

    assert judge(assessment(concomitant_medications=(taken,))).result("NO_IL_OR_JAK_INHIBITOR").outcome == "fail"


def test_warning_classes_use_their_own_windows():
    old_etanercept = medication("Enbrel", last_dose_at=days_before(16))
    recent_etanercept = medication("Enbrel", last_dose_at=days_before(14))

    assert judge(assessment(concomitant_medications=(old_etanercept,))).result("TNF_ALPHA_ANTAGONIST").outcome == (
        "pass"
    )
    recent = judge(assessment(concomitant_medications=(recent_etanercept,)))
    assert recent.result("TNF_ALPHA_ANTAGONIST").outcome == "warn"
    assert recent.eligible


def test_every_blocking_medicine_is_named():
    taken = (medication("RoActemra", ongoing=True), medication("Olumiant", last_dose_at=days_before(1)))
    result = judge(assessment(concomitant_medications=taken)).result("NO_IL_OR_JAK_INHIBITOR")

    assert result.outcome == "fail"
    assert "tocilizumab (L04AC07), ongoing" in result.message
    assert "baricitinib (L04AF02), last dose 02 Nov 2021: inside its 3-day washout window" in result.message


def test_a_name_and_a_code_of_different_classes_are_both_judged():
    taken = medication("warfarin", "L04AC07", ongoing=True)
    verdict = judge(assessment(concomitant_medications=(taken,)))

    assert verdict.result("NO_IL_OR_JAK_INHIBITOR").outcome == "fail"
    assert verdict.result("CYP450_NARROW_THERAPEUTIC_INDEX").outcome == "warn"


# -- unknown medicines: never silently eligible (tests/prescriptions/test_eligibility_comedication.py) --------------


def test_unknown_medicine_fails_naming_it():
    verdict = judge(assessment(concomitant_medications=(medication("Zyxolumab 100", ongoing=True),)))
    result = verdict.result("NO_IL_OR_JAK_INHIBITOR")

    assert not verdict.eligible
    assert result.outcome == "fail"
    assert result.message.startswith("Zyxolumab 100: not recognised by the interaction catalogue")
    assert "Give its complete ATC code" in result.message


def test_unknown_incomplete_atc_code_is_named_by_its_code():
    result = judge(assessment(concomitant_medications=(medication(atc_code="L04A", ongoing=True),))).result(
        "NO_IL_OR_JAK_INHIBITOR"
    )

    assert result.outcome == "fail"
    assert result.message.startswith("L04A: an incomplete ATC code")
    assert "Give its complete ATC code" in result.message


def test_unknown_medicine_is_named_alongside_a_blocking_one():
    taken = (medication("Zyxolumab", ongoing=True), medication("tocilizumab", ongoing=True))
    result = judge(assessment(concomitant_medications=taken)).result("NO_IL_OR_JAK_INHIBITOR")

    assert result.outcome == "fail"
    assert "tocilizumab (L04AC07), ongoing" in result.message
    assert "Zyxolumab" in result.message


def test_confirmed_unknown_medicine_alongside_a_washed_out_one_passes_and_is_recorded():
    taken = (
        medication("Zyxolumab", ongoing=True, confirmed_not_il_jak=True),
        medication("tocilizumab", last_dose_at=days_before(66)),
    )
    result = judge(assessment(concomitant_medications=taken)).result("NO_IL_OR_JAK_INHIBITOR")

    assert result.outcome == "pass"
    assert "outside its 65-day washout window" in result.message
    assert "confirmed by the prescriber" in result.message
    assert result.as_dict()["details"] == {"confirmed_not_il_jak": ["Zyxolumab"]}


def test_standard_of_care_is_known_and_not_reported():
    taken = (
        medication("Desametasone 6 mg", ongoing=True),
        medication("Veklury", ongoing=True),
        medication("Clexane 4000 UI", ongoing=True),
    )
    verdict = judge(assessment(concomitant_medications=taken))

    assert {result.outcome for result in verdict.results} == {"pass"}


# -- criteria versions ------------------------------------------------------------------------------------------


def test_the_shipped_version():
    (version,) = SHIPPED_VERSIONS

    assert version.identifier == "L648-2021-10"
    assert version.valid_from == date(2021, 10, 5)
    assert version.valid_to is None
    assert "114586" in version.legal_act and "237" in version.legal_act and "CTS" in version.legal_act
    assert version.regimen == Regimen(Decimal("100"), "SC", 24, 10)
    assert version.regimen.doses == 10 and version.renal_regimen.doses == 5
    assert criteria_version("L648-2021-10") is version


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2021, 10, 5, 0, 0, tzinfo=ROME),
        datetime(2021, 10, 4, 22, 0, tzinfo=UTC),  # midnight in Rome
        date(2021, 10, 5),
        datetime(2035, 1, 1, tzinfo=ROME),
    ],
)
def test_version_in_force(moment):
    assert criteria_in_force(moment).identifier == "L648-2021-10"


@pytest.mark.parametrize(
    "moment",
    [datetime(2021, 10, 4, 23, 59, 59, tzinfo=ROME), datetime(2021, 10, 4, 21, 59, tzinfo=UTC), date(2021, 1, 1)],
)
def test_no_version_before_the_listing(moment):
    with pytest.raises(NoCriteriaInForce):
        criteria_in_force(moment)


def test_no_criteria_in_force_is_a_value_error():
    assert issubclass(NoCriteriaInForce, ValueError)


def test_criteria_in_force_refuses_a_naive_moment():
    with pytest.raises(ValueError, match="timezone-aware"):
        criteria_in_force(datetime(2021, 11, 3, 10, 0))


def _two_versions():
    """The shipped version closed on 31 December 2021 and a made-up successor: suPAR ≥ 8, no high-flow."""
    (shipped,) = SHIPPED_VERSIONS
    first = replace(shipped, valid_to=date(2021, 12, 31))
    successor = replace(
        shipped,
        identifier="TEST-2022-01",
        legal_act="Made-up act for the test",
        valid_from=date(2022, 1, 1),
        thresholds=replace(shipped.thresholds, supar_at_least_ng_ml=Decimal("8")),
        respiratory_support_allowed=("none", "low_flow_oxygen"),
    )
    return first, successor


def test_a_new_version_changes_verdicts_only_for_dates_it_governs():
    versions = _two_versions()
    patient = {"supar_ng_ml": Decimal("7"), "respiratory_support": "high_flow_oxygen"}

    def verdict_on(moment):
        subject = assessment(assessed_at=moment, **patient)
        return judge(subject, criteria=criteria_in_force(moment, versions))

    last_day_of_old = verdict_on(datetime(2021, 12, 31, 23, 59, tzinfo=ROME))
    first_day_of_new = verdict_on(datetime(2022, 1, 1, 0, 0, tzinfo=ROME))

    assert last_day_of_old.criteria_version == "L648-2021-10"
    assert last_day_of_old.eligible
    assert last_day_of_old == verdict_on_shipped(datetime(2021, 12, 31, 23, 59, tzinfo=ROME), patient)

    assert first_day_of_new.criteria_version == "TEST-2022-01"
    assert first_day_of_new.failed_codes == ("NO_CPAP_OR_VENTILATION", "SUPAR_AT_LEAST_6")
    assert "suPAR 7 ng/mL, below 8" in first_day_of_new.result("SUPAR_AT_LEAST_6").message
    unchanged = set(ALL_CRITERION_CODES) - {"NO_CPAP_OR_VENTILATION", "SUPAR_AT_LEAST_6"}
    for code in unchanged:
        assert first_day_of_new.result(code).outcome == last_day_of_old.result(code).outcome


def verdict_on_shipped(moment, patient):
    return judge(assessment(assessed_at=moment, **patient))


def test_versions_may_not_overlap():
    (shipped,) = SHIPPED_VERSIONS
    _first, successor = _two_versions()

    with pytest.raises(InvalidCriteriaVersion, match="overlaps"):
        criteria_in_force(date(2022, 1, 2), [shipped, successor])


def test_a_new_version_is_a_new_file(tmp_path):
    shipped_file = VERSIONS_DIR / "L648-2021-10.json"
    data = json.loads(shipped_file.read_text(encoding="utf-8"))
    successor = dict(data, identifier="TEST-2022-01", valid_from="2022-01-01")
    successor["thresholds"] = dict(data["thresholds"], supar_at_least_ng_ml="8")
    (tmp_path / "TEST-2022-01.json").write_text(json.dumps(successor), encoding="utf-8")
    (tmp_path / "L648-2021-10.json").write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(InvalidCriteriaVersion, match="overlaps"):
        load_versions(tmp_path)

    (tmp_path / "L648-2021-10.json").write_text(json.dumps(dict(data, valid_to="2021-12-31")), encoding="utf-8")
    versions = load_versions(tmp_path)

    assert [version.identifier for version in versions] == ["L648-2021-10", "TEST-2022-01"]
    assert criteria_in_force(date(2022, 1, 1), versions).thresholds.supar_at_least_ng_ml == Decimal("8")
    assert criteria_in_force(date(2021, 12, 31), versions).thresholds.supar_at_least_ng_ml == Decimal("6")


# -- the engine's inputs ----------------------------------------------------------------------------------------


def test_an_assessment_needs_an_aware_moment_and_a_positive_fio2():
    with pytest.raises(ValueError, match="timezone-aware"):
        assessment(assessed_at=datetime(2021, 11, 3, 10, 0))
    with pytest.raises(ValueError, match="fio2"):
        assessment(fio2=Decimal("0"))


def test_as_dict_rounds_the_ratio_to_one_decimal():
    body = judge(assessment(pao2_mmhg=Decimal("100"), fio2=Decimal("0.21"))).as_dict()

    assert body["pao2_fio2_ratio"] == 476.2


# -- Italian ----------------------------------------------------------------------------------------------------


def test_messages_follow_the_language_they_are_read_in():
    """The verdict holds no language: the same results read in Italian, then in English (dates and decimals
    too), whatever language was active when the engine ran."""
    taken = (medication(atc_code="L04AC07", last_dose_at=datetime(2021, 11, 1, 8, 0, tzinfo=ROME)),)
    subject = assessment(concomitant_medications=taken, anc_10e9_l=None)
    with translation.override("it"):
        judged_in_italian = judge(subject)
        italian = {result.code: result.message for result in judged_in_italian.results}
    english = {result.code: result.message for result in judged_in_italian.results}

    assert italian["AGE_ADULT"] == "Nato/a il 01/05/1960: 61 anni il 03/11/2021, almeno 18"
    assert italian["PAO2_FIO2_ABOVE_150"] == "PaO2/FiO2 = 80/0,40 = 200,0 mmHg, superiore a 150"
    assert italian["NO_IL_OR_JAK_INHIBITOR"].startswith(
        "tocilizumab (L04AC07), ultima dose 01/11/2021: entro la finestra di washout di 65 giorni"
    )
    assert italian["NO_NEUTROPENIA"].startswith("ANC non indicata")
    assert english["AGE_ADULT"] == "Born 01 May 1960: aged 61 on 03 Nov 2021, at least 18"
    assert english["PAO2_FIO2_ABOVE_150"] == "PaO2/FiO2 = 80/0.40 = 200.0 mmHg, above 150"
    # Everything of the listing is translated; the verdict itself is the same whichever language is active.
    assert all(italian[code] != english[code] for code in ALL_CRITERION_CODES)
    assert judged_in_italian == judge(subject)
