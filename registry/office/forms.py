"""The regional office's forms: they parse the input; the services check it (permission, region, period)."""

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from registry.calendar import rome_today
from registry.models import Role
from registry.services import INVITABLE_ROLES


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    valid_from = forms.DateField(label=_("Valid from"), widget=DateInput)
    valid_to = forms.DateField(
        label=_("Valid to (included)"),
        widget=DateInput,
        required=False,
        help_text=_("Leave empty for no end."),
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("valid_from"), cleaned.get("valid_to")
        if start and end and end < start:
            self.add_error("valid_to", _("The end of the period cannot come before its start."))
        return cleaned


class DesignateForm(PeriodForm):
    act_reference = forms.CharField(
        label=_("Regional act"), max_length=200, required=False, help_text=_("For example DGR n. 123/2026.")
    )


class CentreForm(forms.Form):
    """A new centre, or a centre's serving pharmacy (the name is kept when only the pharmacy changes)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    pharmacy = forms.ModelChoiceField(
        label=_("Serving pharmacy"),
        queryset=None,
        required=False,
        help_text=_("The hospital pharmacy that dispenses its prescriptions."),
    )

    def __init__(self, *args, pharmacies, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pharmacy"].queryset = pharmacies
        if regions is not None:
            self.fields["region"] = forms.ModelChoiceField(label=_("Region"), queryset=regions)


class PharmacyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        if regions is not None:
            self.fields["region"] = forms.ModelChoiceField(label=_("Region"), queryset=regions)


class EndForm(forms.Form):
    valid_to = forms.DateField(label=_("Last day in force (included)"), widget=DateInput, initial=rome_today)


class GrantForm(PeriodForm):
    prescriber = forms.ModelChoiceField(label=_("Prescriber"), queryset=None)
    centre = forms.ModelChoiceField(label=_("Centre"), queryset=None)

    field_order = ["prescriber", "centre", "valid_from", "valid_to"]

    def __init__(self, *args, prescribers, centres, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prescriber"].queryset = prescribers
        self.fields["prescriber"].label_from_instance = lambda user: (
            f"{user.get_full_name()} ({user.get_username()})" if user.get_full_name() else user.get_username()
        )
        self.fields["centre"].queryset = centres


class InviteForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    first_name = forms.CharField(label=_("Given name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Family name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=[(role.value, role.label) for role in INVITABLE_ROLES])
    centre = forms.ModelChoiceField(
        label=_("Centre"), queryset=None, required=False, help_text=_("For a prescriber or a nurse.")
    )
    pharmacy = forms.ModelChoiceField(
        label=_("Pharmacy"), queryset=None, required=False, help_text=_("For a pharmacist.")
    )

    def __init__(self, *args, centres, pharmacies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = centres
        self.fields["pharmacy"].queryset = pharmacies

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role")
        if role == Role.PHARMACIST:
            cleaned["centre"] = None
            if not cleaned.get("pharmacy"):
                self.add_error("pharmacy", _("A pharmacist works at a pharmacy: choose it."))
        elif role in (Role.PRESCRIBER, Role.NURSE):
            cleaned["pharmacy"] = None
            if not cleaned.get("centre"):
                self.add_error("centre", _("Choose the centre."))
        return cleaned


class InvitationAcceptForm(forms.Form):
    """The invited person's password, checked by the validators of the installation."""

    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(
        label=_("The password again"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            try:
                password_validation.validate_password(first, self.user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned
