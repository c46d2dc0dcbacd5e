"""The interaction catalogue and the criteria-version data it ships in."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest

from prescriptions.eligibility import (
    SHIPPED_VERSIONS,
    ConcomitantMedication,
    InvalidCriteriaVersion,
    Substance,
    parse_version,
    validate_versions,
)
from prescriptions.eligibility.catalogue import name_key
from prescriptions.eligibility.versioning import VERSIONS_DIR

(VERSION,) = SHIPPED_VERSIONS
CATALOGUE = VERSION.catalogue
SHIPPED_DATA = json.loads((VERSIONS_DIR / "L648-2021-10.json").read_text(encoding="utf-8"))


def identify(name=None, atc_code=None):
    return CATALOGUE.identify(ConcomitantMedication(name=name, atc_code=atc_code, ongoing=True))


def identified_as(name=None, atc_code=None):
    return [
        (match.drug_class.key, match.substance.name if match.substance else None) for match in identify(name, atc_code)
    ]


# DOMAIN.md, "Drug classes": every code it names, and the class it falls in.
DOMAIN_CODES = [
    ("L04AC07", "interleukin_inhibitor", "tocilizumab"),
    ("L04AC14", "interleukin_inhibitor", "sarilumab"),
    ("L04AC11", "interleukin_inhibitor", "siltuximab"),
    ("L04AC08", "interleukin_inhibitor", "canakinumab"),
    ("L04AC04", "interleukin_inhibitor", "rilonacept"),
    ("D11AH05", "interleukin_inhibitor", "dupilumab"),
    ("D11AH07", "interleukin_inhibitor", "tralokinumab"),
    ("R03DX09", "interleukin_inhibitor", "mepolizumab"),
    ("R03DX08", "interleukin_inhibitor", "reslizumab"),
    ("R03DX10", "interleukin_inhibitor", "benralizumab"),
    ("L04AC03", "interleukin_inhibitor", "anakinra"),
    ("L04AA14", "interleukin_inhibitor", "anakinra"),
    ("L04AF01", "jak_inhibitor", "tofacitinib"),
    ("L04AF02", "jak_inhibitor", "baricitinib"),
    ("L04AF03", "jak_inhibitor", "upadacitinib"),
    ("L04AF04", "jak_inhibitor", "filgotinib"),
    ("L04AA29", "jak_inhibitor", "tofacitinib"),
    ("L04AA37", "jak_inhibitor", "baricitinib"),
    ("L04AA44", "jak_inhibitor", "upadacitinib"),
    ("L04AA45", "jak_inhibitor", "filgotinib"),
    ("L01EJ01", "jak_inhibitor", "ruxolitinib"),
    ("L04AB01", "tnf_alpha_antagonist", "etanercept"),
    ("L04AB02", "tnf_alpha_antagonist", "infliximab"),
    ("L04AB04", "tnf_alpha_antagonist", "adalimumab"),
    ("L04AB05", "tnf_alpha_antagonist", "certolizumab pegol"),
    ("L04AB06", "tnf_alpha_antagonist", "golimumab"),
    ("B01AA03", "cyp450_narrow_therapeutic_index", "warfarin"),
    ("N03AB02", "cyp450_narrow_therapeutic_index", "phenytoin"),
    ("B01AA07", "cyp450_narrow_therapeutic_index", "acenocoumarol"),
    ("L04AD01", "cyp450_narrow_therapeutic_index", "ciclosporin"),
    ("R03DA04", "cyp450_narrow_therapeutic_index", "theophylline"),
    ("L04AD02", "cyp450_narrow_therapeutic_index", "tacrolimus"),
    ("N03AF01", "cyp450_narrow_therapeutic_index", "carbamazepine"),
]


@pytest.mark.parametrize(("code", "drug_class", "substance"), DOMAIN_CODES)
def test_every_code_of_the_domain_is_catalogued(code, drug_class, substance):
    assert identified_as(atc_code=code) == [(drug_class, substance)]
    # and by its name, in another case
    assert identified_as(substance.upper()) == [(drug_class, substance)]


BRANDS = [
    ("RoActemra", "tocilizumab"),
    ("Kevzara", "sarilumab"),
    ("Olumiant", "baricitinib"),
    ("Xeljanz", "tofacitinib"),
    ("Rinvoq", "upadacitinib"),
    ("Jyseleca", "filgotinib"),
    ("Jakavi", "ruxolitinib"),
    ("Ilaris", "canakinumab"),
    ("Sylvant", "siltuximab"),
    ("Dupixent", "dupilumab"),
    ("Adtralza", "tralokinumab"),
    ("Nucala", "mepolizumab"),
    ("Cinqaero", "reslizumab"),
    ("Fasenra", "benralizumab"),
    ("Kineret", "anakinra"),
    ("Enbrel", "etanercept"),
    ("Remicade", "infliximab"),
    ("Humira", "adalimumab"),
    ("Cimzia", "certolizumab pegol"),
    ("Simponi", "golimumab"),
    ("Coumadin", "warfarin"),
    ("Dintoina", "phenytoin"),
    ("Sintrom", "acenocoumarol"),
    ("Sandimmun", "ciclosporin"),
    ("Neoral", "ciclosporin"),
    ("Theo-Dur", "theophylline"),
]


@pytest.mark.parametrize(("brand", "substance"), BRANDS)
def test_brands(brand, substance):
    assert [match.substance.name for match in identify(brand)] == [substance]
    assert [match.substance.name for match in identify(f"  {brand.upper()}  100 mg ")] == [substance]


@pytest.mark.parametrize(
    ("written", "substance"),
    [
        (" Tocilizumab ", "tocilizumab"),
        ("ROACTEMRA 20 mg/ml", "tocilizumab"),
        ("RoActemra 162 mg soluzione iniettabile", "tocilizumab"),
        ("Ro-Actemra", "tocilizumab"),
        ("tocilizumàb", "tocilizumab"),
        ("Théo-Dur", "theophylline"),
        ("THEODUR 300", "theophylline"),
        ("Fenitoìna sodica", "phenytoin"),
        ("ciclosporina", "ciclosporin"),
        ("Sandimmun Neoral 100 mg", "ciclosporin"),
        ("certolizumab", "certolizumab pegol"),
        ("Certolizumab\tPegol", "certolizumab pegol"),
        ("warfarin sodico 5 mg", "warfarin"),
    ],
)
def test_names_ignore_case_accents_punctuation_and_strength(written, substance):
    assert [match.substance.name for match in identify(written)] == [substance]


@pytest.mark.parametrize("written", ["Tachipiri", "tocilizumabx", "Enbrelina", "paracetamoli 1 g", "", "   "])
def test_names_match_whole_words_only(written):
    assert identify(written) == ()


@pytest.mark.parametrize("code", [" l04ac07 ", "L04 AC07", "l04aC07"])
def test_atc_codes_ignore_case_and_spaces(code):
    (match,) = identify(atc_code=code)
    assert (match.substance.name, match.atc_code) == ("tocilizumab", "L04AC07")


def test_a_legacy_code_is_shown_as_written():
    (match,) = identify(atc_code="L04AA37")
    assert (match.substance.name, match.atc_code) == ("baricitinib", "L04AA37")


def test_a_code_in_a_class_prefix_matches_the_class_with_its_default_window():
    (match,) = identify("newkinumab", "L04AC99")

    assert match.substance is None
    assert match.drug_class.key == "interleukin_inhibitor"
    assert (match.display_name, match.atc_code) == ("newkinumab", "L04AC99")
    assert match.washout_days == CATALOGUE.drug_class("interleukin_inhibitor").default_washout_days


def test_a_class_code_with_the_name_of_a_substance_of_that_class_is_that_substance():
    assert identified_as("tocilizumab", "L04AC99") == [("interleukin_inhibitor", "tocilizumab")]


def test_a_name_and_a_code_of_different_substances_are_both_found():
    assert identified_as("warfarin", "L04AC07") == [
        ("interleukin_inhibitor", "tocilizumab"),
        ("cyp450_narrow_therapeutic_index", "warfarin"),
    ]


def test_a_name_listing_two_substances_finds_both():
    assert [match.substance.name for match in identify("tocilizumab + baricitinib")] == ["tocilizumab", "baricitinib"]


def test_incomplete_codes_and_codes_of_ambiguous_groups_are_unknown():
    assert identify(atc_code="N02BE") == ()
    assert identify(atc_code="L04A") == ()
    assert identify(atc_code="D11AH99") == ()
    assert identify(atc_code="R03DX99") == ()


# -- washout windows are data ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("substance", "days"),
    [
        ("tocilizumab", 65),
        ("sarilumab", 45),
        ("baricitinib", 3),
        ("tofacitinib", 1),
        ("upadacitinib", 3),
        ("ruxolitinib", 2),
        ("filgotinib", 4),
        ("anakinra", 2),
    ],
)
def test_washout_windows(substance, days):
    assert CATALOGUE.washout_days(CATALOGUE.substance(substance)) == days


def test_every_blocking_substance_has_a_window_and_a_reason():
    judged = {drug_class.key for drug_class in CATALOGUE.classes_judged_by("NO_IL_OR_JAK_INHIBITOR")}
    assert judged == {"interleukin_inhibitor", "jak_inhibitor", "topical_jak_inhibitor"}
    for substance in CATALOGUE.substances:
        if substance.drug_class in judged:
            assert CATALOGUE.washout_days(substance) >= 1, substance.name
            assert substance.washout_source, substance.name


def test_classes_and_the_criteria_that_judge_them():
    judged_by = {drug_class.key: drug_class.criterion for drug_class in CATALOGUE.drug_classes}
    assert judged_by["interleukin_inhibitor"] == "NO_IL_OR_JAK_INHIBITOR"
    assert judged_by["jak_inhibitor"] == "NO_IL_OR_JAK_INHIBITOR"
    assert judged_by["tnf_alpha_antagonist"] == "TNF_ALPHA_ANTAGONIST"
    assert judged_by["cyp450_narrow_therapeutic_index"] == "CYP450_NARROW_THERAPEUTIC_INDEX"
    assert CATALOGUE.drug_class("interleukin_inhibitor").atc_prefixes == ("L04AC",)
    assert "L04AF" in CATALOGUE.drug_class("jak_inhibitor").atc_prefixes
    assert CATALOGUE.drug_class("tnf_alpha_antagonist").atc_prefixes == ("L04AB",)


def test_the_shipped_thresholds():
    thresholds = VERSION.thresholds
    assert thresholds.adult_age_years == 18
    assert str(thresholds.pao2_fio2_above_mmhg) == "150"
    assert str(thresholds.supar_at_least_ng_ml) == "6"
    assert str(thresholds.anc_at_least_10e9_l) == "1.5"
    assert str(thresholds.creatinine_clearance_below_ml_min) == "30"
    assert str(thresholds.liver_enzymes_at_least_x_uln) == "1.5"
    assert VERSION.pneumonia_eligible == ("moderate", "severe")
    assert VERSION.respiratory_support_allowed == ("none", "low_flow_oxygen", "high_flow_oxygen")
    assert VERSION.requires_tocilizumab_shortage


# -- malformed data is refused when loaded ---------------------------------------------------------------------------


def _data_with(change):
    data = copy.deepcopy(SHIPPED_DATA)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d["thresholds"].update(supar_at_least_ng_ml=6.0), "as strings"),
        (lambda d: d["thresholds"].update(supar_at_least_ng_ml="six"), "not a decimal"),
        (lambda d: d["thresholds"].pop("anc_at_least_10e9_l"), "malformed"),
        (lambda d: d.update(valid_to="2021-01-01"), "valid_to is before valid_from"),
        (lambda d: d.update(valid_from="5 October 2021"), "YYYY-MM-DD"),
        (lambda d: d["sources"].pop("LIVER_ENZYMES"), "no source for LIVER_ENZYMES"),
        (lambda d: d["sources"].update(NEW_CODE="x"), "unknown codes"),
        (lambda d: d.update(respiratory_support_allowed=["helmet"]), "unknown support"),
        (lambda d: d.update(pneumonia_eligible=["critical"]), "unknown severity"),
        (lambda d: d.update(listed_substance="kineretumab"), "listed substance"),
        (lambda d: d["catalogue"]["substances"][0].update({"class": "nope"}), "unknown drug class"),
        (lambda d: d["catalogue"]["drug_classes"][0].update(criterion="NOPE"), "unknown code NOPE"),
        (lambda d: d["catalogue"]["substances"][1]["brands"].append("Kineret"), "names both"),
        (lambda d: d["catalogue"]["substances"][1]["atc_codes"].append("L04AC03"), "names both"),
        (lambda d: d["catalogue"]["substances"][1].update(atc_codes=["l04ac07"]), "canonical"),
        (lambda d: d["catalogue"]["substances"][1].update(washout_days=-1), "negative"),
    ],
)
def test_malformed_versions_are_refused(change, complaint):
    with pytest.raises(InvalidCriteriaVersion, match=complaint):
        validate_versions([parse_version(_data_with(change))])


def test_duplicate_identifiers_are_refused():
    with pytest.raises(InvalidCriteriaVersion, match="duplicate"):
        validate_versions([VERSION, replace(VERSION, valid_from=VERSION.valid_from)])


def test_every_name_in_the_catalogue_is_unique():
    keys = [name_key(name) for substance in CATALOGUE.substances for name in substance.names]
    assert len(keys) == len(set(keys))


def test_substance_names_and_codes():
    tocilizumab = CATALOGUE.substance("Tocilizumab")
    assert isinstance(tocilizumab, Substance)
    assert tocilizumab.atc_code == "L04AC07"
    assert "RoActemra" in tocilizumab.brands
