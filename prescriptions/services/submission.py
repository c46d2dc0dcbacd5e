"""Submitting a prescription: the engine decides; eligible awaits dispensing, refused is kept as ``rejected``."""

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from registry.calendar import rome_date
from registry.errors import Conflict, InvalidInput
from registry.models import AuditEvent, Centre, Patient
from registry.patient_identity import IDENTIFYING_FIELDS, patient_identity_store
from registry.permissions import ensure_may_prescribe_at
from registry.pseudonym import validate_fiscal_code
from registry.services import patient_get_or_create

from .. import eligibility, events
from ..assessment import criteria_for, to_assessment
from ..codes import ConflictCode
from ..models import ACTIVE_STATUSES, BASELINE_FIELDS, CriterionOutcome, DoseInterval, Prescription, PrescriptionStatus
from ..selectors import prescriptions_visible_to, shortage_periods
from ..workflow import LATE_REGISTRATION_DAYS


@dataclass(frozen=True)
class PatientData:
    """Who the prescription is for, as the prescriber enters it. The registry links the patient by a pseudonym
    and keeps the fiscal code and the identifying data (names, ward, bed, admission number) only encrypted."""

    fiscal_code: str
    birth_date: date
    sex: str
    weight_kg: Decimal | None = None
    family_name: str = ""
    given_name: str = ""
    ward: str = ""
    bed: str = ""
    admission_number: str = ""

    @classmethod
    def from_dict(cls, data: Mapping) -> "PatientData":
        return cls(
            fiscal_code=data["fiscal_code"],
            birth_date=data["birth_date"],
            sex=data["sex"],
            weight_kg=data.get("weight_kg"),
            **{field: data.get(field) or "" for field in IDENTIFYING_FIELDS},
        )

    def __repr__(self) -> str:
        # Never the fiscal code nor the names, should the data reach a log or an error report.
        return f"PatientData(birth_date={self.birth_date!r}, sex={self.sex!r}, weight_kg={self.weight_kg!r})"

    def identifying(self) -> dict:
        return {field: getattr(self, field) for field in IDENTIFYING_FIELDS}


@dataclass(frozen=True)
class Consent:
    """The written informed consent L.648 requires: who gave it and on which day (default: the prescription's)."""

    given_by: str
    given_on: date | None = None


def evaluate_assessment(assessment: eligibility.Assessment) -> eligibility.Verdict:
    """The one path from an assessment to a verdict, for the dry run and the submission alike.

    Values the engine refuses to judge (``eligibility.InvalidAssessment``) are wrong input: 400 naming the field.
    """
    criteria = criteria_for(assessment.assessed_at)
    try:
        return eligibility.evaluate(assessment, criteria=criteria, shortages=shortage_periods())
    except eligibility.InvalidAssessment as exc:
        raise InvalidInput({exc.field: exc.reason}) from None


def check_prescribed_at(prescribed_at: datetime, *, now: datetime) -> None:
    if prescribed_at > now:
        raise InvalidInput({"prescribed_at": _("A prescription cannot be dated in the future.")})
    if prescribed_at < now - timedelta(days=LATE_REGISTRATION_DAYS):
        raise InvalidInput(
            {
                "prescribed_at": _("A late registration may go back at most %(days)d days.")
                % {"days": LATE_REGISTRATION_DAYS}
            }
        )


class _PlainJSONEncoder(DjangoJSONEncoder):
    """Decimals as JSON numbers, as the API renders them; UUIDs and dates as strings."""

    def default(self, o):
        if isinstance(o, Decimal):
            return float(o)
        return super().default(o)


def plain_json(data):
    """Plain JSON, as stored for the assessment record and for idempotent replays."""
    return json.loads(json.dumps(data, cls=_PlainJSONEncoder))


def prescription_submit(
    *,
    prescriber,
    centre: Centre,
    patient: PatientData,
    assessment: eligibility.Assessment,
    consent: Consent,
    prescribed_at: datetime | None = None,
    assessment_record: dict | None = None,
    now: datetime | None = None,
    baseline: Mapping | None = None,
) -> Prescription:
    """Register a request: the engine decides, refused requests are kept as ``rejected``.

    ``prescribed_at`` defaults to ``now`` (itself the clock's); a late registration goes back at most
    ``LATE_REGISTRATION_DAYS``, and the prescriber's authorisation is judged on its Rome day.
    ``assessment_record`` is the assessment as received (JSON), kept with the verdict (default: the
    engine's ``assessment`` as plain JSON). ``baseline``: the optional baseline fields
    (``models.BASELINE_FIELDS``), stored as given and never judged.
    """
    now = now or timezone.now()
    prescribed_at = prescribed_at or now
    check_prescribed_at(prescribed_at, now=now)
    if consent.given_on is not None and consent.given_on > rome_date(now):
        raise InvalidInput({"consent_date": _("The consent cannot be dated in the future.")})
    ensure_may_prescribe_at(prescriber, centre, rome_date(prescribed_at))
    verdict = evaluate_assessment(assessment)
    if assessment_record is None:
        assessment_record = plain_json(asdict(assessment))

    try:
        with transaction.atomic():
            try:
                patient_row = patient_get_or_create(
                    actor=prescriber, fiscal_code=patient.fiscal_code, birth_date=patient.birth_date, sex=patient.sex
                )
            except InvalidInput as exc:
                raise _under_patient(exc) from None
            # Submissions for one patient queue here, so only one can find no active course.
            patient_row = Patient.objects.select_for_update().get(pk=patient_row.pk)
            try:
                patient_identity_store(
                    actor=prescriber,
                    patient=patient_row,
                    centre_id=centre.pk,
                    fiscal_code=validate_fiscal_code(
                        patient.fiscal_code, birth_date=patient.birth_date, sex=patient.sex
                    ),
                    values=patient.identifying(),
                )
            except InvalidInput as exc:
                raise _under_patient(exc) from None
            if verdict.eligible:
                _ensure_no_active_course(patient_row, prescriber=prescriber, centre=centre)
            prescription = Prescription.objects.create(
                patient=patient_row,
                centre=centre,
                prescriber=prescriber,
                status=PrescriptionStatus.AWAITING_DISPENSING if verdict.eligible else PrescriptionStatus.REJECTED,
                prescribed_at=prescribed_at,
                registered_at=now,
                criteria_version=verdict.criteria_version,
                eligible=verdict.eligible,
                eligibility=verdict.as_dict(),
                assessment=assessment_record,
                pao2_fio2_ratio=verdict.pao2_fio2_ratio.quantize(Decimal("0.01")),
                weight_kg=patient.weight_kg,
                dose_interval_hours=_accepted_interval(assessment, verdict),
                consent_given_by=consent.given_by,
                consent_date=consent.given_on or rome_date(prescribed_at),
                **_baseline_fields(baseline),
            )
            CriterionOutcome.objects.bulk_create(
                CriterionOutcome(prescription=prescription, code=result.code, outcome=result.outcome)
                for result in verdict.results
            )
            il_jak = verdict.result(eligibility.CriterionCode.NO_IL_OR_JAK_INHIBITOR)
            events.prescription_submitted(
                prescriber,
                prescription,
                failed_criteria=verdict.failed_codes,
                confirmed_not_il_jak=(il_jak.details or {}).get("confirmed_not_il_jak", ()),
            )
    except ActiveCourseElsewhere as exc:
        # Audited once the submission's own transaction is rolled back, so the record survives it.
        active_course_elsewhere_record(exc)
        raise
    except IntegrityError as exc:
        # The conditional unique constraint caught a race the lock did not (belt and braces).
        if "one_active_course_per_patient" in str(exc):
            raise Conflict(ConflictCode.ACTIVE_COURSE, _("This patient already has an active course.")) from None
        raise
    return prescription


def _accepted_interval(assessment: eligibility.Assessment, verdict: eligibility.Verdict) -> int:
    """The dose interval the course follows: the regimen's when REGIMEN_648 accepted it (every 24 h, or every
    48 h with creatinine clearance < 30), else the listing's 24 h."""
    accepted = verdict.result(eligibility.CriterionCode.REGIMEN_648).outcome == eligibility.Outcome.PASS
    interval = assessment.regimen.interval_hours
    return interval if accepted and interval in DoseInterval.values else DoseInterval.EVERY_24_H


def _under_patient(exc: InvalidInput) -> InvalidInput:
    """The patient's errors nested under ``patient``, where the submission's body has them (API: 400).

    ``InvalidInput`` flattens its values to lists, so the nested shape is set after construction.
    """
    nested = InvalidInput({})
    nested.errors = {"patient": exc.errors}
    nested.args = (str(nested.errors),)
    return nested


@sensitive_variables("data")
def prescription_submit_validated(*, prescriber, centre: Centre, data: Mapping) -> Prescription:
    """A submission validated by ``PrescriptionSubmitSerializer``, from the API or the page alike.

    The assessment defaults to ``prescribed_at`` and the consent to its day; only the validated
    assessment is kept as the record (unknown keys a client sends are never stored).
    """
    now = timezone.now()
    prescribed_at = data["prescribed_at"] or now
    assessment = to_assessment(data["assessment"], default_assessed_at=prescribed_at, patient=data["patient"])
    return prescription_submit(
        prescriber=prescriber,
        centre=centre,
        patient=PatientData.from_dict(data["patient"]),
        assessment=assessment,
        consent=Consent(given_by=data["consent_given_by"], given_on=data["consent_date"]),
        prescribed_at=prescribed_at,
        assessment_record=plain_json({**data["assessment"], "assessed_at": assessment.assessed_at}),
        now=now,
        baseline=data.get("baseline"),
    )


def _baseline_fields(baseline: Mapping | None) -> dict:
    """The baseline as the model stores it, a field left out as empty (None, or "" for a text field)."""
    baseline = baseline or {}
    unknown = set(baseline) - set(BASELINE_FIELDS)
    if unknown:
        raise ValueError(f"unknown baseline fields: {sorted(unknown)}")
    return {
        field: baseline.get(field, None if Prescription._meta.get_field(field).null else "")
        for field in BASELINE_FIELDS
    }


class ActiveCourseElsewhere(Conflict):
    """``ACTIVE_COURSE`` for a course the prescriber may not see: the message names neither its id nor status.

    It carries what the audit of the refused attempt needs (``active_course_elsewhere_record``).
    """

    def __init__(self, *, prescriber, patient: Patient, centre: Centre, active: Prescription):
        super().__init__(
            ConflictCode.ACTIVE_COURSE,
            _("This patient already has an active course at another centre."),
        )
        self.prescriber = prescriber
        self.patient = patient
        self.centre = centre
        self.active = active
        self.audit_event_id = None


def active_course_elsewhere_record(exc: ActiveCourseElsewhere) -> None:
    """Audit the refused attempt once, after the submission's transaction was rolled back.

    Called again by a caller whose own transaction held the submission (an idempotent replay's), after that
    one rolled back too: the event is recorded again only if the rollback took it away.
    """
    if exc.audit_event_id is not None and AuditEvent.objects.filter(pk=exc.audit_event_id).exists():
        return
    with transaction.atomic():
        event = events.active_course_elsewhere(
            exc.prescriber, exc.patient, centre=exc.centre, active_prescription=exc.active
        )
    exc.audit_event_id = event.pk


def _ensure_no_active_course(patient: Patient, *, prescriber, centre: Centre) -> None:
    active = Prescription.objects.filter(patient=patient, status__in=ACTIVE_STATUSES).first()
    if active is None:
        return
    if not prescriptions_visible_to(prescriber).filter(pk=active.pk).exists():
        # Another region's (or centre's) prescription: its id and status are not the prescriber's to know.
        raise ActiveCourseElsewhere(prescriber=prescriber, patient=patient, centre=centre, active=active)
    raise Conflict(
        ConflictCode.ACTIVE_COURSE,
        _("This patient already has an active course (prescription %(id)s, %(status)s).")
        % {"id": active.pk, "status": active.get_status_display()},
    )
