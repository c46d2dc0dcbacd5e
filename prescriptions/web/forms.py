"""Forms of the prescription pages: they render the fields, the API's input serializers judge them.

A page posts plain form fields. ``payload()`` turns them into the JSON shape of the API (docs/api.md), so the same
serializer validates a page and an API call alike; ``add_errors()`` puts each of its errors, nested ones
included (``assessment.fio2``, ``assessment.concomitant_medications[1].last_dose_at``), back next to the field
it concerns. Django's own field cleaning is switched off (``full_clean``): one validator, one set of messages.
"""

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

from django import forms
from django.forms.utils import ErrorDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.calendar import REGISTRY_TIME_ZONE, rome_today
from registry.models import Sex

from ..api.eligibility_serializers import FIO2_HELP, PNEUMONIA_CHOICES, RESPIRATORY_SUPPORT_CHOICES, ROUTE_CHOICES
from ..course.regimen import listing_regimen
from ..models import (
    BASELINE_FIELDS,
    MAX_COURSE_DOSES,
    PREGNANT_OR_BREASTFEEDING,
    AdverseEventCategory,
    AdverseEventOutcome,
    Causality,
    ConsentGivenBy,
    HoldReason,
    LabTest,
    PregnancyStatus,
    RefusalCategory,
    Route,
    SarsCov2TestType,
    StopReason,
    VaccinationStatus,
)

MEDICATION_ROWS = 4
YES_NO = (("true", _("Yes")), ("false", _("No")))
YES_NO_UNSAID = (("", "—"), *YES_NO)
# What a yes/no field posts, as the API's JSON booleans take it.
YES_NO_VALUES = {"true": True, "false": False}
WHO_CPS_CHOICES = (
    (0, _("0 · uninfected")),
    (1, _("1 · ambulatory, asymptomatic")),
    (2, _("2 · ambulatory, symptomatic, independent")),
    (3, _("3 · ambulatory, symptomatic, assistance needed")),
    (4, _("4 · hospitalised, no oxygen")),
    (5, _("5 · hospitalised, oxygen by mask or prongs")),
    (6, _("6 · hospitalised, high-flow oxygen or NIV")),
    (7, _("7 · ventilated, pO2/FiO2 ≥ 150 or SpO2/FiO2 ≥ 200")),
    (8, _("8 · ventilated, pO2/FiO2 < 150, or vasopressors")),
    (9, _("9 · ventilated, pO2/FiO2 < 150 and vasopressors, dialysis or ECMO")),
    (10, _("10 · dead")),
)


def local_now_input() -> str:
    """Now, as a ``datetime-local`` input shows it (Rome time, to the second)."""
    return datetime_input(timezone.now())


def datetime_input(moment: datetime) -> str:
    return moment.astimezone(REGISTRY_TIME_ZONE).strftime("%Y-%m-%dT%H:%M:%S")


def flatten_errors(errors, path: tuple = ()) -> Iterator[tuple[tuple, str, str]]:
    """``(path, message, code)`` for every message of a DRF error structure, however nested.

    DRF gives ``{"field": ["msg"]}``, nested dicts for nested serializers, and for a list of objects either a
    list of dicts or a dict keyed by index.
    """
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            yield from flatten_errors(value, (*path, key))
    elif isinstance(errors, list | tuple):
        for index, value in enumerate(errors):
            if isinstance(value, Mapping | list | tuple):
                yield from flatten_errors(value, (*path, index))
            else:
                yield path, str(value), getattr(value, "code", "invalid")
    else:
        yield path, str(errors), getattr(errors, "code", "invalid")


def date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def datetime_widget(*, seconds: bool = True) -> forms.DateTimeInput:
    if not seconds:
        return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    return forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S")


def decimal_widget(**attrs) -> forms.TextInput:
    # Text, not type=number: what the clinician typed comes back with the error, "40" included.
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", **attrs})


class YesNoField(forms.ChoiceField):
    """A question answered "Yes" or "No" (radio buttons), or also "—" with ``unsaid=True`` (a select): the form
    sends the API ``true``, ``false`` or nothing (``SerializerBackedForm.raw``), as its JSON booleans take them."""

    def __init__(self, *, unsaid: bool = False, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("choices", YES_NO_UNSAID if unsaid else YES_NO)
        if not unsaid:
            kwargs.setdefault("widget", forms.RadioSelect)
        super().__init__(**kwargs)


class SerializerBackedForm(forms.Form):
    """A form that renders fields and shows errors; an API input serializer does the validation."""

    # Fields whose value is a number: a decimal comma ("0,40") is read as a point.
    decimal_fields: tuple[str, ...] = ()
    # Error keys of the serializer or the service that name another field of this form.
    error_aliases: Mapping[str, str] = {}
    # Set when a service refused with a Conflict, for the page to show its code.
    conflict_code: str | None = None

    def full_clean(self):
        # The serializer is the one validator (see the module docstring): nothing to clean here.
        self._errors = ErrorDict()
        self.cleaned_data = {}

    def raw(self, name: str):
        """The posted value of a field: a bool for a checkbox and for a yes/no answer ("" when unsaid), a
        stripped string (or "") otherwise."""
        value = self[name].data
        if isinstance(value, bool):
            return value
        value = (value or "").strip() if isinstance(value, str) else value
        if isinstance(self.fields[name], YesNoField):
            # The API takes JSON booleans only; anything else posted goes on as it came, for it to refuse.
            return YES_NO_VALUES.get(value, value)
        if name in self.decimal_fields and isinstance(value, str):
            value = value.replace(",", ".")
        return value

    def collect(self, names: Iterable[str], *, key=lambda name: name) -> dict:
        """The posted fields named, blank ones left out (so that the serializer's defaults apply)."""
        data = {}
        for name in names:
            value = self.raw(name)
            if value in ("", None):
                continue
            data[key(name)] = value
        return data

    def payload(self) -> dict:
        return self.collect(self.fields)

    def field_for(self, path: tuple) -> str | None:
        """The form field an error path points at, or None for an error of the whole form."""
        if not path or path[-1] == "non_field_errors":
            return None
        name = str(path[0])
        name = self.error_aliases.get(name, name)
        return name if name in self.fields else None

    def add_errors(self, errors) -> None:
        """Put a serializer's (or an ``InvalidInput``'s) errors next to their fields."""
        for path, message, _code in flatten_errors(errors):
            field = self.field_for(path)
            if field is None and path and path[-1] != "non_field_errors":
                label = self.label_for(path)
                message = f"{label}: {message}" if label else message
            self.add_error(field, message)

    def label_for(self, path: tuple) -> str:
        return str(path[-1]).replace("_", " ") if path else ""

    def add_conflict(self, conflict) -> None:
        self.conflict_code = conflict.code
        self.add_error(None, conflict.detail)
        if prescription_id := getattr(conflict, "extra", {}).get("prescription"):
            # The prescription in the way, which the user may see: a link, never its id in the text.
            self.conflict_link = reverse("prescriptions:detail", kwargs={"prescription_id": prescription_id})

    # The page of the prescription a conflict points at (ACTIVE_COURSE, when the user may see it).
    conflict_link: str | None = None


# --- New prescription ------------------------------------------------------------------------

PATIENT_FIELDS = ("fiscal_code", "birth_date", "sex", "weight_kg")
# Who the patient is, kept encrypted (DOMAIN.md, "The patient's identity"): sent with the submission, never with the
# eligibility check. The page requires the names.
IDENTITY_FORM_FIELDS = ("family_name", "given_name", "ward", "bed", "admission_number")
REQUIRED_IDENTITY_FIELDS = ("family_name", "given_name")
ASSESSMENT_FIELDS = (
    "hospitalised",
    "sars_cov_2_confirmed",
    "pneumonia",
    "pao2_mmhg",
    "fio2",
    "respiratory_support",
    "supar_ng_ml",
    "anc_10e9_l",
    "creatinine_clearance_ml_min",
    "alt_x_uln",
    "ast_x_uln",
    "known_hypersensitivity",
    "live_vaccine",
)
MEDICATION_FIELDS = ("name", "atc_code", "ongoing", "last_dose_at", "confirmed_not_il_jak")
REGIMEN_FIELDS = ("dose_mg", "route", "interval_hours", "duration_days")


def _choices_with_blank(choices) -> list:
    return [("", "—"), *choices]


class AdmissionFields(forms.Form):
    """Where the patient lies, optional: one declaration for the new-prescription page and the identity form."""

    ward = forms.CharField(label=_("Ward"), required=False, help_text=_("Optional."))
    bed = forms.CharField(label=_("Bed"), required=False, help_text=_("Optional."))
    admission_number = forms.CharField(
        label=_("Admission number (nosologico)"),
        required=False,
        help_text=_("Optional."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "upper"}),
    )


class PrescriptionForm(AdmissionFields, SerializerBackedForm):
    """The new-prescription page: patient, assessment, concomitant medications, regimen, consent."""

    field_order = ["centre", "fiscal_code", "family_name", "given_name", *AdmissionFields.base_fields]

    centre = forms.ChoiceField(label=_("Centre"), required=False)
    fiscal_code = forms.CharField(
        label=_("Fiscal code"),
        required=False,
        help_text=_("Checked against birth date and sex; kept encrypted, shown only to the centre's staff."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "upper"}),
    )
    family_name = forms.CharField(
        label=_("Family name"), required=False, widget=forms.TextInput(attrs={"autocomplete": "off", "required": ""})
    )
    given_name = forms.CharField(
        label=_("Given name"), required=False, widget=forms.TextInput(attrs={"autocomplete": "off", "required": ""})
    )
    birth_date = forms.CharField(label=_("Birth date"), required=False, widget=date_widget())
    sex = forms.ChoiceField(label=_("Sex"), required=False, choices=Sex.choices, widget=forms.RadioSelect)
    weight_kg = forms.CharField(label=_("Weight (kg)"), required=False, widget=decimal_widget())

    hospitalised = YesNoField(label=_("Admitted to hospital"))
    sars_cov_2_confirmed = YesNoField(label=_("SARS-CoV-2 infection confirmed (molecular test)"))
    pneumonia = forms.ChoiceField(
        label=_("COVID-19 pneumonia"), required=False, choices=_choices_with_blank(PNEUMONIA_CHOICES)
    )
    pao2_mmhg = forms.CharField(label=_("PaO2 (mmHg)"), required=False, widget=decimal_widget())
    fio2 = forms.CharField(
        label=_("FiO2 (fraction)"),
        required=False,
        help_text=FIO2_HELP,
        widget=decimal_widget(),
    )
    respiratory_support = forms.ChoiceField(
        label=_("Respiratory support"), required=False, choices=_choices_with_blank(RESPIRATORY_SUPPORT_CHOICES)
    )
    supar_ng_ml = forms.CharField(label=_("suPAR (ng/mL)"), required=False, widget=decimal_widget())
    anc_10e9_l = forms.CharField(
        label=_("Neutrophils, ANC (×10⁹/L)"), required=False, help_text=_("Optional."), widget=decimal_widget()
    )
    creatinine_clearance_ml_min = forms.CharField(
        label=_("Creatinine clearance (mL/min)"), required=False, help_text=_("Optional."), widget=decimal_widget()
    )
    alt_x_uln = forms.CharField(
        label=_("ALT (× upper limit of normal)"), required=False, help_text=_("Optional."), widget=decimal_widget()
    )
    ast_x_uln = forms.CharField(
        label=_("AST (× upper limit of normal)"), required=False, help_text=_("Optional."), widget=decimal_widget()
    )
    known_hypersensitivity = forms.BooleanField(
        label=_("Known hypersensitivity to anakinra or to E. coli-derived proteins"), required=False
    )
    live_vaccine = forms.BooleanField(
        label=_("A live vaccine given recently or planned"),
        required=False,
        help_text=_("Live vaccines must not be given at the same time as anakinra: a warning."),
    )

    # Their initial values: the regimen of the criteria version in force (``__init__``; prescriptions.course.regimen).
    regimen_dose_mg = forms.CharField(label=_("Dose (mg)"), required=False, widget=decimal_widget(size="6"))
    regimen_route = forms.ChoiceField(label=_("Route"), required=False, choices=ROUTE_CHOICES)
    regimen_interval_hours = forms.CharField(
        label=_("Every (hours)"), required=False, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    regimen_duration_days = forms.CharField(
        label=_("For (days)"), required=False, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )

    informed_consent = forms.BooleanField(label=_("Written informed consent obtained"), required=False)
    consent_given_by = forms.ChoiceField(
        label=_("Consent given by"),
        required=False,
        choices=ConsentGivenBy.choices,
        initial=ConsentGivenBy.PATIENT,
        widget=forms.RadioSelect,
    )
    consent_date = forms.CharField(label=_("Consent date"), required=False, widget=date_widget())
    prescribed_at = forms.CharField(
        label=_("Prescribed at (late registration only)"),
        required=False,
        help_text=_("Leave empty for now; a late registration may go back at most 30 days."),
        widget=datetime_widget(seconds=False),
    )

    decimal_fields = (
        "weight_kg",
        "pao2_mmhg",
        "fio2",
        "supar_ng_ml",
        "anc_10e9_l",
        "creatinine_clearance_ml_min",
        "alt_x_uln",
        "ast_x_uln",
        "regimen_dose_mg",
        "dexamethasone_dose_mg",
    )
    # The assessment is dated at the prescription: its date errors concern prescribed_at. The page asks about
    # pregnancy once, with the baseline's status.
    error_aliases = {"assessed_at": "prescribed_at", "pregnant_or_breastfeeding": "pregnancy_status"}

    # The baseline (optional, never judged by the engine: docs/rules.md, "Baseline").
    symptom_onset_on = forms.CharField(label=_("Symptom onset"), required=False, widget=date_widget())
    sars_cov_2_test_on = forms.CharField(label=_("SARS-CoV-2 test date"), required=False, widget=date_widget())
    sars_cov_2_test_type = forms.ChoiceField(
        label=_("SARS-CoV-2 test type"), required=False, choices=_choices_with_blank(SarsCov2TestType.choices)
    )
    vaccination_status = forms.ChoiceField(
        label=_("COVID-19 vaccination"), required=False, choices=_choices_with_blank(VaccinationStatus.choices)
    )
    pregnancy_status = forms.ChoiceField(
        label=_("Pregnancy or breastfeeding"), required=False, choices=_choices_with_blank(PregnancyStatus.choices)
    )
    dexamethasone_dose_mg = forms.CharField(
        label=_("Dexamethasone (mg a day)"),
        required=False,
        help_text=_("Empty when not given."),
        widget=decimal_widget(size="6"),
    )
    remdesivir = YesNoField(label=_("Remdesivir"), unsaid=True)
    active_serious_infection = YesNoField(label=_("Active serious infection other than COVID-19"), unsaid=True)

    def __init__(self, *args, centres=(), **kwargs):
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("consent_date", rome_today().isoformat())
        listing = listing_regimen()
        initial.setdefault("regimen_dose_mg", listing.dose_mg)
        initial.setdefault("regimen_route", listing.route)
        initial.setdefault("regimen_interval_hours", listing.interval_hours)
        initial.setdefault("regimen_duration_days", listing.window_days)
        super().__init__(*args, **kwargs)
        self.centres = list(centres)
        self.fields["centre"].choices = _choices_with_blank((str(c.pk), c.name) for c in self.centres)
        if len(self.centres) == 1:
            self.fields["centre"].widget = forms.HiddenInput()
            self.fields["centre"].initial = str(self.centres[0].pk)
        for row in range(MEDICATION_ROWS):
            self.fields[f"med-{row}-name"] = forms.CharField(label=_("Medicine"), required=False)
            self.fields[f"med-{row}-atc_code"] = forms.CharField(
                label=_("ATC code"),
                required=False,
                widget=forms.TextInput(attrs={"size": "8", "class": "upper", "spellcheck": "false"}),
            )
            self.fields[f"med-{row}-ongoing"] = forms.BooleanField(label=_("Ongoing"), required=False)
            self.fields[f"med-{row}-last_dose_at"] = forms.CharField(
                label=_("Last dose"), required=False, widget=datetime_widget(seconds=False)
            )
            self.fields[f"med-{row}-confirmed_not_il_jak"] = forms.BooleanField(
                label=_("Not an IL or JAK inhibitor (confirmed)"), required=False
            )
        # Index in the posted list of medications -> row of the form (blank rows are not sent).
        self.medication_rows_sent: list[int] = []

    @property
    def medication_rows(self) -> list[dict]:
        rows = []
        for row in range(MEDICATION_ROWS):
            fields = [self[f"med-{row}-{field}"] for field in MEDICATION_FIELDS]
            # One message often concerns two fields of the row ("name or ATC code"): say it once, under the row.
            errors = list(dict.fromkeys(error for field in fields for error in field.errors))
            rows.append({"number": row + 1, "fields": fields, "errors": errors})
        return rows

    @property
    def centre_choice_shown(self) -> bool:
        return len(self.centres) > 1

    def centre_id(self) -> str | None:
        value = self.raw("centre")
        if not value and len(self.centres) == 1:
            return str(self.centres[0].pk)
        return value or None

    def chosen_centre(self):
        return next((c for c in self.centres if str(c.pk) == self.centre_id()), None)

    def patient_payload(self, *, with_fiscal_code: bool = True) -> dict:
        """The submission's ``patient`` (with the fiscal code and the identifying data); without them, the
        eligibility check's."""
        if with_fiscal_code:
            return self.collect(PATIENT_FIELDS + IDENTITY_FORM_FIELDS)
        return self.collect(tuple(f for f in PATIENT_FIELDS if f != "fiscal_code"))

    def missing_names(self) -> list[str]:
        """The names the page requires (the API takes them as optional)."""
        return [name for name in REQUIRED_IDENTITY_FIELDS if not self.raw(name)]

    def assessment_payload(self) -> dict:
        assessment = self.collect(ASSESSMENT_FIELDS)  # yes/no answers as JSON booleans (``raw``)
        assessment["known_hypersensitivity"] = bool(self.raw("known_hypersensitivity"))
        assessment["live_vaccine"] = bool(self.raw("live_vaccine"))
        medications = []
        self.medication_rows_sent = []
        for row in range(MEDICATION_ROWS):
            medication = self.collect(
                (f"med-{row}-{field}" for field in MEDICATION_FIELDS), key=lambda name: name.rsplit("-", 1)[1]
            )
            for flag in ("ongoing", "confirmed_not_il_jak"):
                if medication.get(flag) is False:
                    del medication[flag]
            if medication:
                medications.append(medication)
                self.medication_rows_sent.append(row)
        if medications:
            assessment["concomitant_medications"] = medications
        regimen = self.collect((f"regimen_{field}" for field in REGIMEN_FIELDS), key=lambda n: n[len("regimen_") :])
        if regimen:
            assessment["regimen"] = regimen
        return assessment

    def payload(self) -> dict:
        """The body of ``POST /api/v1/prescriptions/`` (docs/api.md) from the posted fields."""
        data = {
            "patient": self.patient_payload(),
            "assessment": self.assessment_payload(),
            "informed_consent": bool(self.raw("informed_consent")),
        }
        data.update(self.collect(("consent_given_by", "consent_date", "prescribed_at")))
        if baseline := self.collect(BASELINE_FIELDS):
            data["baseline"] = baseline
        if centre_id := self.centre_id():
            data["centre"] = centre_id
        return data

    def check_payload(self, *, with_fiscal_code: bool = False, with_centre: bool = False) -> dict:
        """The body of ``POST /api/v1/eligibility-checks/``, dated at the prescription like the submission.

        ``with_fiscal_code`` and ``with_centre`` ask for the submission's own checks as well (``submission_blockers``).
        The page asks one question, the baseline's pregnancy status; the assessment's warning follows it, as the
        submission's does (``serializers._pregnancy_disagreement``).
        """
        data = {**self.assessment_payload(), "patient": self.patient_payload(with_fiscal_code=with_fiscal_code)}
        data["pregnant_or_breastfeeding"] = self.raw("pregnancy_status") in PREGNANT_OR_BREASTFEEDING
        if prescribed_at := self.raw("prescribed_at"):
            data["assessed_at"] = prescribed_at
        if with_centre and (centre := self.chosen_centre()) is not None:
            data["centre"] = str(centre.pk)
        return data

    def field_for(self, path: tuple) -> str | None:
        if path and path[0] in ("patient", "assessment", "baseline"):
            path = path[1:]
        if len(path) >= 3 and path[0] == "concomitant_medications":
            index = int(path[1])
            if index < len(self.medication_rows_sent):
                name = f"med-{self.medication_rows_sent[index]}-{path[2]}"
                return name if name in self.fields else None
            return None
        if len(path) >= 2 and path[0] == "regimen":
            name = f"regimen_{path[1]}"
            return name if name in self.fields else None
        return super().field_for(path)

    def label_for(self, path: tuple) -> str:
        for part in reversed(path):
            if isinstance(part, str) and part in self.fields:
                return str(self.fields[part].label)
        if "concomitant_medications" in path:
            return str(_("Concomitant medications"))
        return super().label_for(path)

    def missing_and_invalid(self, errors) -> tuple[list[str], list[tuple[str, str]]]:
        """For the live verdict: labels of the fields still to fill in, and (label, message) of wrong ones."""
        missing: list[str] = []
        invalid: list[tuple[str, str]] = []
        for path, message, code in flatten_errors(errors):
            name = self.field_for(path)
            label = str(self.fields[name].label) if name else self.label_for(path)
            if name and name.startswith("med-"):
                label = _("Medication %(row)s") % {"row": int(name.split("-")[1]) + 1}
            if code in ("required", "null"):
                if label not in missing:
                    missing.append(label)
            elif (label, message) not in invalid:
                invalid.append((label, message))
        return missing, invalid


# --- Actions on a prescription ------------------------------------------------------------


class DispenseForm(SerializerBackedForm):
    syringes = forms.IntegerField(
        label=_("Syringes (100 mg)"),
        required=False,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_COURSE_DOSES}),
    )
    lot_number = forms.CharField(
        label=_("Lot number"), required=False, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    expiry_date = forms.CharField(label=_("Expiry date"), required=False, widget=date_widget())
    # A pharmacy keeping its stock in the registry picks a lot it holds instead (prescriptions.web.stock gives the
    # lots, first expiry first, as ``initial["stock_lots"]``; issue 20).
    lot = forms.ChoiceField(label=_("Lot in stock"), required=False, choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        lots = self.initial.get("stock_lots")
        if lots is None:
            del self.fields["lot"]
        else:
            self.fields["lot"].choices = lots
            self.fields["lot"].help_text = _("First expiry, first out: the suggested lot comes first.")
            del self.fields["lot_number"], self.fields["expiry_date"]


class RefuseForm(SerializerBackedForm):
    """A refusal is definitive (the request is cancelled): a category, a note (required for "other") and a box to
    tick to confirm it."""

    category = forms.ChoiceField(
        label=_("Why is it refused?"), required=False, choices=_choices_with_blank(RefusalCategory.choices)
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        help_text=_('Required for "other".'),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(
        label=_("I confirm: the request is refused for good and the prescription cancelled."), required=False
    )

    def payload(self) -> dict:
        return self.collect(("category", "note"))


class HoldForm(SerializerBackedForm):
    """Keep a waiting request on hold (it keeps waiting; the prescriber is told)."""

    reason = forms.ChoiceField(label=_("Why on hold?"), required=False, choices=HoldReason.choices)
    expected_on = forms.CharField(
        label=_("Expected on"),
        required=False,
        help_text=_("When the drug should arrive, if known."),
        widget=date_widget(),
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ReleaseHoldForm(SerializerBackedForm):
    """No field: the button releases the hold."""


class AdministerForm(SerializerBackedForm):
    administered_at = forms.CharField(label=_("Given at"), required=False, widget=datetime_widget())
    # Initial dose and route: the course's regimen (the page's action passes them; prescriptions.course.regimen).
    dose_mg = forms.CharField(label=_("Dose (mg)"), required=False, widget=decimal_widget(size="6"))
    route = forms.ChoiceField(label=_("Route"), required=False, choices=Route.choices)
    decimal_fields = ("dose_mg",)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("administered_at", local_now_input())
        super().__init__(*args, **kwargs)
        # The course's blocking alerts (initial["blocking"], their titles): the round offers no dose for it, and
        # here a dose is recorded only with the box beside them ticked.
        if blocking := self.initial.get("blocking"):
            self.fields["confirm_alerts"] = forms.BooleanField(
                label=_("Blocking alert open (%(alerts)s): I confirm the prescriber decided the course goes on.")
                % {"alerts": ", ".join(str(title) for title in blocking)},
                required=False,
            )

    def payload(self) -> dict:
        return self.collect(("administered_at", "dose_mg", "route"))


class StopForm(SerializerBackedForm):
    """Stopping ends the course for good (no dose can follow it): a box to tick confirms it, as for a refusal."""

    reason = forms.ChoiceField(label=_("Reason"), required=False, choices=_choices_with_blank(StopReason.choices))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    stopped_at = forms.CharField(
        label=_("Stopped at"), required=False, help_text=_("Leave empty for now."), widget=datetime_widget()
    )
    confirm = forms.BooleanField(
        label=_("I confirm: the course ends for good and no further dose can be recorded."), required=False
    )

    def payload(self) -> dict:
        return self.collect(("reason", "note", "stopped_at"))


class AdverseEventForm(SerializerBackedForm):
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=_choices_with_blank(AdverseEventCategory.choices)
    )
    serious = forms.BooleanField(label=_("Serious"), required=False)
    onset_date = forms.CharField(label=_("Onset"), required=False, widget=date_widget())
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reported_to_pharmacovigilance = forms.BooleanField(
        label=_("Reported to the national pharmacovigilance network"), required=False
    )
    meddra_preferred_term = forms.CharField(label=_("MedDRA preferred term"), required=False)
    meddra_code = forms.CharField(
        label=_("MedDRA code (LLT, 8 digits)"),
        required=False,
        help_text=_("From your MedDRA browser: the lowest level term's code, with the MedDRA version."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "maxlength": "8", "size": "10"}),
    )
    meddra_version = forms.CharField(
        label=_("MedDRA version"),
        required=False,
        help_text=_("e.g. 27.1"),
        widget=forms.TextInput(attrs={"maxlength": "5", "size": "6"}),
    )
    causality = forms.ChoiceField(
        label=_("Causality (WHO-UMC)"), required=False, choices=_choices_with_blank(Causality.choices)
    )
    outcome = forms.ChoiceField(
        label=_("Outcome of the event"), required=False, choices=_choices_with_blank(AdverseEventOutcome.choices)
    )
    pharmacovigilance_report_number = forms.CharField(label=_("Pharmacovigilance report number"), required=False)
    pharmacovigilance_report_date = forms.CharField(
        label=_("Pharmacovigilance report date"), required=False, widget=date_widget()
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("onset_date", rome_today().isoformat())
        super().__init__(*args, **kwargs)

    def payload(self) -> dict:
        data = super().payload()
        data["serious"] = bool(self.raw("serious"))
        data["reported_to_pharmacovigilance"] = bool(self.raw("reported_to_pharmacovigilance"))
        return data


class LabResultForm(SerializerBackedForm):
    test = forms.ChoiceField(label=_("Test"), required=False, choices=_choices_with_blank(LabTest.choices))
    value = forms.CharField(
        label=_("Value"),
        required=False,
        help_text=_("ANC in ×10⁹/L; ALT and AST in U/L."),
        widget=decimal_widget(size="8"),
    )
    upper_limit_normal = forms.CharField(
        label=_("Upper limit of normal (U/L)"),
        required=False,
        help_text=_("ALT and AST only; 40 U/L when left empty."),
        widget=decimal_widget(size="8"),
    )
    collected_at = forms.CharField(label=_("Collected at"), required=False, widget=datetime_widget())
    decimal_fields = ("value", "upper_limit_normal")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("collected_at", local_now_input())
        super().__init__(*args, **kwargs)


class OutcomeForm(SerializerBackedForm):
    day = forms.ChoiceField(label=_("Day of the course"), required=False, choices=((14, "14"), (28, "28")))
    who_cps = forms.ChoiceField(
        label=_("WHO Clinical Progression Scale"), required=False, choices=_choices_with_blank(WHO_CPS_CHOICES)
    )
    assessed_on = forms.CharField(label=_("Assessed on"), required=False, widget=date_widget())
    icu_admission = YesNoField(label=_("ICU admission by this day"), unsaid=True)
    severe_respiratory_failure = YesNoField(
        label=_("Severe respiratory failure by this day"),
        unsaid=True,
        help_text=_("PaO2/FiO2 < 150, NIV or mechanical ventilation."),
    )
    death_on = forms.CharField(
        label=_("Date of death"), required=False, help_text=_("WHO-CPS 10 only."), widget=date_widget()
    )
    death_cause = forms.CharField(label=_("Cause of death"), required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("assessed_on", rome_today().isoformat())
        super().__init__(*args, **kwargs)


class ConcomitantMedicationForm(SerializerBackedForm):
    """A medicine started during the course: the catalogue classifies it when it is recorded."""

    name = forms.CharField(label=_("Medicine (INN or brand)"), required=False)
    atc_code = forms.CharField(label=_("ATC code"), required=False, help_text=_("Optional, e.g. B01AB05."))
    started_on = forms.CharField(label=_("Started on"), required=False, widget=date_widget())
    dose = forms.CharField(label=_("Dose"), required=False, help_text=_("Optional, as prescribed."))
    confirmed_not_il_jak = forms.BooleanField(
        label=_("I confirm it is neither an interleukin nor a JAK inhibitor (for a medicine not in the catalogue)"),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("started_on", rome_today().isoformat())
        super().__init__(*args, **kwargs)

    def payload(self) -> dict:
        data = super().payload()
        data["confirmed_not_il_jak"] = bool(self.raw("confirmed_not_il_jak"))
        return data


class FilterChoiceField(forms.ChoiceField):
    """A list filter's choice: a value it does not take is refused with the values it does (a person who edited
    the address, or followed an old link, learns what to write)."""

    def validate(self, value):
        try:
            super().validate(value)
        except forms.ValidationError as error:
            if error.code != "invalid_choice":
                raise
            allowed = ", ".join(f"{key} ({label})" for key, label in self.choices if key != "")
            raise forms.ValidationError(
                _("“%(value)s” is not one of its values: %(allowed)s."),
                code="invalid_choice",
                params={"value": value, "allowed": allowed},
            ) from None


def filter_errors(form: forms.Form) -> list[str]:
    """Each refused filter as "its label: why" (the page's message above the list, the CSV's 400)."""
    lines = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        lines.extend(f"{label}: {error}" if label else str(error) for error in errors)
    return lines


def refused_choices(form: forms.Form) -> bool:
    """Whether a filter was given a value it does not take (only an edited or stale address does that: the page's
    400). A date or a search typed wrong stays the person's input, shown next to its box."""
    return any(error.code == "invalid_choice" for errors in form.errors.as_data().values() for error in errors)


class QueueFilterForm(forms.Form):
    """The dispensing queue's filter (``?hold=yes|no``), as the API's ``hold``."""

    hold = FilterChoiceField(
        label=_("On hold"),
        required=False,
        choices=[("", _("All requests")), ("yes", _("Only those on hold")), ("no", _("Only those not on hold"))],
    )


class PrescriptionFilterForm(forms.Form):
    """Filters of the prescription list (a read: Django's own validation is enough here; a value a filter does not
    take is a 400 naming it)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=64,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("fiscal code or prescription number"), "autocomplete": "off"}
        ),
    )
    status = FilterChoiceField(label=_("Status"), required=False)
    centre = FilterChoiceField(label=_("Centre"), required=False)
    submitted_from = forms.DateField(label=_("Prescribed from"), required=False, widget=date_widget())
    submitted_to = forms.DateField(label=_("to"), required=False, widget=date_widget())
    with_alerts = forms.BooleanField(label=_("With alerts"), required=False)
    on_hold = forms.BooleanField(label=_("On hold at the pharmacy"), required=False)
    outcome_overdue = forms.BooleanField(label=_("Day-28 outcome overdue"), required=False)
    sort = FilterChoiceField(
        label=_("Order"),
        required=False,
        choices=[("newest", _("newest first")), ("oldest", _("oldest first"))],
    )

    def __init__(self, *args, centres=(), statuses=(), by_identity: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if by_identity:
            self.fields["q"].widget.attrs["placeholder"] = _(
                "fiscal code, family name, admission number or prescription number"
            )
        self.fields["status"].choices = [("", _("any")), *statuses]
        self.fields["centre"].choices = [("", _("any")), *((str(c.pk), c.name) for c in centres)]

    def filters(self) -> dict:
        """The valid filters, for ``selectors.prescription_list`` (an invalid one is shown and ignored)."""
        self.is_valid()
        data = {field: value for field, value in self.cleaned_data.items() if value}
        if "status" in data:
            data["status"] = [data["status"]]
        return data


class PatientIdentityForm(AdmissionFields, SerializerBackedForm):
    """The centre's staff record the identity of a patient registered before it was kept (or correct it)."""

    field_order = ["fiscal_code", "family_name", "given_name", *AdmissionFields.base_fields]

    fiscal_code = forms.CharField(
        label=_("Fiscal code"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "upper"}),
    )
    family_name = forms.CharField(label=_("Family name"), required=False)
    given_name = forms.CharField(label=_("Given name"), required=False)


class PatientRevealForm(SerializerBackedForm):
    """A regional officer says why they need to see the patient's identity."""

    reason = forms.CharField(
        label=_("Reason for revealing the identity"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": "500"}),
    )
