"""Pages of the quarterly transmission to AIFA: the quarters (the officer's list, AIFA's national board), one
quarter (what is incomplete, its signatures and signed files), and its actions — approve (the signature), reopen,
accept, return — each on its own confirmation page. Thin: every write is a ``reports.submissions`` service, the
same the API calls."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from registry.auth.lockout import lockout_response
from registry.auth.otp import has_second_factor
from registry.calendar import rome_today
from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import Region, Role
from registry.permissions import PermissionDenied, actor_for

from . import submissions
from .models import SubmissionStatus
from .permissions import file_audience
from .submissions import FIRST_YEAR, quarter_bounds, quarter_label
from .views import forbidden, page


def _current_quarter() -> tuple[int, int]:
    today = rome_today()
    return today.year, (today.month - 1) // 3 + 1


QUARTER_LETTER = pgettext_lazy("quarter of the year", "Q")  # "T" in Italian (trimestre), as quarter_label writes


class OpenQuarterForm(forms.Form):
    year = forms.TypedChoiceField(label=gettext_lazy("Year"), coerce=int)
    quarter = forms.TypedChoiceField(
        label=gettext_lazy("Quarter"),
        coerce=int,
        choices=[(q, format_lazy("{}{}", QUARTER_LETTER, q)) for q in range(1, 5)],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        year, quarter = _current_quarter()
        self.fields["year"].choices = [(y, str(y)) for y in range(year, FIRST_YEAR - 1, -1)]
        self.initial.setdefault("year", year)
        self.initial.setdefault("quarter", quarter)


@page
@require_http_methods(["GET", "POST"])
def quarters(request):
    """The officer: their region's quarters and the form opening one. AIFA and administrators: the national board,
    every Region × the quarters of a year, with each one's state and version."""
    actor = actor_for(request.user)
    if actor.role == Role.REGIONAL_OFFICER:
        return _officer_quarters(request, actor.region_id)
    return _board(request)


def _officer_quarters(request, region_id):
    form = OpenQuarterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            submission, _created = submissions.submission_open(
                user=request.user,
                region_code=region_id,
                year=form.cleaned_data["year"],
                quarter=form.cleaned_data["quarter"],
            )
        except InvalidInput as exc:
            for field, errors in exc.errors.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("reports:quarter", submission_id=submission.pk)
    rows = submissions.submission_list(user=request.user)
    context = {"form": form, "rows": rows, "region": Region.objects.get(pk=region_id), "nav_section": "quarters"}
    return render(request, "reports/submission_list.html", context, status=400 if form.errors else 200)


def _board(request):
    this_year, _quarter = _current_quarter()
    try:
        year = int(request.GET.get("year") or this_year)
    except ValueError:
        year = this_year
    year = min(max(year, FIRST_YEAR), this_year)
    by_key = {(s.region_id, s.quarter): s for s in submissions.submission_list(user=request.user, year=year)}
    today = rome_today()
    quarters_of_year = [q for q in range(1, 5) if quarter_bounds(year, q)[0] <= today]
    board = [
        {
            "region": region,
            "cells": [{"quarter": q, "submission": by_key.get((region.pk, q))} for q in quarters_of_year],
        }
        for region in Region.objects.order_by("code")
    ]
    context = {
        "board": board,
        "year": year,
        "years": list(range(this_year, FIRST_YEAR - 1, -1)),
        "quarters": quarters_of_year,
        "may_review": actor_for(request.user).role == Role.NATIONAL,
        "nav_section": "quarters",
    }
    return render(request, "reports/submission_board.html", context)


def _submission_or_404(user, submission_id):
    try:
        return submissions.submission_get(user=user, submission_id=submission_id)
    except NotFound:
        raise Http404 from None


def _may(user, submission) -> dict:
    actor = actor_for(user)
    officer = actor.role == Role.REGIONAL_OFFICER and actor.region_id == submission.region_id
    aifa = actor.role == Role.NATIONAL
    return {
        "approve": submissions.may_approve(user, submission),
        "reopen": officer and submission.status in (SubmissionStatus.APPROVED, SubmissionStatus.RETURNED),
        "accept": aifa and submission.status == SubmissionStatus.APPROVED,
        "return": aifa and submission.status == SubmissionStatus.APPROVED,
    }


def _takes_part(user, submission, name: str) -> bool:
    """Whether the action is the user's on this quarter in some state: the region's officer approves and reopens,
    AIFA accepts and returns."""
    actor = actor_for(user)
    if name in ("approve", "reopen"):
        return actor.role == Role.REGIONAL_OFFICER and actor.region_id == submission.region_id
    return actor.role == Role.NATIONAL


def _signed_files(user, submission) -> list[dict]:
    """The latest signature's files, in the form the user reads (AIFA: the national one)."""
    signature = submissions.submission_latest_signature(submission) if submission.version else None
    if signature is None:
        return []
    audience = file_audience(user, signature.run)
    return [
        {
            "format": report_file.format.upper(),
            "sha256": report_file.sha256,
            "url": reverse("api-report-file", kwargs={"run_id": signature.run_id, "fmt": report_file.format}),
        }
        for report_file in signature.run.files.all()
        if report_file.audience == audience
    ]


@page
@require_GET
def quarter(request, submission_id):
    submission = _submission_or_404(request.user, submission_id)
    context = {
        "submission": submission,
        "label": quarter_label(submission.year, submission.quarter),
        "period": quarter_bounds(submission.year, submission.quarter),
        "incomplete": submissions.submission_incomplete(submission),
        "signatures": submission.signatures.select_related("signer").order_by("-version"),
        "files": _signed_files(request.user, submission),
        "may": _may(request.user, submission),
        # The region's officer opens the prescriptions; AIFA reads aggregates only.
        "links": actor_for(request.user).role == Role.REGIONAL_OFFICER,
        "nav_section": "quarters",
    }
    return render(request, "reports/submission_detail.html", context)


# --- The actions, each on its confirmation page --------------------------------------------------------------


class ApproveForm(forms.Form):
    statement_accepted = forms.BooleanField(label=gettext_lazy("I accept the statement above"), required=False)
    # Only for a quarter still running (``running_until``): approving it locks the region's writes of today too.
    running_quarter_accepted = forms.BooleanField(required=False)
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp = forms.CharField(
        label=gettext_lazy("One-time code"),
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, running_until=None, **kwargs):
        super().__init__(*args, **kwargs)
        if running_until is None:
            del self.fields["running_quarter_accepted"]
        else:
            self.fields["running_quarter_accepted"].label = _(
                "The quarter runs until %(end)s: approving it now locks every write dated in it, today's doses "
                "included, for the whole region until it is reopened. I approve it anyway."
            ) % {"end": date_format(running_until, "SHORT_DATE_FORMAT")}

    def clean_running_quarter_accepted(self):
        if not self.cleaned_data["running_quarter_accepted"]:
            raise forms.ValidationError(_("Tick this box to confirm."))
        return True


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is the quarter reopened?"), widget=forms.Textarea(attrs={"rows": 3})
    )


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Comment for the region"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


ACTIONS = {
    "approve": (ApproveForm, gettext_lazy("Approve and sign"), gettext_lazy("Confirm: sign and approve")),
    "reopen": (ReasonForm, gettext_lazy("Reopen the quarter"), gettext_lazy("Confirm: reopen")),
    "accept": (CommentForm, gettext_lazy("Accept the quarter"), gettext_lazy("Confirm: accept")),
    "return": (CommentForm, gettext_lazy("Return the quarter to the region"), gettext_lazy("Confirm: return")),
}


def _perform(request, name, submission, data):
    if name == "approve":
        return submissions.submission_approve(
            user=request.user,
            submission_id=submission.pk,
            statement_accepted=data["statement_accepted"],
            password=data["password"],
            otp=data.get("otp") or "",
            http_request=request,
        )
    if name == "reopen":
        return submissions.submission_reopen(user=request.user, submission_id=submission.pk, reason=data["reason"])
    if name == "accept":
        return submissions.submission_accept(user=request.user, submission_id=submission.pk, comment=data["comment"])
    return submissions.submission_return(user=request.user, submission_id=submission.pk, comment=data["comment"])


DONE_MESSAGES = {
    "approve": gettext_lazy("Quarter approved and signed (version %(version)d): its data are locked."),
    "reopen": gettext_lazy("Quarter reopened: its data may be changed again; AIFA has been told."),
    "accept": gettext_lazy("Quarter accepted."),
    "return": gettext_lazy("Quarter returned to the region."),
}


def action_view(name: str):
    form_class, title, confirm = ACTIONS[name]

    @page
    @sensitive_post_parameters("password", "otp")
    @require_http_methods(["GET", "POST"])
    def view(request, submission_id):
        submission = _submission_or_404(request.user, submission_id)
        if not _may(request.user, submission)[name]:
            if _takes_part(request.user, submission, name):
                # Open to this user in another state (a second tab, the back button): back to the quarter, saying
                # where it stands, not a refusal as if the user had no say on it.
                messages.info(
                    request,
                    _("This quarter is already %(status)s (version %(version)d): nothing was done.")
                    % {"status": SubmissionStatus(submission.status).label, "version": submission.version},
                )
                return redirect("reports:quarter", submission_id=submission.pk)
            return forbidden(request, _("This action is not open to you on this quarter now."))
        extra = {}
        if name == "approve":
            extra["running_until"] = submissions.running_until(submission, today=rome_today())
        form = form_class(request.POST or None, **extra)
        status = 200
        if request.method == "POST" and form.is_valid():
            try:
                done = _perform(request, name, submission, form.cleaned_data)
            except submissions.SignerLockedOut:
                return lockout_response(request)
            except InvalidInput as exc:
                for field, errors in exc.errors.items():
                    form.add_error(field if field in form.fields else None, errors)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
                status = 403
            except Conflict as exc:
                form.add_error(None, exc.detail)
                status = 409
            else:
                messages.success(request, DONE_MESSAGES[name] % {"version": done.version})
                return redirect("reports:quarter", submission_id=submission.pk)
        if form.errors and status == 200:
            status = 400
        context = {
            "submission": submission,
            "label": quarter_label(submission.year, submission.quarter),
            "form": form,
            "name": name,
            "title": title,
            "confirm": confirm,
            "nav_section": "quarters",
        }
        if name == "approve":
            context["statement"] = submissions.approval_statement(
                signer=request.user, submission=submission, version=submission.version + 1
            )
            context["needs_code"] = has_second_factor(request.user)
            context["incomplete_count"] = len(submissions.submission_incomplete(submission))
        return render(request, "reports/submission_action.html", context, status=status)

    view.__name__ = view.__qualname__ = f"submission_{name}"
    return view
