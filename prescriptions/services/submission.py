"""Submitting a prescription: the engine decides; eligible awaits dispensing, refused is kept as ``rejected``."""

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from registry.audit import audit_batch
from registry.calendar import rome_date
from registry.errors import Conflict, InvalidInput
from registry.models import AuditEvent, Centre, Patient
from registry.patient_identity import IDENTIFYING_FIELDS
from registry.permissions import PermissionDenied, ensure_may_prescribe_at
from registry.pseudonym import InvalidFiscalCode, pseudonymise, validate_fiscal_code
from registry.services import is_patient_race, patient_for_submission

from .. import eligibility, events, notices
from ..assessment import criteria_for, to_assessment
from ..codes import ConflictCode
from ..course.workflow import LATE_REGISTRATION_DAYS
from ..idempotency import run_idempotent
from ..models import ACTIVE_STATUSES, BASELINE_FIELDS, CriterionOutcome, DoseInterval, Prescription, PrescriptionStatus
from ..permissions import may_read
from ..selectors import shortage_periods, submission_centre
from ._common import ensure_period_open


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


def eligibility_check_answer(*, user, data: Mapping, now: datetime, blockers: bool) -> dict:
    """The answer of an eligibility check, for the API and the page's live verdict alike (nothing stored): the
    verdict in the active language and, with ``blockers``, ``submission_blockers`` (``data``: the validated
    ``EligibilityCheckSerializer``; its ``centre`` and ``patient.fiscal_code`` are optional)."""
    assessment = to_assessment(data, default_assessed_at=now)
    answer = eligibility.rendered_verdict(evaluate_assessment(assessment).as_dict())
    if blockers:
        patient = data["patient"]
        found = submission_blockers(
            prescriber=user,
            centre_id=data.get("centre"),
            # The submission judges the authorisation on the prescription's day, which the assessment's defaults to.
            day=rome_date(assessment.assessed_at),
            patient=PatientData.from_dict(patient) if patient.get("fiscal_code") else None,
        )
        answer["submission_blockers"] = [blocker.as_dict() for blocker in found]
    return answer


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

    for attempt in range(2):
        try:
            return _record(
                prescriber=prescriber,
                centre=centre,
                patient=patient,
                verdict=verdict,
                assessment=assessment,
                assessment_record=assessment_record,
                consent=consent,
                prescribed_at=prescribed_at,
                now=now,
                baseline=baseline,
            )
        except ActiveCourseElsewhere as exc:
            # Audited once the submission's own transaction is rolled back, so the record survives it.
            active_course_elsewhere_record(exc)
            raise
        except IntegrityError as exc:
            if is_patient_race(exc) and attempt == 0:
                # A concurrent submission inserted this new patient first: again, now finding it (and its lock).
                continue
            # The conditional unique constraint caught a race the lock did not (belt and braces).
            if "one_active_course_per_patient" in str(exc):
                raise Conflict(ConflictCode.ACTIVE_COURSE, _("This patient already has an active course.")) from None
            raise
    raise AssertionError("unreachable")


@sensitive_variables("patient")
def _record(
    *, prescriber, centre, patient, verdict, assessment, assessment_record, consent, prescribed_at, now, baseline
) -> Prescription:
    """The writes of a submission, in one transaction: the patient (locked, or inserted), the prescription, its
    criterion outcomes (one insert) and the audit (its events written together, ``registry.audit.audit_batch``)."""
    with transaction.atomic(), audit_batch():
        # A late registration dated inside a quarter the region approved for AIFA: 409 PERIOD_LOCKED.
        ensure_period_open(region_code=centre.region_id, days=[rome_date(prescribed_at)])
        try:
            patient_row, new_patient = patient_for_submission(
                actor=prescriber,
                fiscal_code=patient.fiscal_code,
                birth_date=patient.birth_date,
                sex=patient.sex,
                centre_id=centre.pk,
                identity=patient.identifying(),
            )
        except InvalidInput as exc:
            raise _under_patient(exc) from None
        # Submissions for one patient queue on its row's lock, so only one can find no active course (a patient
        # this transaction has just inserted has none).
        if verdict.eligible and not new_patient:
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
        if prescription.status == PrescriptionStatus.AWAITING_DISPENSING:
            notices.request_waiting(prescription)
    return prescription


def _accepted_interval(assessment: eligibility.Assessment, verdict: eligibility.Verdict) -> int:
    """The dose interval the course follows: the regimen's when REGIMEN_648 accepted it (every 24 h, or every
    48 h with creatinine clearance < 30), else the listing's (the criteria version's regimen)."""
    accepted = verdict.result(eligibility.CriterionCode.REGIMEN_648).outcome == eligibility.Outcome.PASS
    listing = eligibility.criteria_version(verdict.criteria_version).regimen
    interval = (assessment.regimen or listing).interval_hours
    return interval if accepted and interval in DoseInterval.values else listing.interval_hours


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


@dataclass(frozen=True)
class Submission:
    """What :func:`prescription_submit_request` did: the prescription it recorded (None when an
    ``Idempotency-Key`` replayed the first response) and the response ``respond`` rendered for it, or the one
    stored with the key."""

    prescription: Prescription | None
    response: tuple[int, dict] | None = None

    @property
    def replayed(self) -> bool:
        return self.prescription is None


@sensitive_variables("data")
def prescription_submit_request(
    *,
    prescriber,
    data: Mapping,
    centre: Centre | None = None,
    respond: Callable[[Prescription], tuple[int, dict]] | None = None,
    idempotency_key: str = "",
    fingerprint: str = "",
) -> Submission:
    """The one service behind a submission, from the API and the page alike: which centre, every check, the
    record, its audit, and the audit of a refused attempt on a course the prescriber may not see.

    ``data``: the validated ``PrescriptionSubmitSerializer``. ``centre``: the centre when the caller already holds
    it (the page's chosen one), else the one ``data`` names or the only one where the prescriber may prescribe on
    the prescription's Rome day (``selectors.submission_centre``). ``respond``: renders the response of the
    prescription just recorded, in the same transaction, so that with an ``idempotency_key`` (and the request's
    ``fingerprint``) the response is stored with what it describes and a retry gets it back
    (``prescriptions.idempotency``; ``IdempotencyKeyReused`` for the key with another body).
    """

    def produce() -> tuple[Prescription, tuple[int, dict] | None]:
        nonlocal centre
        if centre is None:
            day = rome_date(data["prescribed_at"] or timezone.now())
            centre = submission_centre(user=prescriber, centre_id=data.get("centre"), day=day)
        prescription = prescription_submit_validated(prescriber=prescriber, centre=centre, data=data)
        return prescription, (respond(prescription) if respond is not None else None)

    if not idempotency_key:
        return Submission(*produce())
    produced: list[tuple[Prescription, tuple[int, dict]]] = []

    def produce_response() -> tuple[int, dict]:
        prescription, response = produce()
        if response is None:
            raise ValueError("an idempotent submission needs respond=")
        produced.append((prescription, response))
        return response

    try:
        response = run_idempotent(
            user=prescriber, key=idempotency_key, fingerprint=fingerprint, produce=produce_response
        )
    except ActiveCourseElsewhere as exc:
        # The idempotent run's transaction rolled the audit back with the rest: record it again, once.
        active_course_elsewhere_record(exc)
        raise
    # A replay (stored before, or by a concurrent retry that committed first and rolled this one back) answers
    # with another response than the one produced here.
    if produced and produced[-1][1] is response:
        return Submission(produced[-1][0], response)
    return Submission(None, response)


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


class ActiveCourseHere(Conflict):
    """``ACTIVE_COURSE`` for a course the prescriber may see: the message says in words where and since when, and
    the prescription goes beside it (``extra``; the page links to it), never inside the message."""

    def __init__(self, active: Prescription):
        super().__init__(
            ConflictCode.ACTIVE_COURSE,
            _(
                "This patient already has an active course of anakinra: prescribed on %(date)s at %(centre)s, "
                "%(status)s. Open that prescription to go on with it."
            )
            % {
                "date": formats.date_format(rome_date(active.prescribed_at), "SHORT_DATE_FORMAT"),
                "centre": active.centre.name,
                "status": active.get_status_display(),
            },
            extra={
                "prescription": str(active.pk),
                "prescription_url": reverse("api-prescription", kwargs={"prescription_id": active.pk}),
            },
        )
        self.active = active


def active_course_conflict(patient: Patient, *, prescriber, centre: Centre) -> Conflict | None:
    """The ``ACTIVE_COURSE`` conflict a submission for ``patient`` meets, or None: the one rule, for the submission
    (which raises it) and for the eligibility check's ``submission_blockers`` (which reports it)."""
    active = Prescription.objects.select_related("centre").filter(patient=patient, status__in=ACTIVE_STATUSES).first()
    if active is None:
        return None
    if not may_read(prescriber, active):
        # Another region's (or centre's) prescription: its id and status are not the prescriber's to know.
        return ActiveCourseElsewhere(prescriber=prescriber, patient=patient, centre=centre, active=active)
    return ActiveCourseHere(active)


def _ensure_no_active_course(patient: Patient, *, prescriber, centre: Centre) -> None:
    if (conflict := active_course_conflict(patient, prescriber=prescriber, centre=centre)) is not None:
        raise conflict


class BlockerCode(StrEnum):
    """What refuses a submission although the criteria pass (API.md, "Eligibility check and the submission's own
    checks")."""

    NOT_AUTHORISED = "NOT_AUTHORISED"
    ACTIVE_COURSE = ConflictCode.ACTIVE_COURSE.value


@dataclass(frozen=True)
class SubmissionBlocker:
    code: str
    message: str
    # What the submission's refusal would add to its body: the prescription in the way, when the caller may see it.
    extra: Mapping = dataclass_field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"code": str(self.code), "message": self.message, **self.extra}


def submission_blockers(
    *, prescriber, centre_id, day: date, patient: PatientData | None = None
) -> list[SubmissionBlocker]:
    """What would make ``prescriber``'s submission at the centre ``centre_id`` dated ``day`` (a Rome day) fail
    although the criteria pass, by the very checks the submission runs; stores nothing but the audit below.

    The centre is chosen as the submission chooses it (``centre_id`` None: the only one where ``prescriber`` may
    prescribe that day; an unknown one, or several to choose from, is ``InvalidInput`` as at submission).
    ``NOT_AUTHORISED`` (403 at submission) comes first, as the submission checks it first. ``ACTIVE_COURSE``
    (409), only when ``patient`` is given, is reported whatever the criteria say, though a submission the
    criteria refuse is still kept as ``rejected``. A wrong fiscal code is ``InvalidInput`` on ``patient.fiscal_code``,
    as at submission. A course the caller may not see is named by neither id nor status, and finding it is
    audited like the submission's attempt.
    """
    blockers: list[SubmissionBlocker] = []
    centre = None
    try:
        centre = submission_centre(user=prescriber, centre_id=centre_id, day=day)
        ensure_may_prescribe_at(prescriber, centre, day)
    except PermissionDenied as exc:
        blockers.append(SubmissionBlocker(BlockerCode.NOT_AUTHORISED, str(exc)))
    if patient is None:
        return blockers
    try:
        pseudonym = pseudonymise(
            validate_fiscal_code(patient.fiscal_code, birth_date=patient.birth_date, sex=patient.sex)
        )
    except InvalidFiscalCode as exc:
        raise _under_patient(InvalidInput({"fiscal_code": str(exc)})) from None
    patient_row = Patient.objects.filter(pseudonym=pseudonym).first()
    if patient_row is not None and centre is not None:
        conflict = active_course_conflict(patient_row, prescriber=prescriber, centre=centre)
        if isinstance(conflict, ActiveCourseElsewhere):
            active_course_elsewhere_record(conflict)
        if conflict is not None:
            blockers.append(SubmissionBlocker(BlockerCode.ACTIVE_COURSE, conflict.detail, conflict.extra))
    return blockers
