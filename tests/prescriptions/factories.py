"""Builders for the prescription workflow tests: valid bodies, Rome moments, prescriptions at a given stage.

Everything is built through the services (or the API), never by writing rows directly, so that a prescription
at a stage is exactly what the registry would have stored, counters and audit trail included.
"""

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone
from stdnum.it.codicefiscale import calc_check_digit

from prescriptions import services
from prescriptions.api.serializers import PrescriptionSubmitSerializer
from prescriptions.assessment import to_assessment
from prescriptions.models import Prescription, PrescriptionStatus
from registry.calendar import REGISTRY_TIME_ZONE, rome_today
from registry.models import Centre

ROME = REGISTRY_TIME_ZONE
MILANO = "Ospedale Demo Milano"
ROMA = "Ospedale Demo Roma"

BIRTH_DATE = date(1960, 5, 1)
_MONTHS = "ABCDEHLMPRST"  # codice fiscale month letters, January to December
_serial = itertools.count()


# --- Time ----------------------------------------------------------------------------


def today() -> date:
    """Today in Rome (the registry's calendar)."""
    return rome_today()


def rome(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """An aware moment at a Rome wall-clock time."""
    return datetime.combine(day, time(hour, minute), tzinfo=ROME)


def days_ago(days: int, hour: int = 12, minute: int = 0) -> datetime:
    """``hour:minute`` Rome time, ``days`` calendar days before today."""
    return rome(today() - timedelta(days=days), hour, minute)


# --- Patients ------------------------------------------------------------------------


def fiscal_code(birth_date: date = BIRTH_DATE, sex: str = "M", *, serial: int | None = None) -> str:
    """A valid codice fiscale for that birth date and sex, different for every call (or ``serial``)."""
    n = next(_serial) if serial is None else serial
    letters = ""
    for _ in range(6):
        n, r = divmod(n, 26)
        letters += chr(ord("A") + r)
    day = birth_date.day + (40 if sex == "F" else 0)
    body = f"{letters[::-1]}{birth_date.year % 100:02d}{_MONTHS[birth_date.month - 1]}{day:02d}F205"
    return body + calc_check_digit(body)


def wrong_check_character(code: str) -> str:
    last = code[-1]
    return code[:-1] + ("A" if last != "A" else "B")


# --- Bodies --------------------------------------------------------------------------


def eligible_assessment(**overrides) -> dict:
    """The assessment part of a submission: eligible under L648-2021-10 (with the demo's shortage)."""
    assessment = {
        "hospitalised": True,
        "sars_cov_2_confirmed": True,
        "pneumonia": "severe",
        "pao2_mmhg": 80,
        "fio2": 0.40,
        "respiratory_support": "low_flow_oxygen",
        "supar_ng_ml": 7.2,
        "anc_10e9_l": 3.1,
        "creatinine_clearance_ml_min": 80,
        "alt_x_uln": 0.8,
        "ast_x_uln": 1.1,
        "known_hypersensitivity": False,
    }
    assessment.update(overrides)
    return assessment


INELIGIBLE = {"pao2_mmhg": 45, "fio2": 0.30, "supar_ng_ml": 5.9, "respiratory_support": "cpap"}


def submission_body(
    *,
    centre: Centre | str | None = None,
    prescribed_at: datetime | str | None = None,
    code: str | None = None,
    birth_date: date = BIRTH_DATE,
    sex: str = "M",
    eligible: bool = True,
    assessment: dict | None = None,
    identity: dict | None = None,
    **extra,
) -> dict:
    """A JSON body for ``POST /api/v1/prescriptions/`` (a new patient each call unless ``code`` is given).

    ``identity``: the patient's identifying data (``family_name``, ``given_name``, ``ward``, ``bed``,
    ``admission_number``), none by default."""
    body = {
        "patient": {
            "fiscal_code": code or fiscal_code(birth_date, sex),
            "birth_date": birth_date.isoformat(),
            "sex": sex,
            "weight_kg": 80,
            **(identity or {}),
        },
        "assessment": assessment if assessment is not None else eligible_assessment(**({} if eligible else INELIGIBLE)),
        "informed_consent": True,
    }
    if centre is not None:
        body["centre"] = str(getattr(centre, "pk", centre))
    if prescribed_at is not None:
        body["prescribed_at"] = prescribed_at if isinstance(prescribed_at, str) else prescribed_at.isoformat()
    body.update(extra)
    return body


# --- Prescriptions through the services ----------------------------------------------


def centre(name: str = MILANO) -> Centre:
    return Centre.objects.get(name=name)


def submit(prescriber, *, centre_obj: Centre | None = None, **body_options) -> Prescription:
    """``services.prescription_submit`` with a body validated as the API validates it."""
    body = submission_body(**body_options)
    serializer = PrescriptionSubmitSerializer(data=body)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    prescribed_at = data["prescribed_at"] or timezone.now()
    return services.prescription_submit(
        prescriber=prescriber,
        centre=centre_obj or centre(MILANO),
        patient=services.PatientData.from_dict(data["patient"]),
        assessment=to_assessment(data["assessment"], default_assessed_at=prescribed_at, patient=data["patient"]),
        assessment_record=body["assessment"],
        consent=services.Consent(given_by=data["consent_given_by"], given_on=data["consent_date"]),
        prescribed_at=data["prescribed_at"],
        baseline=data.get("baseline"),
    )


def dispense(pharmacist, prescription: Prescription, syringes: int = 10, lot: str = "LOT-1"):
    return services.dispensation_record(
        pharmacist=pharmacist,
        prescription=prescription,
        syringes=syringes,
        lot_number=lot,
        expiry_date=today() + timedelta(days=365),
    )


def administer(user, prescription: Prescription, at: datetime, dose_mg="100", route: str = "SC"):
    return services.administration_record(
        user=user, prescription=prescription, administered_at=at, dose_mg=Decimal(dose_mg), route=route
    )


def prescription_at(
    demo,
    stage: str,
    *,
    prescribed_days_ago: int = 29,
    dose_days_ago: list[int] | None = None,
    syringes: int = 10,
    **body_options,
) -> Prescription:
    """A Milano prescription at ``stage``, built through the services.

    ``prescribed_days_ago`` puts ``prescribed_at`` at 06:00 Rome that many days back (29 leaves room for a whole
    course in the past); today (0) before 06:00, a minute before now but not before midnight. Doses go at 12:00
    Rome on ``dose_days_ago`` (default: one a day from the prescription day, as many as the stage needs).
    """
    prescriber = demo["prescriber.milano"]
    if stage == PrescriptionStatus.REJECTED:
        body_options["eligible"] = False
    prescribed_at = days_ago(prescribed_days_ago, 6)
    if prescribed_days_ago == 0:  # before 06:00 in Rome, 06:00 today is still to come: a minute ago, still today
        prescribed_at = max(rome(today(), 0), min(prescribed_at, timezone.now() - timedelta(minutes=1)))
    prescription = submit(prescriber, prescribed_at=prescribed_at, **body_options)
    if stage in (PrescriptionStatus.REJECTED, PrescriptionStatus.AWAITING_DISPENSING):
        assert prescription.status == stage
        return prescription
    if stage == PrescriptionStatus.CANCELLED:
        services.prescription_stop(prescriber=prescriber, prescription=prescription, reason="discharge")
        return _reloaded(prescription, stage)
    dispense(demo["pharmacist.milano"], prescription, syringes)
    if stage == PrescriptionStatus.DISPENSED:
        return _reloaded(prescription, stage)
    if dose_days_ago is None:
        count = {PrescriptionStatus.COMPLETED: 10, PrescriptionStatus.IN_COURSE: 3, PrescriptionStatus.STOPPED: 3}
        dose_days_ago = [prescribed_days_ago - i for i in range(count[stage])]
    nurse = demo["nurse.milano"]
    for days in dose_days_ago:
        administer(nurse, prescription, days_ago(days))
    if stage == PrescriptionStatus.STOPPED:
        services.prescription_stop(
            prescriber=prescriber,
            prescription=prescription,
            reason="clinical_worsening",
            stopped_at=days_ago(min(dose_days_ago), 18),
        )
    return _reloaded(prescription, stage)


def _reloaded(prescription: Prescription, stage: str) -> Prescription:
    prescription.refresh_from_db()
    assert prescription.status == stage, (prescription.status, stage)
    return prescription
