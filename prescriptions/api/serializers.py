"""API input and output shapes of prescriptions (docs/api.md, "Prescriptions"). One input serializer per action."""

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from registry.calendar import rome_date
from registry.patient_identity import (
    field_error,
    identity_as_dict,
    identity_displayed,
    may_see_identity,
    stored_identity,
)

from ..assessment import birth_date_error
from ..course.alerts import baseline_warnings
from ..course.regimen import course_regimen
from ..course.workflow import OUTCOME_DAYS, WHO_CPS_MAX, WHO_CPS_MIN
from ..eligibility import rendered_verdict
from ..models import (
    MAX_COURSE_DOSES,
    MEDDRA_CODE_PATTERN,
    MEDDRA_VERSION_PATTERN,
    PREGNANT_OR_BREASTFEEDING,
    AdverseEventCategory,
    AdverseEventOutcome,
    Causality,
    ConsentGivenBy,
    HoldReason,
    LabTest,
    PregnancyStatus,
    PrescriptionStatus,
    RefusalCategory,
    Route,
    SarsCov2TestType,
    StopReason,
    VaccinationStatus,
)
from .eligibility_serializers import (
    EARLIEST_CLINICAL_DATE,
    AssessmentFieldsSerializer,
    CalendarDateField,
    CalendarDateTimeField,
    JSONBooleanField,
    PatientInputSerializer,
    StrictDecimalField,
)

# --- Input ---------------------------------------------------------------------------

DATE_OUT_OF_RANGE = _("This date is out of range.")


class DateTimeField(CalendarDateTimeField):
    """A moment of a course (prescription, dose, sample, stop): from 2020 (COVID-19) to the calendar's end."""

    def __init__(self, **kwargs):
        kwargs.setdefault("earliest", EARLIEST_CLINICAL_DATE)
        super().__init__(**kwargs)


class ClinicalDateField(CalendarDateField):
    """A day of a course (consent, onset, outcome): from 2020 (COVID-19) to the calendar's end."""

    def __init__(self, **kwargs):
        kwargs.setdefault("earliest", EARLIEST_CLINICAL_DATE)
        super().__init__(**kwargs)


class IdentifyingField(serializers.CharField):
    """A name, ward, bed or admission number: its length and characters checked (``registry.patient_identity``)."""

    def __init__(self, field: str, **kwargs):
        self.identity_field = field
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("default", "")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = " ".join(super().to_internal_value(data).split())
        if value and (error := field_error(self.identity_field, value)) is not None:
            raise serializers.ValidationError(error)
        return value


class PrescriptionPatientSerializer(PatientInputSerializer):
    fiscal_code = serializers.CharField(max_length=32, trim_whitespace=True)
    # The identifying data, stored encrypted (DOMAIN.md, "The patient's identity"); the page requires the names.
    family_name = IdentifyingField("family_name")
    given_name = IdentifyingField("given_name")
    ward = IdentifyingField("ward")
    bed = IdentifyingField("bed")
    admission_number = IdentifyingField("admission_number")


class PrescriptionAssessmentSerializer(AssessmentFieldsSerializer):
    """The submission's ``assessment``: the eligibility check's fields, with the same date guard as above."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except OverflowError:
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [DATE_OUT_OF_RANGE]}) from None


class BaselineSerializer(serializers.Serializer):
    """The optional baseline of a submission: recorded and shown, never judged by the engine."""

    symptom_onset_on = serializers.DateField(required=False, allow_null=True, default=None)
    sars_cov_2_test_on = serializers.DateField(required=False, allow_null=True, default=None)
    sars_cov_2_test_type = serializers.ChoiceField(
        choices=SarsCov2TestType.choices, required=False, allow_blank=True, default=""
    )
    vaccination_status = serializers.ChoiceField(
        choices=VaccinationStatus.choices, required=False, allow_blank=True, default=""
    )
    pregnancy_status = serializers.ChoiceField(
        choices=PregnancyStatus.choices, required=False, allow_blank=True, default=""
    )
    dexamethasone_dose_mg = serializers.DecimalField(
        max_digits=5,
        decimal_places=1,
        min_value=Decimal("0.1"),
        max_value=100,
        required=False,
        allow_null=True,
        default=None,
    )
    remdesivir = serializers.BooleanField(required=False, allow_null=True, default=None)
    active_serious_infection = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        errors = {}
        onset, test_on = attrs.get("symptom_onset_on"), attrs.get("sars_cov_2_test_on")
        if attrs.get("sars_cov_2_test_type") and test_on is None:
            errors["sars_cov_2_test_on"] = [_("Give the date of the test whose type is given.")]
        if onset is not None and test_on is not None and test_on < onset - timedelta(days=30):
            errors["sars_cov_2_test_on"] = [_("A test more than 30 days before the symptom onset is another episode.")]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def _pregnancy_disagreement(assessment: dict, baseline: Mapping) -> str | None:
    """The assessment's ``pregnant_or_breastfeeding`` and the baseline's ``pregnancy_status`` say one thing: left
    out, the first follows the second (set in ``assessment``); given, they must agree (else the message)."""
    status = baseline.get("pregnancy_status") or ""
    if "pregnant_or_breastfeeding" not in assessment:
        assessment["pregnant_or_breastfeeding"] = status in PREGNANT_OR_BREASTFEEDING
        return None
    if status and assessment["pregnant_or_breastfeeding"] != (status in PREGNANT_OR_BREASTFEEDING):
        return _("This disagrees with the pregnancy or breastfeeding status given in the baseline.")
    return None


class PrescriptionSubmitSerializer(serializers.Serializer):
    centre = serializers.UUIDField(required=False, allow_null=True, default=None)
    prescribed_at = DateTimeField(required=False, allow_null=True, default=None)
    patient = PrescriptionPatientSerializer()
    assessment = PrescriptionAssessmentSerializer()
    informed_consent = JSONBooleanField()
    consent_given_by = serializers.ChoiceField(choices=ConsentGivenBy.choices, default=ConsentGivenBy.PATIENT)
    consent_date = ClinicalDateField(required=False, allow_null=True, default=None)
    baseline = BaselineSerializer(required=False, default=dict)

    def validate_informed_consent(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError(_("Written informed consent is required before prescribing under L.648."))
        return value

    def validate(self, attrs):
        errors = {}
        prescribed_at = attrs.get("prescribed_at")
        assessed_at = attrs["assessment"].get("assessed_at") or prescribed_at or timezone.now()
        if error := birth_date_error(attrs["patient"]["birth_date"], assessed_at):
            errors["patient"] = {"birth_date": [error]}
        if (
            prescribed_at
            and attrs["assessment"].get("assessed_at")
            and attrs["assessment"]["assessed_at"] > prescribed_at
        ):
            errors["assessment"] = {"assessed_at": [_("The assessment cannot come after the prescription.")]}
        day = rome_date(prescribed_at or timezone.now())
        baseline = attrs.get("baseline") or {}
        if error := _pregnancy_disagreement(attrs["assessment"], baseline):
            errors.setdefault("assessment", {})["pregnant_or_breastfeeding"] = [error]
        for field in ("symptom_onset_on", "sars_cov_2_test_on"):
            if baseline.get(field) is not None and baseline[field] > day:
                errors.setdefault("baseline", {})[field] = [_("This date cannot come after the prescription.")]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class DispensationInputSerializer(serializers.Serializer):
    syringes = serializers.IntegerField(min_value=1, max_value=MAX_COURSE_DOSES)
    lot_number = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9\-/. ]{0,39}$",
        max_length=40,
        error_messages={"invalid": _("A lot number is 1–40 letters, digits, '-', '/', '.' or spaces.")},
        required=False,
    )
    expiry_date = CalendarDateField(required=False)
    # A pharmacy that keeps its stock in the registry names a lot it holds: its id, or its lot_number (issue 20).
    lot = serializers.CharField(
        required=False, max_length=64, help_text="The id of a lot in the pharmacy's stock (pharmacies keeping stock)."
    )


class DispensingRefusalSerializer(serializers.Serializer):
    """``{"category", "note"}`` (a note is required for ``other``); the older ``{"reason"}`` alone still works, as
    ``other`` with the reason as its note."""

    category = serializers.ChoiceField(choices=RefusalCategory.choices, required=False)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    reason = serializers.CharField(
        max_length=1000, required=False, help_text="Deprecated: the older free text, taken as category other."
    )

    def validate(self, attrs):
        reason = attrs.pop("reason", None)
        if "category" not in attrs:
            if reason is None:
                raise serializers.ValidationError({"category": [_("Choose why the request is refused.")]})
            return {"category": RefusalCategory.OTHER, "note": attrs.get("note") or reason}
        if attrs["category"] == RefusalCategory.OTHER and not (attrs.get("note") or "").strip():
            raise serializers.ValidationError({"note": [_("Say why the prescription is refused.")]})
        return attrs


class DispensingQueueFilterSerializer(serializers.Serializer):
    hold = serializers.ChoiceField(choices=["yes", "no"], required=False)


class DispensingHoldSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=HoldReason.choices)
    expected_on = ClinicalDateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class AdministrationInputSerializer(serializers.Serializer):
    administered_at = DateTimeField()
    dose_mg = StrictDecimalField(max_digits=6, decimal_places=1, min_value=1, max_value=1000)
    route = serializers.ChoiceField(choices=Route.choices)


class StopInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=StopReason.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    stopped_at = DateTimeField(required=False, allow_null=True, default=None)


class AdverseEventInputSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=AdverseEventCategory.choices)
    serious = JSONBooleanField()
    onset_date = ClinicalDateField()
    description = serializers.CharField(max_length=5000)
    reported_to_pharmacovigilance = JSONBooleanField()
    meddra_preferred_term = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    # The MedDRA lowest level term's code and the MedDRA version (licensed: the registry cannot check the code
    # exists, only its form). A code needs its version (E2B(R3) E.i.2.1a/b): the service says so.
    meddra_code = serializers.RegexField(
        MEDDRA_CODE_PATTERN,
        required=False,
        allow_blank=True,
        default="",
        error_messages={"invalid": _("A MedDRA code (lowest level term) is 8 digits, e.g. 10035664.")},
    )
    meddra_version = serializers.RegexField(
        MEDDRA_VERSION_PATTERN,
        required=False,
        allow_blank=True,
        default="",
        error_messages={"invalid": _("A MedDRA version looks like 27.1 (a release: .0 in March, .1 in September).")},
    )
    causality = serializers.ChoiceField(choices=Causality.choices, required=False, allow_blank=True, default="")
    outcome = serializers.ChoiceField(choices=AdverseEventOutcome.choices, required=False, allow_blank=True, default="")
    pharmacovigilance_report_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    pharmacovigilance_report_date = ClinicalDateField(required=False, allow_null=True, default=None)


class LabResultInputSerializer(serializers.Serializer):
    test = serializers.ChoiceField(choices=LabTest.choices)
    value = StrictDecimalField(max_digits=9, decimal_places=3, min_value=0)
    upper_limit_normal = StrictDecimalField(
        max_digits=9, decimal_places=3, min_value=Decimal("0.001"), required=False, allow_null=True, default=None
    )
    collected_at = DateTimeField()


class OutcomeInputSerializer(serializers.Serializer):
    day = serializers.ChoiceField(choices=list(OUTCOME_DAYS))
    who_cps = serializers.IntegerField(min_value=WHO_CPS_MIN, max_value=WHO_CPS_MAX)
    assessed_on = ClinicalDateField()
    icu_admission = JSONBooleanField(required=False, allow_null=True, default=None)
    severe_respiratory_failure = JSONBooleanField(required=False, allow_null=True, default=None)
    death_on = ClinicalDateField(required=False, allow_null=True, default=None)
    death_cause = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ConcomitantMedicationInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    atc_code = serializers.RegexField(
        r"^\s*[A-Za-z]\d{2}[A-Za-z]{0,2}\d{0,2}\s*$",
        max_length=16,
        required=False,
        allow_blank=True,
        default="",
        error_messages={"invalid": _("An ATC code looks like L04AC07.")},
    )
    started_on = ClinicalDateField()
    dose = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    confirmed_not_il_jak = JSONBooleanField(required=False, default=False)

    def validate(self, attrs):
        if not attrs["name"].strip() and not attrs["atc_code"].strip():
            raise serializers.ValidationError({"name": [_("Name the medicine, or give its ATC code.")]})
        return attrs


class EnteredInErrorSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[
            "lab_result",
            "adverse_event",
            "outcome",
            "administration",
            "dispensation",
            "concomitant_medication",
        ]
    )
    record = serializers.UUIDField()
    reason = serializers.CharField(max_length=1000)


class PrescriptionFilterSerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=PrescriptionStatus.choices, required=False)
    centre = serializers.UUIDField(required=False)
    region = serializers.RegexField(r"^\d{3}$", required=False)
    submitted_from = CalendarDateField(required=False)
    submitted_to = CalendarDateField(required=False)
    q = serializers.CharField(required=False, max_length=64, trim_whitespace=True)


# --- Output --------------------------------------------------------------------------


class _RecordSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    recorded_by = serializers.CharField(source="recorded_by.username")
    recorded_at = serializers.DateTimeField()
    entered_in_error = serializers.BooleanField(source="in_error")
    entered_in_error_reason = serializers.CharField()


class DispensationSerializer(_RecordSerializer):
    syringes = serializers.IntegerField()
    lot_number = serializers.CharField()
    expiry_date = CalendarDateField()


class AdministrationSerializer(_RecordSerializer):
    administered_at = serializers.DateTimeField()
    course_day = serializers.IntegerField()
    dose_mg = serializers.DecimalField(max_digits=6, decimal_places=1, coerce_to_string=False)
    route = serializers.CharField()
    protocol_deviation = serializers.BooleanField()


class AdverseEventSerializer(_RecordSerializer):
    category = serializers.CharField()
    serious = serializers.BooleanField()
    onset_date = serializers.DateField()
    description = serializers.CharField()
    reported_to_pharmacovigilance = serializers.BooleanField()
    meddra_preferred_term = serializers.CharField()
    meddra_code = serializers.CharField()
    meddra_version = serializers.CharField()
    causality = serializers.CharField()
    outcome = serializers.CharField()
    pharmacovigilance_report_number = serializers.CharField()
    pharmacovigilance_report_date = serializers.DateField()


class LabResultSerializer(_RecordSerializer):
    test = serializers.CharField()
    value = serializers.DecimalField(max_digits=9, decimal_places=3, coerce_to_string=False)
    upper_limit_normal = serializers.DecimalField(
        max_digits=9, decimal_places=3, coerce_to_string=False, allow_null=True
    )
    collected_at = serializers.DateTimeField()


class OutcomeSerializer(_RecordSerializer):
    day = serializers.IntegerField()
    who_cps = serializers.IntegerField()
    assessed_on = serializers.DateField()
    icu_admission = serializers.BooleanField(allow_null=True)
    severe_respiratory_failure = serializers.BooleanField(allow_null=True)
    death_on = serializers.DateField()
    death_cause = serializers.CharField()


class ClassificationSerializer(serializers.Serializer):
    recognised = serializers.BooleanField()
    drug_classes = serializers.ListField(child=serializers.CharField())
    substances = serializers.ListField(child=serializers.CharField())
    il_jak_inhibitor = serializers.BooleanField()
    confirmed_not_il_jak = serializers.BooleanField()


class ConcomitantMedicationSerializer(_RecordSerializer):
    name = serializers.CharField()
    atc_code = serializers.CharField()
    started_on = serializers.DateField()
    dose = serializers.CharField()
    classification = ClassificationSerializer(source="*")


class AlertSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    on = serializers.DateField(allow_null=True)


class PatientRefSerializer(serializers.Serializer):
    """The ``patient`` of a prescription (API.md, "Identity in responses"): ``id``, ``pseudonym``, ``birth_date`` and
    ``sex`` for whoever may read the prescription; the fiscal code and the identifying data only for the staff of
    the treating centre (null while not recorded), or in a regional officer's reveal."""

    id = serializers.UUIDField()
    pseudonym = serializers.CharField()
    birth_date = serializers.DateField()
    sex = serializers.CharField()
    identity_recorded = serializers.BooleanField(required=False)
    fiscal_code = serializers.CharField(required=False, allow_null=True)
    family_name = serializers.CharField(required=False, allow_null=True)
    given_name = serializers.CharField(required=False, allow_null=True)
    ward = serializers.CharField(required=False, allow_null=True)
    bed = serializers.CharField(required=False, allow_null=True)
    admission_number = serializers.CharField(required=False, allow_null=True)


@extend_schema_field(PatientRefSerializer)
class PatientField(serializers.Field):
    """The prescription's patient as the caller may see it: the identity only for the treating centre's staff
    (each display written to the read-access log); without a request in the context, never (the 201 of a
    submission, which an idempotent replay stores)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, prescription):
        patient = prescription.patient
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and may_see_identity(user, prescription):
            identity = stored_identity(patient, centre_id=prescription.centre_id)
            if identity is not None:
                identity_displayed(request, prescription)
            return identity_as_dict(patient, identity)
        return {
            "id": str(patient.pk),
            "pseudonym": patient.pseudonym,
            "birth_date": patient.birth_date.isoformat(),
            "sex": patient.sex,
        }


class PatientRevealSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class HoldSerializer(serializers.Serializer):
    """``hold`` of a waiting request (API.md): null when it is not on hold."""

    reason = serializers.CharField(source="hold_reason")
    expected_on = serializers.DateField(source="hold_expected_on", allow_null=True)
    note = serializers.CharField(source="hold_note")
    since = serializers.DateTimeField(source="hold_since")


@extend_schema_field(HoldSerializer(allow_null=True))
class HoldField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, prescription):
        if prescription.hold_since is None:
            return None
        return HoldSerializer(prescription).data


class RefusalSerializer(serializers.Serializer):
    category = serializers.CharField(source="refusal_category")
    note = serializers.CharField(source="dispensing_refusal_reason")
    refused_at = serializers.DateTimeField(source="stopped_at")


@extend_schema_field(RefusalSerializer(allow_null=True))
class RefusalField(serializers.Field):
    """The pharmacy's refusal of the request (null when it was not refused)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, prescription):
        if not prescription.refusal_category and not prescription.dispensing_refusal_reason:
            return None
        data = RefusalSerializer(prescription).data
        data["category"] = data["category"] or RefusalCategory.OTHER
        return data


class PrescriptionListSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    hold = HoldField()
    eligible = serializers.BooleanField()
    criteria_version = serializers.CharField()
    centre = serializers.UUIDField(source="centre_id")
    centre_name = serializers.CharField(source="centre.name")
    region = serializers.CharField(source="centre.region_id")
    prescriber = serializers.CharField(source="prescriber.username")
    patient = PatientField()
    prescribed_at = serializers.DateTimeField()
    registered_at = serializers.DateTimeField()
    syringes_dispensed = serializers.IntegerField()
    doses_administered = serializers.IntegerField()


class BaselineOutputSerializer(serializers.Serializer):
    # Null when not recorded (a submission without baseline, an older prescription): the schema must say so.
    symptom_onset_on = serializers.DateField(allow_null=True)
    day_of_illness = serializers.IntegerField(allow_null=True)
    sars_cov_2_test_on = serializers.DateField(allow_null=True)
    sars_cov_2_test_type = serializers.CharField()
    vaccination_status = serializers.CharField()
    pregnancy_status = serializers.CharField()
    dexamethasone_dose_mg = serializers.DecimalField(
        max_digits=5, decimal_places=1, coerce_to_string=False, allow_null=True
    )
    remdesivir = serializers.BooleanField(allow_null=True)
    active_serious_infection = serializers.BooleanField(allow_null=True)
    warnings = serializers.SerializerMethodField()

    def get_warnings(self, prescription) -> list[dict]:
        return [warning.as_dict() for warning in baseline_warnings(prescription)]


# Serializer context flag: give the verdict as stored (each result's ``text``) instead of rendering its messages.
VERDICT_TEXTS = "verdict_texts"


class VerdictField(serializers.JSONField):
    """The stored verdict with each result's ``message`` rendered in the active language (API.md: ``code``,
    ``outcome``, ``message``, ``source``); as stored with ``VERDICT_TEXTS`` in the context."""

    def to_representation(self, value):
        if self.context.get(VERDICT_TEXTS):
            return super().to_representation(value)
        return super().to_representation(rendered_verdict(value))


class PrescriptionDetailSerializer(PrescriptionListSerializer):
    eligibility = VerdictField()
    assessment = serializers.JSONField()
    # The regimen the course follows: 24 (10 doses), or 48 with creatinine clearance < 30 (5 doses).
    dose_interval_hours = serializers.IntegerField()
    # The course's window in days and its doses, from the criteria version's regimen (prescriptions.course.regimen).
    course_days = serializers.SerializerMethodField()
    course_doses = serializers.SerializerMethodField()
    consent_given_by = serializers.CharField()
    consent_date = serializers.DateField()
    first_dose_on = serializers.DateField(allow_null=True)
    stopped_at = serializers.DateTimeField(allow_null=True)
    stop_reason = serializers.CharField()
    stop_note = serializers.CharField()
    dispensing_refusal_reason = serializers.CharField()
    refusal = RefusalField()
    dispensations = DispensationSerializer(many=True)
    administrations = AdministrationSerializer(many=True)
    adverse_events = AdverseEventSerializer(many=True)
    lab_results = LabResultSerializer(many=True)
    outcomes = OutcomeSerializer(many=True)
    concomitant_medications = ConcomitantMedicationSerializer(many=True)
    baseline = BaselineOutputSerializer(source="*")
    alerts = AlertSerializer(many=True)
    allowed_actions = serializers.ListField(child=serializers.CharField())

    def get_course_days(self, prescription) -> int:
        return course_regimen(prescription).window_days

    def get_course_doses(self, prescription) -> int:
        return course_regimen(prescription).doses
