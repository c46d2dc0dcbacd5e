"""Input serializers of the eligibility check (``POST /api/v1/eligibility-checks/``, docs/api.md).

``EligibilityCheckSerializer`` reads the whole body of ``POST /api/v1/eligibility-checks/``. Its assessment
part, everything but ``patient``, is ``AssessmentFieldsSerializer``, which the prescription submission nests
as its ``assessment``; ``prescriptions.assessment.to_assessment`` turns either's validated data into the
engine's ``Assessment``.

Numbers are read as ``Decimal`` exactly as written (never through a float, never rounded), and every
implausible value is a 400 naming its field: the engine judges clinical values, it does not guess them.

Context keys (all optional): ``now`` (an aware datetime; default ``timezone.now()``), ``default_assessed_at``
(what ``assessed_at`` defaults to, e.g. the prescription's ``prescribed_at``; default ``now``) and
``criteria_versions`` (default the shipped ones).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from rest_framework import serializers
from rest_framework.settings import api_settings

from prescriptions.assessment import birth_date_error, criteria_for, to_assessment
from prescriptions.eligibility import Assessment, Pneumonia, RespiratorySupport, Route
from registry.calendar import rome_date
from registry.errors import InvalidInput
from registry.formats import short_date

__all__ = [
    "AssessmentFieldsSerializer",
    "StrictDecimalField",
    "CalendarDateField",
    "CalendarDateTimeField",
    "JSONBooleanField",
    "CheckPatientSerializer",
    "EligibilityCheckSerializer",
    "PatientInputSerializer",
    "to_assessment",  # prescriptions.assessment's, named here for the callers of the serializers
]

# A clock a few minutes ahead of ours is not a clinical claim about the future.
ASSESSED_AT_FUTURE_TOLERANCE = timedelta(minutes=10)
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
# The registry's calendar: no date it records lies outside these (year 1 or 9999 is a typing slip or a probe).
EARLIEST_DATE = EARLIEST_BIRTH_DATE
LATEST_DATE = date(2100, 12, 31)
# No prescription, dose, sample or outcome of a COVID-19 course can precede the pandemic.
EARLIEST_CLINICAL_DATE = date(2020, 1, 1)
MAX_CONCOMITANT_MEDICATIONS = 50
# WHO ATC: anatomical group, then therapeutic, pharmacological, chemical subgroups, substance ("L04AC07").
ATC_CODE = re.compile(r"^[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?$")

SEX_CHOICES = (("M", _("male")), ("F", _("female")))
PNEUMONIA_CHOICES = (
    (Pneumonia.NONE.value, _("no pneumonia")),
    (Pneumonia.MILD.value, pgettext_lazy("pneumonia severity", "mild")),
    (Pneumonia.MODERATE.value, pgettext_lazy("pneumonia severity", "moderate")),
    (Pneumonia.SEVERE.value, pgettext_lazy("pneumonia severity", "severe")),
)
RESPIRATORY_SUPPORT_CHOICES = (
    (RespiratorySupport.NONE.value, _("no respiratory support")),
    (RespiratorySupport.LOW_FLOW_OXYGEN.value, _("low-flow oxygen")),
    (RespiratorySupport.HIGH_FLOW_OXYGEN.value, _("high-flow oxygen")),
    (RespiratorySupport.CPAP.value, _("CPAP")),
    (RespiratorySupport.NIV.value, _("non-invasive ventilation")),
    (RespiratorySupport.IMV.value, _("invasive mechanical ventilation")),
    (RespiratorySupport.ECMO.value, _("ECMO")),
)
ROUTE_CHOICES = ((Route.SC.value, _("subcutaneous")), (Route.IV.value, _("intravenous")))


class StrictDecimalField(serializers.DecimalField):
    """A number: a JSON number (a numeric string is read too), typed as a number in the schema.

    ``""`` is refused, never read as null as DRF reads it for an optional decimal; leave the field out instead.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("coerce_to_string", False)
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if isinstance(data, str) and not data.strip():
            self.fail("invalid")
        return super().validate_empty_values(data)


class ExactDecimalField(StrictDecimalField):
    """A ``DecimalField`` that keeps the number as written: ``0.40`` stays ``0.40``, ``6`` stays ``6``.

    Precision is still checked (``decimal_places``), but nothing is rounded or padded, so that a message can
    quote the value the clinician sent.
    """

    def __init__(self, *, decimal_places: int, **kwargs):
        kwargs.setdefault("max_digits", None)
        super().__init__(decimal_places=decimal_places, **kwargs)

    def quantize(self, value: Decimal) -> Decimal:
        return value


def _measurement(
    minimum: str, maximum: str, *, decimal_places: int, optional: bool = False, **kwargs
) -> ExactDecimalField:
    if optional:
        kwargs.update(required=False, allow_null=True, default=None)
    return ExactDecimalField(
        decimal_places=decimal_places, min_value=Decimal(minimum), max_value=Decimal(maximum), **kwargs
    )


OUT_OF_RANGE = _("Give a date between {earliest} and {latest}.")


class CalendarDateField(serializers.DateField):
    """A date within ``earliest``..``latest`` (default the registry's calendar), else a 400 naming the field."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def __init__(self, *, earliest: date = EARLIEST_DATE, latest: date = LATEST_DATE, **kwargs):
        self.earliest, self.latest = earliest, latest
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not self.earliest <= day <= self.latest:
            self.fail("out_of_range", earliest=short_date(self.earliest), latest=short_date(self.latest))
        return day


class CalendarDateTimeField(serializers.DateTimeField):
    """A moment whose day lies within ``earliest``..``latest``, else a 400 naming the field (never a 500).

    DRF makes a naive value aware in Rome, or moves an aware one to Rome, and either overflows at the calendar's
    edge ("0001-01-01T00:00", "9999-12-31T23:59-05:00"); that is the same refusal, in the same translated words.
    """

    default_error_messages = {"out_of_range": OUT_OF_RANGE, "overflow": OUT_OF_RANGE}

    def __init__(self, *, earliest: date = EARLIEST_DATE, latest: date = LATEST_DATE, **kwargs):
        self.earliest, self.latest = earliest, latest
        super().__init__(**kwargs)

    def _refuse(self):
        self.fail("out_of_range", earliest=short_date(self.earliest), latest=short_date(self.latest))

    def enforce_timezone(self, value):
        # Judged on the day as written, before any conversion can overflow.
        if not self.earliest <= value.date() <= self.latest:
            self._refuse()
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self._refuse()

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if not self.earliest <= moment.date() <= self.latest:
            self._refuse()
        return moment


class JSONBooleanField(serializers.BooleanField):
    """``true`` or ``false`` as JSON has them: ``"yes"``, ``"true"``, ``1`` are refused, never guessed."""

    default_error_messages = {"invalid": _("Must be a valid boolean: true or false, as JSON writes them.")}

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid", input=data)


class UpperCaseChoiceField(serializers.ChoiceField):
    """A choice written in any case: ``sc`` is ``SC``."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.strip().upper()
        return super().to_internal_value(data)


class _ClockMixin:
    """The serializer's notion of now and of the assessment's default moment, overridable by context."""

    context: Mapping

    def now(self) -> datetime:
        return self.context.get("now") or timezone.now()

    def default_assessed_at(self) -> datetime:
        return self.context.get("default_assessed_at") or self.now()


class PatientInputSerializer(_ClockMixin, serializers.Serializer):
    birth_date = serializers.DateField()  # its own bounds and messages below
    sex = UpperCaseChoiceField(choices=SEX_CHOICES)
    weight_kg = _measurement("1", "500", decimal_places=2, optional=True)

    def validate_birth_date(self, value: date) -> date:
        if value > rome_date(self.now()):
            raise serializers.ValidationError(_("The birth date is in the future."))
        if value < EARLIEST_BIRTH_DATE:
            raise serializers.ValidationError(
                _("The birth date is before %(date)s.") % {"date": short_date(EARLIEST_BIRTH_DATE)}
            )
        return value


class ConcomitantMedicationSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    atc_code = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=16)
    ongoing = JSONBooleanField(default=False)
    last_dose_at = CalendarDateTimeField(required=False, allow_null=True, default=None)
    # The prescriber confirms that a medicine the catalogue does not recognise is neither an interleukin nor a
    # JAK inhibitor (else NO_IL_OR_JAK_INHIBITOR fails); recorded in the verdict.
    confirmed_not_il_jak = JSONBooleanField(default=False)

    def validate_name(self, value: str | None) -> str | None:
        return (value or "").strip() or None

    def validate_atc_code(self, value: str | None) -> str | None:
        code = re.sub(r"\s+", "", value or "").upper()
        if not code:
            return None
        if not ATC_CODE.match(code):
            raise serializers.ValidationError(_("Not an ATC code (for example L04AC07)."))
        return code

    def validate(self, attrs: dict) -> dict:
        errors = {}
        if not attrs.get("name") and not attrs.get("atc_code"):
            message = _("Give the medicine's name or its ATC code.")
            errors.update(name=[message], atc_code=[message])
        if not attrs.get("ongoing") and attrs.get("last_dose_at") is None:
            message = _("Give the last dose's date and time, or say the medicine is ongoing.")
            errors.update(ongoing=[message], last_dose_at=[message])
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class RegimenSerializer(serializers.Serializer):
    dose_mg = _measurement("0.001", "10000", decimal_places=3)
    route = UpperCaseChoiceField(choices=ROUTE_CHOICES)
    interval_hours = serializers.IntegerField(min_value=1, max_value=24 * 7)
    duration_days = serializers.IntegerField(min_value=1, max_value=365)


def _fio2_text(message) -> str:
    """A FiO2 message with its bounds written the reader's way (0,21 in Italian, 0.21 in English)."""
    return str(message) % {
        "low": number_format(Decimal("0.21")),
        "high": number_format(Decimal("1.0")),
        "example": number_format(Decimal("0.40")),
    }


# Lazy: written when shown, in the language of the request that reads them.
FIO2_TOO_LOW = lazy(_fio2_text, str)(_("FiO2 is a fraction between %(low)s (room air) and %(high)s."))
FIO2_TOO_HIGH = lazy(_fio2_text, str)(_("FiO2 is a fraction between %(low)s and %(high)s, not a percentage."))
FIO2_HELP = lazy(_fio2_text, str)(_("A fraction from %(low)s to %(high)s, e.g. %(example)s (not 40%%)."))


class AssessmentFieldsSerializer(_ClockMixin, serializers.Serializer):
    """Every field of the eligibility check but ``patient``: the ``assessment`` of a prescription."""

    assessed_at = CalendarDateTimeField(earliest=EARLIEST_CLINICAL_DATE, required=False, allow_null=True, default=None)
    hospitalised = JSONBooleanField()
    sars_cov_2_confirmed = JSONBooleanField()
    pneumonia = serializers.ChoiceField(choices=PNEUMONIA_CHOICES)
    pao2_mmhg = _measurement("20", "700", decimal_places=2)
    fio2 = _measurement(
        "0.21",
        "1.0",
        decimal_places=3,
        error_messages={"min_value": FIO2_TOO_LOW, "max_value": FIO2_TOO_HIGH},
    )
    respiratory_support = serializers.ChoiceField(choices=RESPIRATORY_SUPPORT_CHOICES)
    supar_ng_ml = _measurement("0", "100", decimal_places=2)
    anc_10e9_l = _measurement("0", "300", decimal_places=3, optional=True)
    creatinine_clearance_ml_min = _measurement("0", "400", decimal_places=2, optional=True)
    alt_x_uln = _measurement("0", "500", decimal_places=2, optional=True)
    ast_x_uln = _measurement("0", "500", decimal_places=2, optional=True)
    known_hypersensitivity = JSONBooleanField(default=False)
    # Warnings only (PREGNANCY_BREASTFEEDING, LIVE_VACCINE); left out, the engine reads false. Not defaulted here,
    # so that a submission can tell "not said" from "no" and take the first from its baseline's pregnancy status.
    pregnant_or_breastfeeding = JSONBooleanField(
        required=False, help_text="The patient is pregnant or breastfeeding (default false): a warning."
    )
    live_vaccine = JSONBooleanField(
        required=False, help_text="A live vaccine was given recently or is planned (default false): a warning."
    )
    concomitant_medications = ConcomitantMedicationSerializer(
        many=True, required=False, max_length=MAX_CONCOMITANT_MEDICATIONS
    )
    regimen = RegimenSerializer(required=False)

    def validate_assessed_at(self, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value > self.now() + ASSESSED_AT_FUTURE_TOLERANCE:
            raise serializers.ValidationError(_("The assessment is dated in the future."))
        try:
            criteria_for(value, self.context.get("criteria_versions"))
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.errors["assessed_at"]) from None
        return value

    def validate(self, attrs: dict) -> dict:
        errors = self.cross_field_errors(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def cross_field_errors(self, attrs: dict) -> dict:
        """Errors that need more than one field, keyed like DRF's own; subclasses add theirs."""
        errors: dict = {}
        assessed_at = attrs.get("assessed_at") or self.default_assessed_at()
        medications = attrs.get("concomitant_medications", ())
        medication_errors = {
            index: {"last_dose_at": [_("The last dose is after the assessment.")]}
            for index, medication in enumerate(medications)
            if medication.get("last_dose_at") is not None and medication["last_dose_at"] > assessed_at
        }
        if medication_errors:
            # Shaped like DRF's own errors of a list of objects.
            errors["concomitant_medications"] = (
                medication_errors
                if api_settings.LIST_SERIALIZER_ERRORS_AS_DICT
                else [medication_errors.get(index, {}) for index in range(len(medications))]
            )
        return errors


class CheckPatientSerializer(PatientInputSerializer):
    """The check's patient: the fiscal code is optional; given, the answer holds ``submission_blockers``."""

    fiscal_code = serializers.CharField(
        max_length=32,
        trim_whitespace=True,
        required=False,
        allow_blank=True,
        help_text="Optional: with it, the answer says whether the patient has an active course (submission_blockers).",
    )


class EligibilityCheckSerializer(AssessmentFieldsSerializer):
    """The body of ``POST /api/v1/eligibility-checks/``: the assessment and the patient it concerns.

    ``centre`` and ``patient.fiscal_code`` (both optional) ask for the submission's own checks too: the answer then
    holds ``submission_blockers`` (docs/api.md).
    """

    patient = CheckPatientSerializer()
    centre = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Optional: the centre the prescription would be submitted at (else the only one, as at submission).",
    )

    @property
    def asks_for_blockers(self) -> bool:
        data = self.validated_data
        return bool(data["patient"].get("fiscal_code") or data.get("centre"))

    def cross_field_errors(self, attrs: dict) -> dict:
        errors = super().cross_field_errors(attrs)
        if error := birth_date_error(
            attrs["patient"]["birth_date"], attrs.get("assessed_at") or self.default_assessed_at()
        ):
            errors["patient"] = {"birth_date": [error]}
        return errors

    def to_assessment(self, *, default_assessed_at: datetime | None = None) -> Assessment:
        return to_assessment(self.validated_data, default_assessed_at=default_assessed_at or self.default_assessed_at())
