"""API input and output shapes of prescriptions (docs/api.md, "Prescriptions"). One input serializer per action."""

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.settings import api_settings

from .assessment import birth_date_error
from .eligibility_serializers import (
    EARLIEST_CLINICAL_DATE,
    AssessmentFieldsSerializer,
    CalendarDateField,
    CalendarDateTimeField,
    JSONBooleanField,
    PatientInputSerializer,
    StrictDecimalField,
)
from .models import (
    MAX_SYRINGES,
    AdverseEventCategory,
    ConsentGivenBy,
    LabTest,
    PrescriptionStatus,
    Route,
    StopReason,
)
from .workflow import OUTCOME_DAYS, WHO_CPS_MAX, WHO_CPS_MIN

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


class PrescriptionPatientSerializer(PatientInputSerializer):
    fiscal_code = serializers.CharField(max_length=32, trim_whitespace=True)


class PrescriptionAssessmentSerializer(AssessmentFieldsSerializer):
    """The submission's ``assessment``: the eligibility check's fields, with the same date guard as above."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except OverflowError:
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [DATE_OUT_OF_RANGE]}) from None


class PrescriptionSubmitSerializer(serializers.Serializer):
    centre = serializers.UUIDField(required=False, allow_null=True, default=None)
    prescribed_at = DateTimeField(required=False, allow_null=True, default=None)
    patient = PrescriptionPatientSerializer()
    assessment = PrescriptionAssessmentSerializer()
    informed_consent = JSONBooleanField()
    consent_given_by = serializers.ChoiceField(choices=ConsentGivenBy.choices, default=ConsentGivenBy.PATIENT)
    consent_date = ClinicalDateField(required=False, allow_null=True, default=None)

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
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class DispensationInputSerializer(serializers.Serializer):
    syringes = serializers.IntegerField(min_value=1, max_value=MAX_SYRINGES)
    lot_number = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9\-/. ]{0,39}$",
        max_length=40,
        error_messages={"invalid": _("A lot number is 1–40 letters, digits, '-', '/', '.' or spaces.")},
    )
    expiry_date = CalendarDateField()


class DispensingRefusalSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


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


class EnteredInErrorSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["lab_result", "adverse_event", "outcome", "administration", "dispensation"])
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


class AlertSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    on = serializers.DateField(allow_null=True)


class PatientRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    pseudonym = serializers.CharField()
    birth_date = serializers.DateField()
    sex = serializers.CharField()


class PrescriptionListSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    eligible = serializers.BooleanField()
    criteria_version = serializers.CharField()
    centre = serializers.UUIDField(source="centre_id")
    centre_name = serializers.CharField(source="centre.name")
    region = serializers.CharField(source="centre.region_id")
    prescriber = serializers.CharField(source="prescriber.username")
    patient = PatientRefSerializer()
    prescribed_at = serializers.DateTimeField()
    registered_at = serializers.DateTimeField()
    syringes_dispensed = serializers.IntegerField()
    doses_administered = serializers.IntegerField()


class PrescriptionDetailSerializer(PrescriptionListSerializer):
    eligibility = serializers.JSONField()
    assessment = serializers.JSONField()
    # The regimen the course follows: 24 (10 doses), or 48 with creatinine clearance < 30 (5 doses).
    dose_interval_hours = serializers.IntegerField()
    consent_given_by = serializers.CharField()
    consent_date = serializers.DateField()
    first_dose_on = serializers.DateField(allow_null=True)
    stopped_at = serializers.DateTimeField(allow_null=True)
    stop_reason = serializers.CharField()
    stop_note = serializers.CharField()
    dispensing_refusal_reason = serializers.CharField()
    dispensations = DispensationSerializer(many=True)
    administrations = AdministrationSerializer(many=True)
    adverse_events = AdverseEventSerializer(many=True)
    lab_results = LabResultSerializer(many=True)
    outcomes = OutcomeSerializer(many=True)
    alerts = AlertSerializer(many=True)
    allowed_actions = serializers.ListField(child=serializers.CharField())
