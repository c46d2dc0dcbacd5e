"""AIFA's pages (issue 18): the tocilizumab shortage periods (recorded and changed through
``services.shortages``, each change confirmed and audited) and the criteria versions in force (read only, from the
shipped versions)."""

import functools

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from registry.calendar import rome_today
from registry.errors import InvalidInput
from registry.models import Role
from registry.permissions import PermissionDenied, actor_for

from ..eligibility.versioning import SHIPPED_VERSIONS
from ..models import TocilizumabShortage
from ..permissions import SHORTAGE_ROLES
from ..services.shortages import shortage_record, shortage_update


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class ShortageForm(forms.Form):
    starts_on = forms.DateField(label=gettext_lazy("From"), widget=DateInput)
    ends_on = forms.DateField(
        label=gettext_lazy("To (included)"),
        widget=DateInput,
        required=False,
        help_text=gettext_lazy("Leave empty while the shortage lasts."),
    )
    aifa_reference = forms.CharField(
        label=gettext_lazy("AIFA reference"),
        max_length=300,
        help_text=gettext_lazy("The AIFA notice or list of medicines in shortage that records it."),
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("starts_on"), cleaned.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", _("The end of the period cannot come before its start."))
        return cleaned


def national_page(roles):
    """Signed in with one of ``roles`` (an administrator always); a refusal is a 403."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            actor = actor_for(request.user)
            if not (actor.is_admin or actor.role in roles):
                raise DjangoPermissionDenied
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied as exc:
                raise DjangoPermissionDenied(str(exc)) from exc

        return login_required(wrapper)

    return decorate


def _day(value) -> str:
    return date_format(value, "SHORT_DATE_FORMAT") if value else _("no end")


@national_page(SHORTAGE_ROLES)
@require_GET
def shortages(request):
    context = {"shortages": TocilizumabShortage.objects.order_by("-starts_on"), "today": rome_today()}
    return render(request, "prescriptions/national/shortages.html", context)


def _shortage_form(request, *, shortage=None, title):
    initial = (
        {"starts_on": shortage.starts_on, "ends_on": shortage.ends_on, "aifa_reference": shortage.aifa_reference}
        if shortage
        else {"starts_on": rome_today()}
    )
    form = ShortageForm(request.POST or None, initial=initial)
    back = reverse("prescriptions:shortages")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if request.POST.get("confirmed") != "yes":
            rows = [
                (_("From"), _day(data["starts_on"])),
                (_("To (included)"), _day(data["ends_on"])),
                (_("AIFA reference"), data["aifa_reference"]),
            ]
            context = {"title": title, "rows": rows, "form": form, "back": back, "danger": False}
            context["explain"] = _(
                "The shortage periods decide the listing's condition: a prescription is eligible only on a day a "
                "period covers."
            )
            return render(request, "registry/office/confirm.html", context)
        try:
            if shortage is None:
                shortage_record(actor=request.user, **data)
            else:
                shortage_update(actor=request.user, shortage=shortage, **data)
        except InvalidInput as exc:
            for field, errors in exc.errors.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Shortage period saved."))
            return redirect(back)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": title, "back": back, "today": rome_today()}
    return render(request, "registry/office/form.html", context, status=status)


@national_page(SHORTAGE_ROLES)
@require_http_methods(["GET", "POST"])
def shortage_new(request):
    return _shortage_form(request, title=_("Record a tocilizumab shortage"))


@national_page(SHORTAGE_ROLES)
@require_http_methods(["GET", "POST"])
def shortage_edit(request, shortage_id):
    shortage = TocilizumabShortage.objects.filter(pk=shortage_id).first()
    if shortage is None:
        raise Http404
    return _shortage_form(request, shortage=shortage, title=_("Change the shortage period"))


@national_page((Role.NATIONAL, Role.REGIONAL_OFFICER))
@require_GET
def criteria(request):
    """The criteria versions shipped with the registry, the one in force today first among equals."""
    today = rome_today()
    versions = [
        {
            "version": version,
            # The shipped versions' acts are translated in the catalogue like any other text of the registry.
            "legal_act": _(version.legal_act),
            "in_force": version.in_force_on(today),
        }
        for version in reversed(SHIPPED_VERSIONS)
    ]
    return render(request, "prescriptions/national/criteria.html", {"versions": versions, "today": today})
