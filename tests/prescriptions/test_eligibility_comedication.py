"""Issue 10: no interleukin or JAK inhibitor slips through, windows of five half-lives, topical forms, unknown
medicines, the renal regimen and the engine's own input checks. Table-driven and pure (no database).

The tables are written by hand from DOMAIN.md and the SmPCs, not read from the catalogue, so that a substance or a
brand dropped from the JSON fails here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils.formats import date_format

from prescriptions.eligibility import SHIPPED_VERSIONS, InvalidAssessment, Regimen
from prescriptions.eligibility.calendar import REGISTRY_TIME_ZONE as ROME

from .test_eligibility_engine import ASSESSED_AT, _english, assessment, judge, medication  # noqa: F401 (_english: read in English)

(VERSION,) = SHIPPED_VERSIONS
CATALOGUE = VERSION.catalogue

# (written, the substance it must be recognised as): every substance of L04AC, L04AF and L01EJ, the
# interleukin-pathway biologics coded elsewhere, and the brands sold in Italy (biosimilars included).
BLOCKING = [
    # L04AC
    ("anakinra", "anakinra"),
    ("Kineret", "anakinra"),
    ("basiliximab", "basiliximab"),
    ("rilonacept", "rilonacept"),
    ("ustekinumab", "ustekinumab"),
    ("Stelara", "ustekinumab"),
    ("Pyzchiva", "ustekinumab"),
    ("Uzpruvo", "ustekinumab"),
    ("Wezenla", "ustekinumab"),
    ("Steqeyma", "ustekinumab"),
    ("Otulfi", "ustekinumab"),
    ("Fymskina", "ustekinumab"),
    ("Eksunbi", "ustekinumab"),
    ("Imuldosa", "ustekinumab"),
    ("tocilizumab", "tocilizumab"),
    ("RoActemra", "tocilizumab"),
    ("Tyenne", "tocilizumab"),
    ("Tofidence", "tocilizumab"),
    ("canakinumab", "canakinumab"),
    ("Ilaris", "canakinumab"),
    ("secukinumab", "secukinumab"),
    ("Cosentyx", "secukinumab"),
    ("siltuximab", "siltuximab"),
    ("Sylvant", "siltuximab"),
    ("brodalumab", "brodalumab"),
    ("Kyntheum", "brodalumab"),
    ("ixekizumab", "ixekizumab"),
    ("Taltz", "ixekizumab"),
    ("sarilumab", "sarilumab"),
    ("Kevzara", "sarilumab"),
    ("guselkumab", "guselkumab"),
    ("Tremfya", "guselkumab"),
    ("tildrakizumab", "tildrakizumab"),
    ("Ilumetri", "tildrakizumab"),
    ("risankizumab", "risankizumab"),
    ("Skyrizi", "risankizumab"),
    ("satralizumab", "satralizumab"),
    ("Enspryng", "satralizumab"),
    ("bimekizumab", "bimekizumab"),
    ("Bimzelx", "bimekizumab"),
    ("spesolimab", "spesolimab"),
    ("Spevigo", "spesolimab"),
    ("mirikizumab", "mirikizumab"),
    ("Omvoh", "mirikizumab"),
    # interleukin-pathway biologics under D11AH and R03DX
    ("dupilumab", "dupilumab"),
    ("Dupixent", "dupilumab"),
    ("tralokinumab", "tralokinumab"),
    ("Adtralza", "tralokinumab"),
    ("lebrikizumab", "lebrikizumab"),
    ("Ebglyss", "lebrikizumab"),
    ("nemolizumab", "nemolizumab"),
    ("Nemluvio", "nemolizumab"),
    ("mepolizumab", "mepolizumab"),
    ("Nucala", "mepolizumab"),
    ("reslizumab", "reslizumab"),
    ("Cinqaero", "reslizumab"),
    ("benralizumab", "benralizumab"),
    ("Fasenra", "benralizumab"),
    ("tezepelumab", "tezepelumab"),
    ("Tezspire", "tezepelumab"),
    # JAK inhibitors: L04AF, L01EJ, and abrocitinib under D11AH
    ("tofacitinib", "tofacitinib"),
    ("Xeljanz", "tofacitinib"),
    ("baricitinib", "baricitinib"),
    ("Olumiant", "baricitinib"),
    ("upadacitinib", "upadacitinib"),
    ("Rinvoq", "upadacitinib"),
    ("filgotinib", "filgotinib"),
    ("Jyseleca", "filgotinib"),
    ("deucravacitinib", "deucravacitinib"),
    ("Sotyktu", "deucravacitinib"),
    ("ritlecitinib", "ritlecitinib"),
    ("Litfulo", "ritlecitinib"),
    ("abrocitinib", "abrocitinib"),
    ("Cibinqo", "abrocitinib"),
    ("ruxolitinib", "ruxolitinib"),
    ("Jakavi", "ruxolitinib"),
    ("fedratinib", "fedratinib"),
    ("Inrebic", "fedratinib"),
    ("pacritinib", "pacritinib"),
    ("momelotinib", "momelotinib"),
    ("Omjjara", "momelotinib"),
]

# (code, substance): current and legacy codes.
BLOCKING_CODES = [
    ("L04AC03", "anakinra"),
    ("L04AA14", "anakinra"),
    ("L04AC05", "ustekinumab"),
    ("L04AC07", "tocilizumab"),
    ("L04AC14", "sarilumab"),
    ("L04AC19", "satralizumab"),
    ("L04AC21", "bimekizumab"),
    ("L04AC22", "spesolimab"),
    ("L04AC24", "mirikizumab"),
    ("D11AH05", "dupilumab"),
    ("D11AH07", "tralokinumab"),
    ("D11AH08", "abrocitinib"),
    ("R03DX08", "reslizumab"),
    ("R03DX09", "mepolizumab"),
    ("L04AC06", "mepolizumab"),
    ("R03DX10", "benralizumab"),
    ("L04AF01", "tofacitinib"),
    ("L04AA29", "tofacitinib"),
    ("L04AF02", "baricitinib"),
    ("L04AA37", "baricitinib"),
    ("L04AF03", "upadacitinib"),
    ("L04AA44", "upadacitinib"),
    ("L04AF04", "filgotinib"),
    ("L04AA45", "filgotinib"),
    ("L04AF07", "deucravacitinib"),
    ("L04AF08", "ritlecitinib"),
    ("L01EJ01", "ruxolitinib"),
    ("L01XE18", "ruxolitinib"),
    ("L01EJ02", "fedratinib"),
    ("L01EJ03", "pacritinib"),
    ("L01EJ04", "momelotinib"),
]


def il_jak(*medicines, **changes):
    verdict = judge(assessment(concomitant_medications=tuple(medicines), **changes))
    return verdict, verdict.result("NO_IL_OR_JAK_INHIBITOR")


@pytest.mark.parametrize(("written", "substance"), BLOCKING)
def test_every_member_and_brand_blocks(written, substance):
    verdict, result = il_jak(medication(written.upper(), ongoing=True))

    assert not verdict.eligible
    assert result.outcome == "fail"
    assert result.message.startswith(f"{substance} (")


@pytest.mark.parametrize(("code", "substance"), BLOCKING_CODES)
def test_every_current_and_legacy_code_blocks(code, substance):
    verdict, result = il_jak(medication(atc_code=code, ongoing=True))

    assert result.outcome == "fail"
    assert result.message.startswith(f"{substance} ({code})")


@pytest.mark.parametrize(
    ("code", "group"),
    [
        ("L04AC99", "ATC group L04AC: interleukin inhibitors"),
        ("L04AF99", "ATC group L04AF: JAK inhibitors"),
        ("L01EJ99", "ATC group L01EJ: JAK inhibitors"),
    ],
)
def test_a_future_code_of_a_blocking_class_blocks_naming_its_group(code, group):
    verdict, result = il_jak(medication("newinib", code, ongoing=True))

    assert result.outcome == "fail"
    assert f"newinib ({code}, {group}), ongoing" in result.message
    # The code was given and recognised: nothing asks for it again.
    assert "Give its" not in result.message and "not recognised" not in result.message

    verdict, result = il_jak(medication(atc_code=code, ongoing=True))
    assert result.message.startswith(f"{code} ({group}), ongoing")


@pytest.mark.parametrize("code", ["L04AA99", "L04AX99", "D11AH99", "R03DX99", "L01XC99"])
def test_a_complete_code_of_a_mixed_group_asks_only_for_the_confirmation(code):
    """A complete code in a group that holds IL or JAK inhibitors beside other medicines: the code was given, so
    the message asks only for the one thing that clears it, and names the group."""
    verdict, result = il_jak(medication("Zyxolumab", code, ongoing=True))

    assert result.outcome == "fail"
    assert result.message.startswith(f"Zyxolumab ({code}): its ATC code lies in group ")
    assert "Confirm that it is neither an interleukin inhibitor nor a JAK inhibitor" in result.message
    assert "Give its" not in result.message

    verdict, result = il_jak(medication("Zyxolumab", code, ongoing=True, confirmed_not_il_jak=True))
    assert result.outcome == "pass"


# -- washout: five terminal half-lives, as data with its source ------------------------------------------------

# (substance, window in days) as DOMAIN.md and the SmPCs give them.
WINDOWS = [
    ("tocilizumab", 65),
    ("sarilumab", 45),
    ("anakinra", 2),
    ("ustekinumab", 160),
    ("canakinumab", 130),
    ("secukinumab", 155),
    ("satralizumab", 150),
    ("spesolimab", 128),
    ("bimekizumab", 115),
    ("mirikizumab", 47),
    ("dupilumab", 91),
    ("mepolizumab", 110),
    ("tofacitinib", 1),
    ("baricitinib", 3),
    ("upadacitinib", 3),
    ("filgotinib", 4),
    ("deucravacitinib", 4),
    ("ritlecitinib", 1),
    ("ruxolitinib", 2),
    ("fedratinib", 24),
    ("momelotinib", 2),
]


def days_before(days: int, *, minus: timedelta = timedelta(0)) -> datetime:
    return (ASSESSED_AT.astimezone(UTC) - timedelta(days=days) + minus).astimezone(ROME)


@pytest.mark.parametrize(("substance", "window"), WINDOWS)
def test_window_boundary_exactly_n_days_passes_n_days_minus_a_minute_fails(substance, window):
    assert CATALOGUE.washout_days(CATALOGUE.substance(substance)) == window
    assert CATALOGUE.substance(substance).washout_source, "each window names its source"

    _, exactly = il_jak(medication(substance, last_dose_at=days_before(window)))
    _, a_minute_short = il_jak(medication(substance, last_dose_at=days_before(window, minus=timedelta(minutes=1))))

    assert exactly.outcome == "pass"
    assert f"outside its {window}-day washout window" in exactly.message
    assert a_minute_short.outcome == "fail"
    assert f"inside its {window}-day washout window" in a_minute_short.message


@pytest.mark.parametrize(("substance", "window"), [("tocilizumab", 65), ("baricitinib", 3), ("mirikizumab", 47)])
def test_window_is_elapsed_time_across_the_end_of_summer_time(substance, window):
    # The clocks went back on 31 October 2021: N × 24 h after 10:00 summer time is 09:00 winter time.
    assessed_at = datetime(2021, 11, 1, 9, 0, tzinfo=ROME)
    last_dose = (assessed_at.astimezone(UTC) - timedelta(days=window)).astimezone(ROME)
    assert (last_dose.hour, last_dose.utcoffset()) == (10, timedelta(hours=2))

    def outcome(at):
        return il_jak(medication(substance, last_dose_at=last_dose), assessed_at=at)[1].outcome

    assert outcome(assessed_at) == "pass"
    assert outcome(assessed_at - timedelta(minutes=1)) == "fail"


def test_the_class_default_is_the_longest_lived_member():
    for key in ("interleukin_inhibitor", "jak_inhibitor"):
        members = [s for s in CATALOGUE.substances if s.drug_class == key and s.washout_days is not None]
        assert CATALOGUE.drug_class(key).default_washout_days == max(s.washout_days for s in members)
    (match,) = CATALOGUE.identify(medication(atc_code="L04AC99", ongoing=True))
    assert match.washout_days == 160  # ustekinumab's


def test_the_message_names_drug_last_dose_and_window():
    _, result = il_jak(medication("RoActemra", last_dose_at=datetime(2021, 10, 1, 9, 0, tzinfo=ROME)))

    assert result.message.startswith(
        "tocilizumab (L04AC07), last dose 01 Oct 2021: inside its 65-day washout window (ends 05 Dec 2021)"
    )


# -- topical forms: a warning, never a block, never under the systemic code ------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [("Opzelura", None), ("ruxolitinib cream", None), ("Ruxolitinib crema 1,5%", None), ("ruxolitinib", "D11AH09")],
)
def test_topical_ruxolitinib_warns_and_is_shown_under_its_own_code(name, code):
    verdict, result = il_jak(medication(name, code, ongoing=True))

    assert verdict.eligible
    assert result.outcome == "warn"
    assert "ruxolitinib cream (D11AH09), ongoing" in result.message
    assert "L01EJ01" not in result.message


def test_topical_form_next_to_a_systemic_inhibitor_still_fails():
    verdict, result = il_jak(medication("Opzelura", ongoing=True), medication("Jakavi", ongoing=True))

    assert result.outcome == "fail"
    assert "ruxolitinib (L01EJ01), ongoing" in result.message


def test_systemic_ruxolitinib_is_not_mistaken_for_the_cream():
    _, result = il_jak(medication("ruxolitinib 5 mg tablets", ongoing=True))

    assert result.outcome == "fail"
    assert "ruxolitinib (L01EJ01)" in result.message


# -- unknown medicines ---------------------------------------------------------------------------------------


def test_an_unrecognised_medicine_fails_asking_for_its_code_or_a_confirmation():
    verdict, result = il_jak(medication("Zyxolumab", ongoing=True))

    assert not verdict.eligible
    assert result.outcome == "fail"
    assert result.message.startswith("Zyxolumab: not recognised by the interaction catalogue")
    assert "Give its complete ATC code (7 characters" in result.message
    assert "confirm" in result.message
    assert "details" not in result.as_dict()


def test_the_prescribers_confirmation_lets_it_pass_and_is_recorded():
    verdict, result = il_jak(
        medication("Zyxolumab", ongoing=True, confirmed_not_il_jak=True), medication("Xyzzy", ongoing=True)
    )
    assert result.outcome == "fail"
    assert result.message.startswith("Xyzzy: not recognised") and "Zyxolumab" not in result.message
    assert result.as_dict()["details"] == {"confirmed_not_il_jak": ["Zyxolumab"]}

    verdict, result = il_jak(medication("Zyxolumab", ongoing=True, confirmed_not_il_jak=True))
    assert verdict.eligible
    assert result.outcome == "pass"
    assert result.as_dict()["details"] == {"confirmed_not_il_jak": ["Zyxolumab"]}


def test_a_confirmation_does_not_clear_a_recognised_inhibitor():
    _, result = il_jak(medication("tocilizumab", ongoing=True, confirmed_not_il_jak=True))

    assert result.outcome == "fail"


# The Italian INN of every catalogued medicine whose Italian name differs from the English one (DOMAIN.md: "every
# known medicine is recognised by its Italian INN too"); the antibodies and most -ib/-mab names are the same.
ITALIAN_INNS = [
    ("paracetamolo", "paracetamol"),
    ("salbutamolo", "salbutamol"),
    ("bisoprololo", "bisoprolol"),
    ("metoprololo", "metoprolol"),
    ("nebivololo", "nebivolol"),
    ("carvedilolo", "carvedilol"),
    ("allopurinolo", "allopurinol"),
    ("ondansetrone", "ondansetron"),
    ("cefotaxima", "cefotaxime"),
    ("ceftazidima", "ceftazidime"),
    ("cefepima", "cefepime"),
    ("ceftriaxone sodico", "ceftriaxone"),
    ("imipenem e cilastatina", "imipenem and cilastatin"),
    ("piperacillina e tazobactam", "piperacillin and tazobactam"),
    ("amoxicillina e acido clavulanico", "amoxicillin and clavulanic acid"),
    ("ampicillina e sulbactam", "ampicillin and sulbactam"),
    ("sulfametossazolo e trimetoprim", "sulfamethoxazole and trimethoprim"),
    ("nirmatrelvir e ritonavir", "nirmatrelvir and ritonavir"),
    ("dabigatran etexilato", "dabigatran"),
    ("fondaparinux sodico", "fondaparinux"),
    ("warfarin sodico", "warfarin"),
    ("fenitoina", "phenytoin"),
    ("carbamazepina", "carbamazepine"),
    ("ciclosporina", "ciclosporin"),
    ("teofillina", "theophylline"),
    ("acenocumarolo", "acenocoumarol"),
    ("desametasone", "dexamethasone"),
    ("metilprednisolone", "methylprednisolone"),
    ("idrocortisone", "hydrocortisone"),
    ("eparina calcica", "heparin"),
    ("enoxaparina", "enoxaparin"),
    ("acido acetilsalicilico", "acetylsalicylic acid"),
    ("azitromicina", "azithromycin"),
    ("claritromicina", "clarithromycin"),
    ("levofloxacina", "levofloxacin"),
    ("doxiciclina", "doxycycline"),
    ("vancomicina", "vancomycin"),
    ("ibuprofene", "ibuprofen"),
    ("metamizolo", "metamizole"),
    ("morfina", "morphine"),
    ("omeprazolo", "omeprazole"),
    ("pantoprazolo", "pantoprazole"),
    ("insulina glargine", "insulin"),
    ("metformina", "metformin"),
    ("amlodipina", "amlodipine"),
    ("idroclorotiazide", "hydrochlorothiazide"),
    ("spironolattone", "spironolactone"),
    ("atorvastatina", "atorvastatin"),
    ("ipratropio bromuro", "ipratropium bromide"),
    ("levotiroxina sodica", "levothyroxine"),
    ("colecalciferolo", "cholecalciferol"),
    ("cloruro di potassio", "potassium chloride"),
    ("tocilizumab", "tocilizumab"),
    ("sarilumab", "sarilumab"),
    ("baricitinib", "baricitinib"),
]


@pytest.mark.parametrize(("written", "substance"), ITALIAN_INNS)
def test_every_medicine_is_recognised_by_its_italian_inn(written, substance):
    matches = CATALOGUE.identify(medication(f"{written.upper()} 1 g", ongoing=True))

    assert [match.substance.name for match in matches] == [substance]


@pytest.mark.parametrize("written", ["paracetamolo", "Bisoprololo 2,5 mg", "salbutamolo spray", "allopurinolo"])
def test_an_italian_inn_of_a_harmless_medicine_no_longer_blocks(written):
    verdict, result = il_jak(medication(written, ongoing=True))

    assert result.outcome == "pass"
    assert verdict.eligible


@pytest.mark.parametrize("code", ["N02BE01", "J01DD99", "C09AA05", "A10AE99"])
def test_a_complete_code_outside_every_il_or_jak_group_is_recognised_by_the_code(code):
    verdict, result = il_jak(medication("Zyxolumab", code, ongoing=True))

    assert result.outcome == "pass"
    assert verdict.eligible


@pytest.mark.parametrize("code", ["D11AH99", "R03DX99", "L04AA99", "L01XE99", "L04", "N02B"])
def test_a_code_of_a_group_holding_il_or_jak_inhibitors_or_an_incomplete_code_is_not_enough(code):
    _, result = il_jak(medication("Zyxolumab", code, ongoing=True))

    assert result.outcome == "fail"


@pytest.mark.parametrize(
    "written",
    [
        "dexamethasone 6 mg",
        "Soldesam",
        "methylprednisolone",
        "Solu-Medrol",
        "remdesivir",
        "Veklury",
        "nirmatrelvir/ritonavir",
        "Paxlovid",
        "heparin",
        "enoxaparina 4000 UI",
        "Clexane",
        "fondaparinux",
        "ceftriaxone 2 g",
        "Rocefin",
        "azithromycin",
        "piperacillin/tazobactam",
        "Tazocin",
        "meropenem",
        "levofloxacin",
        "Tachipirina 1000",
        "paracetamol",
        "pantoprazole",
        "omeprazolo",
        "insulin glargine",
        "Lantus",
        "metformin",
        "amlodipine",
        "ramipril",
        "atorvastatin",
        "furosemide",
        "Lasix",
        "salbutamol",
        "Ventolin",
    ],
)
def test_common_co_medications_of_covid_inpatients_are_known_and_harmless(written):
    verdict, result = il_jak(medication(written, ongoing=True))

    assert result.outcome == "pass", result.message
    assert {r.outcome for r in verdict.results} == {"pass"}


# -- the renal regimen ------------------------------------------------------------------------------------------

EVERY_48_H = Regimen(Decimal("100"), "SC", 48, 10)


@pytest.mark.parametrize(
    ("clearance", "regimen", "outcome", "fragment"),
    [
        ("29.9", EVERY_48_H, "pass", "(5 doses): the listing's regimen in severe renal impairment"),
        ("10", EVERY_48_H, "pass", "creatinine clearance 10 mL/min, below 30"),
        ("30", EVERY_48_H, "fail", "accepted only with creatinine clearance below 30"),
        (None, EVERY_48_H, "fail", "accepted only with creatinine clearance below 30"),
        ("20", VERSION.regimen, "pass", "100 mg SC every 48 h for 10 days (5 doses) is also accepted"),
        ("80", VERSION.regimen, "pass", "the regimen of the listing"),
        ("20", Regimen(Decimal("100"), "SC", 72, 10), "fail", "or 100 mg SC every 48 h for 10 days"),
        ("20", Regimen(Decimal("100"), "SC", 48, 9), "fail", "not the regimen of the listing"),
    ],
)
def test_regimen_with_and_without_severe_renal_impairment(clearance, regimen, outcome, fragment):
    subject = assessment(regimen=regimen, creatinine_clearance_ml_min=None if clearance is None else Decimal(clearance))
    result = judge(subject).result("REGIMEN_648")

    assert result.outcome == outcome
    assert fragment in result.message, result.message


def test_the_renal_warning_names_the_alternative_regimen():
    result = judge(assessment(creatinine_clearance_ml_min=Decimal("25"))).result("RENAL_IMPAIRMENT")

    assert result.outcome == "warn"
    assert "100 mg SC every 48 h for 10 days (5 doses)" in result.message


def test_course_doses_follow_the_regimen():
    assert VERSION.regimen.doses == 10
    assert VERSION.renal_regimen.doses == 5


# -- the engine checks its own input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"fio2": Decimal("0.20")}, "fio2"),
        ({"fio2": Decimal("1.01")}, "fio2"),
        ({"fio2": Decimal("40")}, "fio2"),
        ({"pao2_mmhg": Decimal("0")}, "pao2_mmhg"),
        ({"pao2_mmhg": Decimal("-5")}, "pao2_mmhg"),
        ({"pao2_mmhg": Decimal("900")}, "pao2_mmhg"),
        ({"supar_ng_ml": Decimal("-0.1")}, "supar_ng_ml"),
        ({"anc_10e9_l": Decimal("-1")}, "anc_10e9_l"),
        ({"creatinine_clearance_ml_min": Decimal("-1")}, "creatinine_clearance_ml_min"),
        ({"alt_x_uln": Decimal("-1")}, "alt_x_uln"),
        ({"weight_kg": Decimal("0")}, "weight_kg"),
        ({"regimen": Regimen(Decimal("0"), "SC", 24, 10)}, "regimen.dose_mg"),
        ({"regimen": Regimen(Decimal("100"), "SC", 0, 10)}, "regimen.interval_hours"),
        (
            {"concomitant_medications": (medication("tocilizumab", last_dose_at=ASSESSED_AT + timedelta(hours=1)),)},
            "concomitant_medications.0.last_dose_at",
        ),
    ],
)
def test_impossible_values_are_refused_by_the_engine(changes, field):
    with pytest.raises(InvalidAssessment) as refused:
        judge(assessment(**changes))

    assert refused.value.field == field
    assert refused.value.reason


def test_the_boundaries_of_fio2_are_accepted():
    assert judge(assessment(fio2=Decimal("0.21"), pao2_mmhg=Decimal("40"))).pao2_fio2_ratio > 0
    assert judge(assessment(fio2=Decimal("1.0"), pao2_mmhg=Decimal("200"))).eligible


def test_an_assessment_outside_the_given_versions_validity_is_refused():
    ended = replace(VERSION, valid_to=date(2021, 10, 31))
    with pytest.raises(InvalidAssessment) as refused:
        judge(assessment(), criteria=ended)
    assert refused.value.field == "assessed_at"
    assert date_format(date(2021, 11, 3), "SHORT_DATE_FORMAT") in refused.value.reason  # as users read days
    assert "2021-11-03" not in refused.value.reason

    with pytest.raises(InvalidAssessment):
        judge(assessment(assessed_at=datetime(2021, 10, 4, 23, 59, tzinfo=ROME)), criteria=VERSION)
