"""From validated input to the rule engine's ``Assessment``, and the two checks every input path shares.

No DRF here: the serializers (``eligibility_serializers``, ``serializers``) validate the shape of a request and
call these; the services call them too. Each rule lives once:

- ``criteria_for``: criteria must be in force on the assessment's date (the L.648 listing of anakinra for
  COVID-19, G.U. 2021, and its later updates; see ``prescriptions/eligibility/versions``);
- ``birth_date_error``: the patient cannot be born after the assessment.
"""

from collections.abc import Mapping
from dataclasses import fields
from datetime import date, datetime

from django.utils.translation import gettext as _

from registry.calendar import rome_date
from registry.errors import InvalidInput
from registry.formats import short_date

from . import eligibility

# Fields of the engine's dataclasses that the input does not carry as such: the patient's, the medication list
# and the regimen, mapped below; every other field of ``Assessment`` is read by its own name.
_PATIENT_FIELDS = ("birth_date", "sex", "weight_kg")
_MAPPED_FIELDS = {"assessed_at", *_PATIENT_FIELDS, "concomitant_medications", "regimen"}


def criteria_for(assessed_at: datetime, versions=None) -> eligibility.CriteriaVersion:
    """The criteria in force at ``assessed_at``; none in force is wrong input on ``assessed_at`` (400)."""
    try:
        return eligibility.criteria_in_force(assessed_at, versions)
    except eligibility.NoCriteriaInForce:
        raise InvalidInput(
            {
                "assessed_at": _("No eligibility criteria are in force on %(date)s.")
                % {"date": short_date(rome_date(assessed_at))}
            }
        ) from None


def birth_date_error(birth_date: date, assessed_at: datetime) -> str | None:
    """Why a birth date cannot be, given the assessment's moment (None when it can)."""
    if birth_date > rome_date(assessed_at):
        return _("The birth date is after the assessment.")
    return None


def _engine_values(cls, data: Mapping, *, skip=frozenset()) -> dict:
    """The values of ``data`` named like a field of the engine's dataclass ``cls`` (absent ones keep the
    dataclass's default): a new optional input field reaches the engine under its own name."""
    return {f.name: data[f.name] for f in fields(cls) if f.name not in skip and f.name in data}


def to_assessment(
    validated_data: Mapping,
    *,
    default_assessed_at: datetime,
    patient: Mapping | None = None,
) -> eligibility.Assessment:
    """The engine's ``Assessment`` from the validated data of the eligibility check or of a submission.

    ``patient`` (``birth_date``, ``sex``, ``weight_kg``) is taken from ``validated_data["patient"]`` when
    present, else from the argument: a prescription validates its patient separately. A missing
    ``assessed_at`` becomes ``default_assessed_at``; a missing regimen, None: the regimen of the
    criteria version that judges it.
    """
    patient = validated_data.get("patient") or patient
    if patient is None:
        raise ValueError("to_assessment needs the patient's data")
    regimen = validated_data.get("regimen")
    return eligibility.Assessment(
        assessed_at=validated_data.get("assessed_at") or default_assessed_at,
        birth_date=patient["birth_date"],
        sex=patient.get("sex"),
        weight_kg=patient.get("weight_kg"),
        concomitant_medications=tuple(
            eligibility.ConcomitantMedication(**_engine_values(eligibility.ConcomitantMedication, medication))
            for medication in validated_data.get("concomitant_medications", ())
        ),
        regimen=eligibility.Regimen(**regimen) if regimen else None,
        **_engine_values(eligibility.Assessment, validated_data, skip=_MAPPED_FIELDS),
    )
