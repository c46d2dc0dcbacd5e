"""The eligibility check's input serializer: every kind of bad input is a 400 keyed by its field."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import translation
from rest_framework import serializers

from prescriptions.api.eligibility_serializers import (
    AssessmentFieldsSerializer,
    EligibilityCheckSerializer,
    PatientInputSerializer,
    to_assessment,
)
from prescriptions.eligibility import (
    SHIPPED_VERSIONS,
    Assessment,
    ShortagePeriod,
    criteria_in_force,
    evaluate,
)
from prescriptions.eligibility.calendar import REGISTRY_TIME_ZONE as ROME

NOW = datetime(2021, 11, 3, 12, 0, tzinfo=ROME)

# The example body of docs/api.md, as a client sends it (numbers as JSON numbers, so floats once parsed).
API_EXAMPLE = json.loads(
    """{
  "assessed_at": "2021-11-03T10:00:00+01:00",
  "patient": {"birth_date": "1960-05-01", "sex": "F", "weight_kg": 70},
  "hospitalised": true,
  "sars_cov_2_confirmed": true,
  "pneumonia": "severe",
  "pao2_mmhg": 80,
  "fio2": 0.40,
  "respiratory_support": "low_flow_oxygen",
  "supar_ng_ml": 7.2,
  "anc_10e9_l": 3.1,
  "creatinine_clearance_ml_min": 80,
  "alt_x_uln": 0.8,
  "ast_x_uln": 1.1,
  "known_hypersensitivity": false,
  "concomitant_medications": [
    {"atc_code": "L04AC07", "last_dose_at": "2021-11-01T08:00:00+01:00"},
    {"name": "warfarin", "ongoing": true}
  ],
  "regimen": {"dose_mg": 100, "route": "SC", "interval_hours": 24, "duration_days": 10}
}"""
)

MINIMAL = {
    "patient": {"birth_date": "1960-05-01", "sex": "M"},
    "hospitalised": True,
    "sars_cov_2_confirmed": True,
    "pneumonia": "moderate",
    "pao2_mmhg": 80,
    "fio2": 0.5,
    "respiratory_support": "none",
    "supar_ng_ml": 6,
}


def check(body, **context):
    serializer = EligibilityCheckSerializer(data=body, context={"now": NOW, **context})
    with translation.override("en"):
        serializer.is_valid()
    return serializer


def errors_of(body, **context):
    serializer = check(body, **context)
    assert serializer.errors, "expected the body to be refused"
    return json.loads(json.dumps(serializer.errors))  # as the client sees them


def changed(**changes):
    body = copy.deepcopy(API_EXAMPLE)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = body
        for parent in parents:
            target = target[int(parent)] if parent.isdigit() else target[parent]
        if value is DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return body


DELETE = object()


def test_the_api_example_is_valid_and_read_exactly():
    serializer = check(API_EXAMPLE)
    assert serializer.errors == {}
    subject = serializer.to_assessment()

    assert isinstance(subject, Assessment)
    assert subject.assessed_at == datetime(2021, 11, 3, 10, 0, tzinfo=ROME)
    assert subject.birth_date == date(1960, 5, 1)
    assert (subject.sex, subject.weight_kg) == ("F", Decimal("70"))
    # Decimals, never floats, and never padded or rounded.
    assert subject.fio2 == Decimal("0.4") and isinstance(subject.fio2, Decimal)
    assert subject.supar_ng_ml == Decimal("7.2") and str(subject.supar_ng_ml) == "7.2"
    assert all(
        isinstance(value, Decimal)
        for value in (subject.pao2_mmhg, subject.anc_10e9_l, subject.alt_x_uln, subject.ast_x_uln)
    )
    assert subject.regimen == SHIPPED_VERSIONS[0].regimen  # given in the example, as the listing's
    tocilizumab, warfarin = subject.concomitant_medications
    assert (tocilizumab.atc_code, tocilizumab.ongoing, tocilizumab.name) == ("L04AC07", False, None)
    assert tocilizumab.last_dose_at == datetime(2021, 11, 1, 8, 0, tzinfo=ROME)
    assert (warfarin.name, warfarin.ongoing, warfarin.last_dose_at) == ("warfarin", True, None)


def test_the_api_example_end_to_end():
    subject = check(API_EXAMPLE).to_assessment()
    with translation.override("en"):
        verdict = evaluate(
            subject,
            criteria=criteria_in_force(subject.assessed_at),
            shortages=[ShortagePeriod(date(2021, 10, 5), None, "demo")],
        )

    assert verdict.as_dict()["pao2_fio2_ratio"] == 200.0
    assert verdict.failed_codes == ("NO_IL_OR_JAK_INHIBITOR",)
    assert verdict.warning_codes == ("CYP450_NARROW_THERAPEUTIC_INDEX",)


def test_decimals_written_as_strings_keep_their_digits():
    subject = check(changed(fio2="0.40", supar_ng_ml="6.0")).to_assessment()

    assert str(subject.fio2) == "0.40"
    assert str(subject.supar_ng_ml) == "6.0"


def test_defaults_of_the_optional_fields():
    serializer = check(MINIMAL)
    assert serializer.errors == {}
    subject = serializer.to_assessment()

    assert subject.assessed_at == NOW
    assert subject.weight_kg is None
    assert subject.anc_10e9_l is None
    assert subject.creatinine_clearance_ml_min is None
    assert subject.alt_x_uln is None and subject.ast_x_uln is None
    assert subject.known_hypersensitivity is False
    assert subject.concomitant_medications == ()
    assert subject.regimen is None  # the criteria version's regimen (its data)


def test_assessed_at_defaults_to_the_given_moment():
    prescribed_at = datetime(2021, 11, 1, 9, 0, tzinfo=ROME)
    serializer = check(MINIMAL)

    assert serializer.to_assessment(default_assessed_at=prescribed_at).assessed_at == prescribed_at
    assert to_assessment(serializer.validated_data, default_assessed_at=prescribed_at).assessed_at == prescribed_at


def test_optional_values_may_be_null():
    serializer = check(
        changed(assessed_at=None, anc_10e9_l=None, creatinine_clearance_ml_min=None, patient__weight_kg=None)
    )
    assert serializer.errors == {}
    assert serializer.to_assessment().anc_10e9_l is None


def test_case_of_sex_and_route_and_atc_code_is_forgiven():
    serializer = check(changed(patient__sex="f", regimen__route="sc", concomitant_medications__0__atc_code=" l04ac07 "))
    assert serializer.errors == {}
    subject = serializer.to_assessment()

    assert subject.sex == "F"
    assert subject.regimen.route == "SC"
    assert subject.concomitant_medications[0].atc_code == "L04AC07"


# -- bad input: one row per kind, the error keyed by the field --------------------------------------------------

BAD = [
    ("fio2 as a percentage", changed(fio2=40), ("fio2",), "not a percentage"),
    ("fio2 below air", changed(fio2=0.2), ("fio2",), "between 0.21 (room air) and 1.0"),
    ("fio2 above one", changed(fio2=1.01), ("fio2",), "between 0.21 and 1.0"),
    ("fio2 not a number", changed(fio2="forty"), ("fio2",), "valid number"),
    ("fio2 missing", changed(fio2=DELETE), ("fio2",), "required"),
    ("pao2 zero", changed(pao2_mmhg=0), ("pao2_mmhg",), "greater than or equal to 20"),
    ("pao2 negative", changed(pao2_mmhg=-5), ("pao2_mmhg",), ""),
    ("pao2 implausible", changed(pao2_mmhg=800), ("pao2_mmhg",), "less than or equal to 700"),
    ("pao2 NaN", changed(pao2_mmhg="NaN"), ("pao2_mmhg",), ""),
    ("supar negative", changed(supar_ng_ml=-1), ("supar_ng_ml",), ""),
    ("supar implausible", changed(supar_ng_ml=1000), ("supar_ng_ml",), ""),
    ("supar missing", changed(supar_ng_ml=DELETE), ("supar_ng_ml",), "required"),
    ("anc negative", changed(anc_10e9_l=-0.1), ("anc_10e9_l",), ""),
    ("creatinine clearance negative", changed(creatinine_clearance_ml_min=-1), ("creatinine_clearance_ml_min",), ""),
    ("alt negative", changed(alt_x_uln=-1), ("alt_x_uln",), ""),
    ("ast implausible", changed(ast_x_uln=9999), ("ast_x_uln",), ""),
    ("too many decimals", changed(fio2="0.40001"), ("fio2",), "decimal places"),
    ("unknown pneumonia", changed(pneumonia="critical"), ("pneumonia",), "not a valid choice"),
    ("unknown support", changed(respiratory_support="helmet"), ("respiratory_support",), "not a valid choice"),
    ("hospitalised missing", changed(hospitalised=DELETE), ("hospitalised",), "required"),
    ("hospitalised not a boolean", changed(hospitalised="maybe"), ("hospitalised",), "valid boolean"),
    ("unknown sex", changed(patient__sex="X"), ("patient", "sex"), "not a valid choice"),
    ("patient missing", changed(patient=DELETE), ("patient",), "required"),
    ("birth date missing", changed(patient__birth_date=DELETE), ("patient", "birth_date"), "required"),
    ("birth date in the future", changed(patient__birth_date="2022-01-01"), ("patient", "birth_date"), "future"),
    (
        "birth date after the assessment",
        changed(patient__birth_date="2021-11-03", assessed_at="2021-11-02T10:00:00+01:00"),
        ("patient", "birth_date"),
        "after the assessment",
    ),
    (
        "birth date implausible",
        changed(patient__birth_date="1850-01-01"),
        ("patient", "birth_date"),
        "The birth date is before 01 Jan 1900.",  # the reader's date, never ISO
    ),
    (
        "last dose off the calendar",
        changed(concomitant_medications=[{"name": "warfarin", "last_dose_at": "1850-01-01T10:00:00+01:00"}]),
        ("concomitant_medications", "0", "last_dose_at"),
        "Give a date between 01 Jan 1900 and 31 Dec 2100.",
    ),
    ("weight implausible", changed(patient__weight_kg=0), ("patient", "weight_kg"), ""),
    (
        "medication with neither name nor code",
        changed(concomitant_medications=[{"ongoing": True}]),
        ("concomitant_medications", "0", "name"),
        "name or its ATC code",
    ),
    (
        "medication with blank name and code",
        changed(concomitant_medications=[{"name": "  ", "atc_code": "", "ongoing": True}]),
        ("concomitant_medications", "0", "atc_code"),
        "name or its ATC code",
    ),
    (
        "medication neither ongoing nor dated",
        changed(concomitant_medications=[{"name": "tocilizumab"}]),
        ("concomitant_medications", "0", "last_dose_at"),
        "ongoing",
    ),
    (
        "medication not ongoing, undated",
        changed(concomitant_medications=[{"name": "tocilizumab", "ongoing": False, "last_dose_at": None}]),
        ("concomitant_medications", "0", "ongoing"),
        "ongoing",
    ),
    (
        "last dose after the assessment",
        changed(
            concomitant_medications=[
                {"name": "warfarin", "ongoing": True},
                {"name": "tocilizumab", "last_dose_at": "2021-11-03T10:00:01+01:00"},
            ]
        ),
        ("concomitant_medications", "1", "last_dose_at"),
        "after the assessment",
    ),
    (
        "malformed ATC code",
        changed(concomitant_medications=[{"atc_code": "12345", "ongoing": True}]),
        ("concomitant_medications", "0", "atc_code"),
        "ATC code",
    ),
    (
        "medications not a list",
        changed(concomitant_medications={"name": "warfarin"}),
        ("concomitant_medications", "non_field_errors"),
        "list",
    ),
    (
        "too many medications",
        changed(concomitant_medications=[{"name": "warfarin", "ongoing": True}] * 51),
        ("concomitant_medications", "non_field_errors"),
        "no more than 50",
    ),
    ("assessed far in the future", changed(assessed_at="2022-11-03T10:00:00+01:00"), ("assessed_at",), "future"),
    (
        "assessed before any criteria",
        changed(assessed_at="2021-10-04T23:59:00+02:00"),
        ("assessed_at",),
        "No eligibility criteria are in force on 04 Oct 2021.",
    ),
    ("assessed_at not a datetime", changed(assessed_at="yesterday"), ("assessed_at",), "format"),
    ("unknown route", changed(regimen__route="IM"), ("regimen", "route"), "not a valid choice"),
    ("dose zero", changed(regimen__dose_mg=0), ("regimen", "dose_mg"), ""),
    ("interval missing", changed(regimen__interval_hours=DELETE), ("regimen", "interval_hours"), "required"),
    ("duration zero", changed(regimen__duration_days=0), ("regimen", "duration_days"), ""),
]


@pytest.mark.parametrize(("body", "path", "fragment"), [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_bad_input_is_refused_naming_the_field(body, path, fragment):
    errors = errors_of(body)
    node = errors
    for key in path:
        assert key in node, f"expected an error at {path}, got {errors}"
        node = node[key]

    assert isinstance(node, list) and node
    assert any(fragment in message for message in node), node


def test_every_bad_field_is_named_at_once():
    errors = errors_of(changed(fio2=40, pneumonia="critical", patient__sex="X", supar_ng_ml=-1))

    assert {"fio2", "pneumonia", "patient", "supar_ng_ml"} <= set(errors)


def test_a_little_clock_skew_is_tolerated():
    assert check(changed(assessed_at="2021-11-03T12:05:00+01:00")).errors == {}


def test_last_dose_is_checked_against_the_default_assessment_moment():
    body = dict(MINIMAL, concomitant_medications=[{"name": "tocilizumab", "last_dose_at": "2021-11-02T10:00:00+01:00"}])
    default = datetime(2021, 11, 1, 9, 0, tzinfo=ROME)

    assert check(body).errors == {}
    errors = errors_of(body, default_assessed_at=default)
    assert "last_dose_at" in errors["concomitant_medications"]["0"]


# -- reuse by the prescription submission -----------------------------------------------------------------------


class PrescriptionLikeSerializer(serializers.Serializer):
    """How a prescription nests the assessment, beside its own patient block."""

    patient = PatientInputSerializer()
    assessment = AssessmentFieldsSerializer()


def test_the_assessment_fields_nest_in_another_serializer():
    assessment_body = {key: value for key, value in API_EXAMPLE.items() if key != "patient"}
    serializer = PrescriptionLikeSerializer(
        data={"patient": API_EXAMPLE["patient"], "assessment": assessment_body}, context={"now": NOW}
    )
    assert serializer.is_valid(), serializer.errors
    subject = to_assessment(
        serializer.validated_data["assessment"],
        default_assessed_at=NOW,
        patient=serializer.validated_data["patient"],
    )

    assert subject.birth_date == date(1960, 5, 1)
    assert subject.fio2 == Decimal("0.4")
    assert "patient" not in AssessmentFieldsSerializer().fields


def test_nested_assessment_errors_are_keyed_under_assessment():
    assessment_body = {key: value for key, value in API_EXAMPLE.items() if key != "patient"}
    serializer = PrescriptionLikeSerializer(
        data={"patient": API_EXAMPLE["patient"], "assessment": dict(assessment_body, fio2=40)},
        context={"now": NOW},
    )

    assert not serializer.is_valid()
    assert "fio2" in serializer.errors["assessment"]


def test_to_assessment_needs_a_patient():
    serializer = AssessmentFieldsSerializer(
        data={k: v for k, v in MINIMAL.items() if k != "patient"}, context={"now": NOW}
    )
    assert serializer.is_valid(), serializer.errors

    with pytest.raises(ValueError, match="patient"):
        to_assessment(serializer.validated_data, default_assessed_at=NOW)


def test_criteria_versions_may_come_from_the_context():
    (shipped,) = SHIPPED_VERSIONS
    later = replace(shipped, valid_from=date(2021, 11, 1))

    errors = errors_of(changed(assessed_at="2021-10-20T10:00:00+02:00"), criteria_versions=[later])
    assert "assessed_at" in errors
