"""The regional office's pages. Each change is a form, then a page that repeats what will be written and asks for a
confirmation, then the service (which checks the region, writes and audits); what it wrote is shown with its
validity."""

import functools
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from registry import selectors, services
from registry.auth.invitations import invitation_accept, invitation_expires_on, invitation_link_parts, invitation_user
from registry.calendar import rome_today
from registry.errors import InvalidInput
from registry.models import Pharmacy, Region, Role
from registry.permissions import PermissionDenied, actor_for

from .forms import CentreForm, DesignateForm, EndForm, GrantForm, InvitationAcceptForm, InviteForm, PharmacyForm


def office_page(view):
    """Signed in, and a regional officer or an administrator; a refusal by a service is a 403 page."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        actor = actor_for(request.user)
        if not (actor.is_admin or actor.role == Role.REGIONAL_OFFICER):
            raise DjangoPermissionDenied
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc)) from exc

    return login_required(require_http_methods(["GET", "POST"])(wrapper))


def _day(value) -> str:
    return date_format(value, "SHORT_DATE_FORMAT") if value else _("no end")


def _render(request, template, context, status=200):
    context.setdefault("today", rome_today())
    context.setdefault("regions", selectors.managed_region_ids(user=request.user))
    return render(request, f"registry/office/{template}", context, status=status)


def _confirm_or_do(request, *, form, title, rows, action, done, back, danger=False):
    """The second step of every change: a valid form not yet confirmed shows what will be written; confirmed, the
    service runs (``action``), its refusal goes back to the form next to its field."""
    if request.POST.get("confirmed") != "yes":
        context = {"title": title, "rows": rows, "form": form, "back": back, "danger": danger}
        return _render(request, "confirm.html", context)
    try:
        result = action()
    except InvalidInput as exc:
        for field, errors in exc.errors.items():
            form.add_error(field if field in form.fields else None, errors)
        return None
    messages.success(request, done(result) if callable(done) else done)
    return redirect(back)


# --- Centres and designations ------------------------------------------------------------------------------


@office_page
def centres(request):
    return _render(
        request, "centres.html", {"centres": selectors.office_centre_list(user=request.user), "section": "centres"}
    )


@office_page
def designate(request, centre_id):
    centre = selectors.office_centre_get(user=request.user, centre_id=centre_id)
    if centre is None:
        raise Http404
    form = DesignateForm(request.POST or None, initial={"valid_from": rome_today()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = _confirm_or_do(
            request,
            form=form,
            title=_("Designate %(centre)s") % {"centre": centre.name},
            rows=[
                (_("Centre"), centre.name),
                (_("Valid from"), _day(data["valid_from"])),
                (_("Valid to (included)"), _day(data["valid_to"])),
                (_("Regional act"), data["act_reference"] or "—"),
            ],
            action=lambda: services.centre_designate(
                actor=request.user,
                centre=centre,
                valid_from=data["valid_from"],
                valid_to=data["valid_to"],
                act_reference=data["act_reference"],
            ),
            done=_("%(centre)s designated.") % {"centre": centre.name},
            back=reverse("office:centres"),
        )
        if response is not None:
            return response
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": _("Designate %(centre)s") % {"centre": centre.name}, "centre": centre}
    context["back"] = reverse("office:centres")
    return _render(request, "form.html", context, status=status)


@office_page
def designation_end(request, designation_id):
    designation = selectors.office_designation_get(user=request.user, designation_id=designation_id)
    if designation is None:
        raise Http404
    title = _("End the designation of %(centre)s") % {"centre": designation.centre.name}
    form = EndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        valid_to = form.cleaned_data["valid_to"]
        response = _confirm_or_do(
            request,
            form=form,
            title=title,
            rows=[
                (_("Centre"), designation.centre.name),
                (_("Valid from"), _day(designation.valid_from)),
                (_("Last day in force (included)"), _day(valid_to)),
            ],
            action=lambda: services.designation_end(actor=request.user, designation=designation, valid_to=valid_to),
            done=_("The designation of %(centre)s ends on %(day)s.")
            % {"centre": designation.centre.name, "day": _day(valid_to)},
            back=reverse("office:centres"),
            danger=True,
        )
        if response is not None:
            return response
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": title, "back": reverse("office:centres"), "record": designation}
    return _render(request, "form.html", context, status=status)


def _region_choices(request):
    """A region to choose only for an administrator (an officer acts in their own)."""
    return Region.objects.order_by("code") if selectors.managed_region_ids(user=request.user) is None else None


def _own_region(request, data):
    regions = selectors.managed_region_ids(user=request.user)
    return data["region"] if regions is None else Region.objects.get(pk=regions[0])


def _pharmacy_choices(request):
    pharmacies = Pharmacy.objects.select_related("region").order_by("region_id", "name")
    regions = selectors.managed_region_ids(user=request.user)
    return pharmacies if regions is None else pharmacies.filter(region_id__in=regions)


@office_page
def centre_new(request):
    title = _("New centre")
    form = CentreForm(request.POST or None, pharmacies=_pharmacy_choices(request), regions=_region_choices(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        region = _own_region(request, data)
        response = _confirm_or_do(
            request,
            form=form,
            title=title,
            rows=[
                (_("Name"), data["name"]),
                (_("Region"), region.name),
                (_("Serving pharmacy"), data["pharmacy"].name if data["pharmacy"] else "—"),
            ],
            action=lambda: services.centre_create(
                actor=request.user, region=region, name=data["name"], pharmacy=data["pharmacy"]
            ),
            done=_("Centre %(centre)s created: designate it so that its prescribers may prescribe.")
            % {"centre": data["name"]},
            back=reverse("office:centres"),
        )
        if response is not None:
            return response
    status = 400 if request.method == "POST" else 200
    return _render(request, "form.html", {"form": form, "title": title, "back": reverse("office:centres")}, status)


@office_page
def centre_pharmacy(request, centre_id):
    """Which pharmacy serves the centre (its dispensing queue)."""
    centre = selectors.office_centre_get(user=request.user, centre_id=centre_id)
    if centre is None:
        raise Http404
    title = _("Change %(centre)s") % {"centre": centre.name}
    form = CentreForm(
        request.POST or None,
        initial={"name": centre.name, "pharmacy": centre.pharmacy_id},
        pharmacies=_pharmacy_choices(request).filter(region_id=centre.region_id),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = _confirm_or_do(
            request,
            form=form,
            title=title,
            rows=[
                (_("Name"), data["name"]),
                (_("Serving pharmacy"), data["pharmacy"].name if data["pharmacy"] else "—"),
            ],
            action=lambda: services.centre_update(
                actor=request.user, centre=centre, name=data["name"], pharmacy=data["pharmacy"]
            ),
            done=_("%(centre)s saved.") % {"centre": data["name"]},
            back=reverse("office:centres"),
        )
        if response is not None:
            return response
    status = 400 if request.method == "POST" else 200
    return _render(request, "form.html", {"form": form, "title": title, "back": reverse("office:centres")}, status)


@office_page
def pharmacy_new(request):
    title = _("New pharmacy")
    form = PharmacyForm(request.POST or None, regions=_region_choices(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        region = _own_region(request, data)
        response = _confirm_or_do(
            request,
            form=form,
            title=title,
            rows=[(_("Name"), data["name"]), (_("Region"), region.name)],
            action=lambda: services.pharmacy_create(actor=request.user, region=region, name=data["name"]),
            done=_("%(pharmacy)s created.") % {"pharmacy": data["name"]},
            back=reverse("office:pharmacies"),
        )
        if response is not None:
            return response
    status = 400 if request.method == "POST" else 200
    return _render(request, "form.html", {"form": form, "title": title, "back": reverse("office:pharmacies")}, status)


@office_page
def pharmacies(request):
    return _render(
        request,
        "pharmacies.html",
        {"pharmacies": selectors.office_pharmacy_list(user=request.user), "section": "pharmacies"},
    )


# --- Prescriber authorisations -----------------------------------------------------------------------------


@office_page
def authorisations(request):
    return _render(
        request,
        "authorisations.html",
        {"authorisations": selectors.office_authorisation_list(user=request.user), "section": "authorisations"},
    )


def _grant_form(request, initial=None):
    return GrantForm(
        request.POST or None,
        initial=initial,
        prescribers=selectors.office_prescriber_choices(user=request.user),
        centres=selectors.office_centre_list(user=request.user),
    )


def _grant(request, form, title):
    data = form.cleaned_data
    prescriber, centre = data["prescriber"], data["centre"]
    return _confirm_or_do(
        request,
        form=form,
        title=title,
        rows=[
            (_("Prescriber"), prescriber.get_full_name() or prescriber.get_username()),
            (_("Centre"), centre.name),
            (_("Valid from"), _day(data["valid_from"])),
            (_("Valid to (included)"), _day(data["valid_to"])),
        ],
        action=lambda: services.prescriber_authorise(
            actor=request.user,
            prescriber=prescriber,
            centre=centre,
            valid_from=data["valid_from"],
            valid_to=data["valid_to"],
        ),
        done=_("%(prescriber)s authorised at %(centre)s.")
        % {"prescriber": prescriber.get_username(), "centre": centre.name},
        back=reverse("office:authorisations"),
    )


@office_page
def authorisation_grant(request):
    title = _("Authorise a prescriber")
    form = _grant_form(request, initial={"valid_from": rome_today()})
    if request.method == "POST" and form.is_valid():
        response = _grant(request, form, title)
        if response is not None:
            return response
    status = 400 if request.method == "POST" else 200
    return _render(
        request, "form.html", {"form": form, "title": title, "back": reverse("office:authorisations")}, status
    )


@office_page
def authorisation_renew(request, authorisation_id):
    """A new period for the same prescriber and centre, from the day after the current one ends (or today)."""
    authorisation = selectors.office_authorisation_get(user=request.user, authorisation_id=authorisation_id)
    if authorisation is None:
        raise Http404
    title = _("Renew the authorisation of %(prescriber)s") % {"prescriber": authorisation.prescriber.get_username()}
    start = max(rome_today(), authorisation.valid_to + timedelta(days=1)) if authorisation.valid_to else rome_today()
    form = _grant_form(
        request,
        initial={"prescriber": authorisation.prescriber_id, "centre": authorisation.centre_id, "valid_from": start},
    )
    if request.method == "POST" and form.is_valid():
        response = _grant(request, form, title)
        if response is not None:
            return response
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": title, "back": reverse("office:authorisations"), "record": authorisation}
    return _render(request, "form.html", context, status)


@office_page
def authorisation_end(request, authorisation_id):
    authorisation = selectors.office_authorisation_get(user=request.user, authorisation_id=authorisation_id)
    if authorisation is None:
        raise Http404
    title = _("End the authorisation of %(prescriber)s") % {"prescriber": authorisation.prescriber.get_username()}
    form = EndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        valid_to = form.cleaned_data["valid_to"]
        response = _confirm_or_do(
            request,
            form=form,
            title=title,
            rows=[
                (_("Prescriber"), authorisation.prescriber.get_username()),
                (_("Centre"), authorisation.centre.name),
                (_("Valid from"), _day(authorisation.valid_from)),
                (_("Last day in force (included)"), _day(valid_to)),
            ],
            action=lambda: services.authorisation_end(
                actor=request.user, authorisation=authorisation, valid_to=valid_to
            ),
            done=_("The authorisation of %(prescriber)s at %(centre)s ends on %(day)s.")
            % {
                "prescriber": authorisation.prescriber.get_username(),
                "centre": authorisation.centre.name,
                "day": _day(valid_to),
            },
            back=reverse("office:authorisations"),
            danger=True,
        )
        if response is not None:
            return response
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": title, "back": reverse("office:authorisations"), "record": authorisation}
    return _render(request, "form.html", context, status)


# --- Staff ---------------------------------------------------------------------------------------------------


@office_page
def staff(request):
    return _render(
        request, "staff.html", {"people": selectors.office_staff_list(user=request.user), "section": "staff"}
    )


@office_page
def staff_invite(request):
    title = _("Invite a person")
    form = InviteForm(
        request.POST or None,
        centres=selectors.office_centre_list(user=request.user),
        pharmacies=_pharmacy_choices(request),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        place = data["centre"] or data["pharmacy"]
        role_label = Role(data["role"]).label
        rows = [
            (_("Username"), data["username"]),
            (_("Name"), f"{data['first_name']} {data['last_name']}".strip() or "—"),
            (_("E-mail"), data["email"] or "—"),
            (_("Role"), role_label),
            (_("Place"), place.name if place else "—"),
        ]

        def invite():
            return services.staff_invite(
                actor=request.user,
                username=data["username"],
                role=data["role"],
                centre=data["centre"],
                pharmacy=data["pharmacy"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
            )

        if request.POST.get("confirmed") != "yes":
            return _render(
                request,
                "confirm.html",
                {"title": title, "rows": rows, "form": form, "back": reverse("office:staff")},
            )
        try:
            invited = invite()
        except InvalidInput as exc:
            for field, errors in exc.errors.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            uidb64, token = invitation_link_parts(invited)
            link = request.build_absolute_uri(reverse("invitation-accept", args=[uidb64, token]))
            context = {"invited": invited, "link": link, "expires_on": invitation_expires_on(), "section": "staff"}
            return _render(request, "invited.html", context)
    status = 400 if request.method == "POST" else 200
    return _render(request, "form.html", {"form": form, "title": title, "back": reverse("office:staff")}, status)


@office_page
def staff_deactivate(request, user_id):
    person = selectors.office_staff_get(user=request.user, user_id=user_id)
    if person is None or not person.is_active:
        raise Http404
    title = _("Deactivate %(username)s") % {"username": person.get_username()}
    rows = [
        (_("Username"), person.get_username()),
        (_("Name"), person.get_full_name() or "—"),
        (_("Role"), person.staff.get_role_display()),
    ]
    error = None
    if request.method == "POST" and request.POST.get("confirmed") == "yes":
        try:
            services.staff_deactivate(actor=request.user, user=person)
        except InvalidInput as exc:
            error = " ".join(str(message) for messages_ in exc.errors.values() for message in messages_)
        else:
            messages.success(request, _("%(username)s can no longer sign in.") % {"username": person.get_username()})
            return redirect("office:staff")
    context = {"title": title, "rows": rows, "form": None, "back": reverse("office:staff"), "danger": True}
    context["error"] = error
    context["explain"] = _(
        "The account can no longer sign in: its sessions end and its API tokens are revoked. Its records and its "
        "name in the audit trail stay."
    )
    return _render(request, "confirm.html", context, status=400 if error else 200)


# --- The invitation, from the link -----------------------------------------------------------------------------


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def invitation_accept_page(request, uidb64, token):
    """The invited person chooses a password, is signed in and goes on to set up the second factor."""
    user = invitation_user(uidb64, token)
    if user is None:
        return render(request, "registry/office/invitation_invalid.html", status=404)
    form = InvitationAcceptForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        user = invitation_accept(user=user, password=form.cleaned_data["password1"])
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(f"{reverse('otp-setup')}?next={reverse('home')}")
    status = 400 if request.method == "POST" else 200
    return render(request, "registry/office/invitation_accept.html", {"form": form, "invited": user}, status=status)
