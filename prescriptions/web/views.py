"""Pages of the prescription workflow (server-rendered; htmx only for the live eligibility verdict).

Thin like the API (``prescriptions/api/views.py``) and calling the same code: a page parses its fields with the API's
input serializer, calls one service or selector, renders. Reads go through the selectors, so whatever lies
outside the user's scope is a 404; a role refusal is a 403 page saying why. A service's ``InvalidInput`` comes
back next to its field, a ``Conflict`` as an error of the whole form with its message and code.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework import serializers
from rest_framework.settings import api_settings
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.it import codicefiscale

from registry.access_log import access_log_record
from registry.calendar import rome_today
from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import AccessKind, Role
from registry.patient_identity import (
    identity_displayed,
    may_see_identity,
    patient_identity_record,
    patient_identity_reveal,
    patient_label,
    searches_by_identity,
)
from registry.permissions import PermissionDenied, actor_for, ensure_role, sees_patients
from registry.pseudonym import InvalidFiscalCode, validate_fiscal_code
from registry.selectors import centre_list

from .. import pagination, permissions, selectors, services
from ..api.eligibility_serializers import EligibilityCheckSerializer
from ..api.serializers import (
    DATE_OUT_OF_RANGE,
    AdministrationInputSerializer,
    AdverseEventInputSerializer,
    ConcomitantMedicationInputSerializer,
    DispensationInputSerializer,
    DispensingHoldSerializer,
    DispensingRefusalSerializer,
    LabResultInputSerializer,
    OutcomeInputSerializer,
    PrescriptionSubmitSerializer,
    StopInputSerializer,
)
from ..codes import BLOCKING_ALERTS, AlertCode, BaselineWarning
from ..course import workflow
from ..course.alerts import baseline_warnings, comedication_alert, lab_alert
from ..course.regimen import course_regimen
from ..course.workflow import FINAL_OUTCOME_DAY, LATE_REGISTRATION_DAYS, OUTCOME_DAYS
from ..eligibility import rendered_verdict, result_message
from ..models import Prescription, PrescriptionStatus
from ..services.corrections import CORRECTABLE, COUNTED
from ..stock.selectors import dispense_initial
from . import export, printing
from .forms import (
    IDENTITY_FORM_FIELDS,
    AdministerForm,
    AdverseEventForm,
    ConcomitantMedicationForm,
    DispenseForm,
    HoldForm,
    LabResultForm,
    OutcomeForm,
    PatientIdentityForm,
    PatientRevealForm,
    PrescriptionFilterForm,
    PrescriptionForm,
    QueueFilterForm,
    RefuseForm,
    ReleaseHoldForm,
    SerializerBackedForm,
    StopForm,
    filter_errors,
    refused_choices,
)

PAGE_SIZE = 25
# The doses due today, a page at a time: short enough to read on a phone on the ward.
ROUND_PAGE_SIZE = 25
# What the prescription page leads with: the day's work. The rarer actions (refuse, stop, adverse event, lab result,
# outcome) are one click away, folded in a <details>.
DUE_NOW_ACTIONS = (workflow.DISPENSE, workflow.ADMINISTER)
ALERT_TITLES = {
    AlertCode.MISSED_DOSE: gettext_lazy("Missed dose"),
    AlertCode.NEUTROPENIA: gettext_lazy("Neutropenia"),
    AlertCode.HEPATIC: gettext_lazy("Liver enzymes"),
    AlertCode.PROTOCOL_DEVIATION: gettext_lazy("Protocol deviation"),
    AlertCode.OUTCOME_OVERDUE: gettext_lazy("Outcome overdue"),
    AlertCode.COMEDICATION_IL_JAK: gettext_lazy("IL or JAK inhibitor: co-administration not allowed"),
    AlertCode.COMEDICATION_UNRECOGNISED: gettext_lazy("Medicine not in the catalogue"),
    AlertCode.SERIOUS_INFECTION: gettext_lazy("Serious infection"),
    BaselineWarning.ILLNESS_DAY_OUTSIDE_HYPERINFLAMMATORY_PHASE: gettext_lazy("Day of illness"),
    BaselineWarning.ACTIVE_SERIOUS_INFECTION: gettext_lazy("Active serious infection"),
}


# What an error report must never show of a form that carries the patient's identity.
IDENTITY_POST_FIELDS = (
    "fiscal_code",
    *IDENTITY_FORM_FIELDS,
    *(f"patient-{name}" for name in ("fiscal_code", *IDENTITY_FORM_FIELDS)),
)


# --- Errors as pages ---------------------------------------------------------------------------


def forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "prescriptions/forbidden.html", {"reason": reason}, status=403)


def page(view):
    """A page: sign-in required; PermissionDenied is a 403 page with its reason, NotFound a 404."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return forbidden(request, str(exc))
        except NotFound:
            raise Http404 from None

    return login_required(wrapper)


def _ensure_sees_patients(user) -> None:
    if actor_for(user).role == Role.NATIONAL:
        raise PermissionDenied(_("The national role sees aggregates only: see the monitoring reports."))
    if not sees_patients(user):
        raise PermissionDenied(_("Your account has no role in the registry yet: ask your regional officer."))


def _validation_errors(serializer) -> dict | None:
    """The serializer's errors, or None when the input is valid.

    DRF turns a naive moment into an aware one through UTC, which overflows at the calendar's edge
    ("0001-01-01T00:00"): wrong input, never a 500 (as ``prescriptions.api.views._valid``).
    """
    try:
        if serializer.is_valid():
            return None
    except OverflowError:
        return {api_settings.NON_FIELD_ERRORS_KEY: [str(DATE_OUT_OF_RANGE)]}
    return serializer.errors


# --- List ------------------------------------------------------------------------------------------


@page
@require_GET
def prescription_list(request):
    """Prescriptions at the user's centres, filtered and paginated."""
    form, filters, prescriptions = _listed(request)
    descending = filters.get("sort") != "oldest"
    deep = None if form.errors else _deep_page_redirect(prescriptions, request, descending=descending)
    if deep:
        return deep
    window = _window(prescriptions, request, descending=descending)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("cursor", None)
    return render(
        request,
        "prescriptions/list.html",
        {
            "form": form,
            "page_obj": window,
            "query": query.urlencode(),
            "filtered": bool(query),
            "filter_errors": filter_errors(form),
        },
        status=400 if refused_choices(form) else 200,
    )


def _listed(request) -> tuple[PrescriptionFilterForm, dict, object]:
    """The list's filter form, the valid filters and the scoped prescriptions they select (the page and its CSV)."""
    _ensure_sees_patients(request.user)
    form = PrescriptionFilterForm(
        request.GET or None,
        centres=centre_list(user=request.user),
        statuses=PrescriptionStatus.choices,
        by_identity=searches_by_identity(request.user),
    )
    filters = form.filters() if form.is_bound else {}
    try:
        prescriptions = selectors.prescription_list(user=request.user, filters=filters)
    except InvalidInput as exc:
        for message in exc.errors.get("q", []):
            form.add_error("q", message)
        filters.pop("q", None)
        prescriptions = selectors.prescription_list(user=request.user, filters=filters)
    return form, filters, prescriptions


@page
@require_GET
def prescription_list_export(request):
    """What the list shows with the same filters, as a streamed CSV (identity only where the page shows it)."""
    form, _filters, prescriptions = _listed(request)
    if form.errors:
        return _bad_filters_csv(form)
    return export.csv_response(request, prescriptions, name=_("prescriptions"))


def _bad_filters_csv(form) -> HttpResponse:
    """A CSV asked for with a filter value its list does not take: 400 with the reason, never the unfiltered list."""
    lines = [_("The file was not made: a filter has a value it does not take."), *filter_errors(form)]
    return HttpResponse("\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8")


def _deep_page_redirect(queryset, request, *, descending: bool = True) -> HttpResponse | None:
    """A ``?page=N`` past the first pages: a redirect to the same page by its cursor (no OFFSET over whole rows);
    ``None`` for a shallow page, a cursor, or a page past the end (``_window`` shows the first)."""
    if request.GET.get("cursor"):
        return None
    try:
        number = int(request.GET.get("page") or 1)
    except ValueError:
        return None
    if number <= pagination.OFFSET_PAGES_UP_TO:
        return None
    try:
        cursor = pagination.cursor_of_page(queryset, number, size=PAGE_SIZE, descending=descending)
    except pagination.PageNotFound:
        return None
    query = request.GET.copy()
    query.pop("page")
    query["cursor"] = cursor
    return redirect(f"{request.path}?{query.urlencode()}")


def _window(queryset, request, *, descending: bool = True) -> pagination.Window:
    """A page of a long list (prescriptions.pagination): by the ``cursor`` of a next/previous link, else by
    ``page``; a page past the end or a cursor from elsewhere shows the first page."""
    try:
        return pagination.paginate(
            queryset,
            page=request.GET.get("page"),
            cursor=request.GET.get("cursor"),
            size=PAGE_SIZE,
            descending=descending,
        )
    except (pagination.PageNotFound, pagination.BadCursor):
        return pagination.paginate(queryset, size=PAGE_SIZE, descending=descending)


# --- New prescription --------------------------------------------------------------------------


def _prescribing_centres(user) -> list:
    """The centres offered: where ``user`` may prescribe today or on a day a late registration may be dated."""
    ensure_role(user, Role.PRESCRIBER)
    centres = list(selectors.centres_for_submission(user=user, today=rome_today()))
    if not centres:
        raise PermissionDenied(
            _("You held no authorisation at a designated centre in the last %(days)d days: you cannot prescribe.")
            % {"days": LATE_REGISTRATION_DAYS}
        )
    return centres


def _render_new(request, form: PrescriptionForm, status: int = 200) -> HttpResponse:
    return render(request, "prescriptions/new.html", {"form": form}, status=status)


@page
@sensitive_post_parameters(*IDENTITY_POST_FIELDS)
@require_http_methods(["GET", "POST"])
def prescription_new(request):
    """The prescriber's request: the engine judges it; eligible awaits dispensing, refused is kept as rejected."""
    centres = _prescribing_centres(request.user)
    if request.method == "GET":
        if not actor_for(request.user).prescribing.centre_ids(rome_today()):
            # Offered for a late registration only: said before a long form is filled in, not after.
            messages.warning(
                request,
                _(
                    "You are not authorised to prescribe today at any centre: only a late registration, dated on a "
                    "day you were, can be submitted."
                ),
            )
        return _render_new(request, PrescriptionForm(centres=centres))

    form = PrescriptionForm(request.POST, centres=centres)
    serializer = PrescriptionSubmitSerializer(data=form.payload())
    errors = _validation_errors(serializer)
    valid = errors is None
    if not valid:
        form.add_errors(errors)
        # The fiscal code is checked by the service, after the fields: say what is wrong with it now, with the rest.
        if not form.has_error("fiscal_code") and (fiscal_code_error := _fiscal_code_error(form)):
            form.add_error("fiscal_code", fiscal_code_error)
    for name in form.missing_names():
        if not form.has_error(name):
            form.add_error(name, _("Give the patient's family and given name: the ward tells patients apart by them."))
        valid = False
    chosen = form.chosen_centre()
    if chosen is None and not form.has_error("centre"):
        form.add_error("centre", _("Choose one of the centres where you may prescribe."))
    if not valid or chosen is None:
        return _render_new(request, form)
    try:
        # The API's service: the same checks, on the prescription's own day, at the centre chosen among those offered.
        prescription = services.prescription_submit_request(
            prescriber=request.user, data=serializer.validated_data, centre=chosen
        ).prescription
    except InvalidInput as exc:
        form.add_errors(exc.errors)
    except Conflict as exc:
        form.add_conflict(exc)
    except PermissionDenied as exc:
        # A refusal of this submission (not of the page): the form comes back, filled in, saying why.
        form.add_error(None, str(exc))
    else:
        if prescription.eligible:
            messages.success(
                request, _("Prescription registered: the patient is eligible and the request awaits dispensing.")
            )
        else:
            reasons = "; ".join(
                result_message(result) for result in prescription.eligibility["results"] if result["outcome"] == "fail"
            )
            messages.warning(
                request,
                _("The patient is not eligible: the request is kept as rejected, for the monitoring. Reasons: %s")
                % reasons,
            )
        if not permissions.may_read(request.user, prescription):
            # A late registration by a prescriber no longer authorised today: registered, but not theirs to read.
            return redirect("prescriptions:list")
        return redirect("prescriptions:detail", prescription_id=prescription.pk)
    return _render_new(request, form)


@page
@require_POST
def prescription_check(request):
    """The live verdict (htmx partial): every criterion's outcome, or what is still missing. Nothing stored."""
    ensure_role(request.user, Role.PRESCRIBER)
    form = PrescriptionForm(request.POST, centres=_prescribing_centres(request.user))
    now = timezone.now()
    fiscal_code_error = _fiscal_code_error(form)
    # The submission's own checks too (submission_blockers), once the fiscal code is right and a centre chosen:
    # "eligible" must not turn into a refused submission. A code still being typed is shown apart, above.
    payload = form.check_payload(
        with_fiscal_code=bool(form.raw("fiscal_code")) and fiscal_code_error is None, with_centre=True
    )
    serializer = EligibilityCheckSerializer(data=payload, context={"now": now})
    context: dict = {"missing": [], "invalid": [], "fiscal_code_error": fiscal_code_error}
    if (errors := _validation_errors(serializer)) is not None:
        context["missing"], context["invalid"] = form.missing_and_invalid(errors)
    else:
        try:
            if form.raw("prescribed_at"):
                # A late registration's own limits (the check dates the assessment at it): said now, not at submit.
                services.check_prescribed_at(serializer.validated_data["assessed_at"], now=now)
            context["verdict"] = services.eligibility_check_answer(
                user=request.user,
                data=serializer.validated_data,
                now=now,
                blockers=form.chosen_centre() is not None,
            )
        except InvalidInput as exc:
            context["invalid"] = form.missing_and_invalid(exc.errors)[1]
        else:
            context["blockers"] = _with_page_links(context["verdict"].get("submission_blockers", ()))
    return render(request, "prescriptions/_check.html", context)


def _with_page_links(blockers) -> list[dict]:
    """The blockers for the page: the prescription in the way as a link to its page (never its id as text)."""
    return [
        {
            **blocker,
            "url": reverse("prescriptions:detail", kwargs={"prescription_id": blocker["prescription"]})
            if blocker.get("prescription")
            else None,
        }
        for blocker in blockers
    ]


def _fiscal_code_error(form: PrescriptionForm) -> str | None:
    """What is wrong with the fiscal code typed so far, for the live verdict (which asks for the submission's own
    checks only once the code is right): its format and check character at once, its birth date and sex once those
    are given."""
    code = form.raw("fiscal_code")
    if not code:
        return None
    try:
        birth_date = date.fromisoformat(form.raw("birth_date") or "")
    except ValueError:
        birth_date = None
    sex = form.raw("sex")
    if birth_date is None or sex not in ("M", "F"):
        try:
            number = codicefiscale.validate(code)
        except StdnumValidationError:
            number = None
        if number is not None and len(number) == 16:
            return None  # well formed: compared with the birth date and sex once they are given
        birth_date, sex = date(2000, 1, 1), "M"  # the format fails first: these are never compared
    try:
        validate_fiscal_code(code, birth_date=birth_date, sex=sex)
    except InvalidFiscalCode as exc:
        return str(exc)
    return None


# --- The prescription and its actions ----------------------------------------------------------


@dataclass(frozen=True)
class PageAction:
    """One action form of the prescription page, validated by the API's serializer for that action."""

    name: str
    title: str
    button: str
    form_class: type[SerializerBackedForm]
    serializer_class: type[serializers.Serializer]
    perform: Callable[[HttpRequest, Prescription, dict], None]
    initial: Callable[[Prescription], dict] = lambda prescription: {}
    danger: bool = False
    # An irreversible action: the name of the box the user must tick to confirm it (the page says why).
    confirm: str | None = None


def _dispense(request, prescription, data):
    dispensation = services.dispensation_record(pharmacist=request.user, prescription=prescription, **data)
    messages.success(
        request,
        ngettext(
            "%(n)d syringe dispensed (lot %(lot)s).", "%(n)d syringes dispensed (lot %(lot)s).", dispensation.syringes
        )
        % {"n": dispensation.syringes, "lot": dispensation.lot_number},
    )


def _refuse(request, prescription, data):
    services.dispensing_refuse(
        pharmacist=request.user, prescription=prescription, category=data["category"], note=data["note"]
    )
    messages.success(request, _("Dispensing refused: the prescription is cancelled."))


def _hold(request, prescription, data):
    prescription = services.dispensing_hold(pharmacist=request.user, prescription=prescription, **data)
    messages.success(request, _("The request is on hold: the prescriber is told."))


def _release_hold(request, prescription, data):
    services.dispensing_hold_release(pharmacist=request.user, prescription=prescription)
    messages.success(request, _("The hold is released: the request waits to be dispensed."))


def _hold_initial(prescription) -> dict:
    if prescription.hold_since is None:
        return {}
    return {
        "reason": prescription.hold_reason,
        "expected_on": prescription.hold_expected_on.isoformat() if prescription.hold_expected_on else "",
        "note": prescription.hold_note,
    }


def _administer(request, prescription, data):
    administration = services.administration_record(user=request.user, prescription=prescription, **data)
    _dose_messages(request, administration)


def _dose_messages(request, administration) -> None:
    messages.success(
        request,
        _("Dose recorded for %(patient)s: %(dose)s mg %(route)s, day %(day)d of the course.")
        % {
            "patient": patient_label(user=request.user, prescription=administration.prescription),
            "dose": number_format(_plain(administration.dose_mg)),
            "route": administration.route,
            "day": administration.course_day,
        },
    )
    if administration.protocol_deviation:
        messages.warning(
            request,
            _(
                "This dose is not the prescribed regimen's on a day of its schedule: it is recorded and flagged "
                "as a protocol deviation."
            ),
        )
    if administration.prescription.status == PrescriptionStatus.COMPLETED:
        messages.success(request, _("The last dose is recorded: the course is complete."))


def _stop(request, prescription, data):
    prescription = services.prescription_stop(prescriber=request.user, prescription=prescription, **data)
    messages.success(
        request,
        _("The course is ended: the prescription is now %(status)s.") % {"status": prescription.get_status_display()},
    )


def _adverse_event(request, prescription, data):
    services.adverse_event_record(user=request.user, prescription=prescription, **data)
    messages.success(request, _("Adverse event recorded."))


def _lab_result(request, prescription, data):
    result = services.lab_result_record(user=request.user, prescription=prescription, **data)
    messages.success(request, _("Lab result recorded."))
    if (alert := lab_alert(result)) is not None:
        # As grave as the alert: a blocking one (neutropenia) is an error, in red like the alert on the page.
        (messages.error if alert.code in BLOCKING_ALERTS else messages.warning)(request, alert.message)


def _outcome(request, prescription, data):
    outcome = services.outcome_record(prescriber=request.user, prescription=prescription, **data)
    messages.success(request, _("WHO-CPS at day %(day)d recorded.") % {"day": outcome.day})


def _comedication(request, prescription, data):
    record = services.concomitant_medication_record(user=request.user, prescription=prescription, **data)
    messages.success(request, _("Medicine recorded: %(name)s.") % {"name": record.name or record.atc_code})
    if (alert := comedication_alert(record)) is not None:
        if alert.code in BLOCKING_ALERTS:
            messages.error(request, alert.message)
        else:
            messages.warning(request, alert.message)


def _outcome_initial(prescription) -> dict:
    recorded = {o.day for o in prescription.outcomes.all() if o.entered_in_error_at is None}
    return {"day": next((day for day in OUTCOME_DAYS if day not in recorded), FINAL_OUTCOME_DAY)}


ACTIONS: dict[str, PageAction] = {
    action.name: action
    for action in (
        PageAction(
            workflow.DISPENSE,
            gettext_lazy("Dispense"),
            gettext_lazy("Dispense"),
            DispenseForm,
            DispensationInputSerializer,
            _dispense,
            initial=lambda p: {"syringes": workflow.max_syringes(p) - p.syringes_dispensed, **dispense_initial(p)},
        ),
        PageAction(
            workflow.HOLD,
            gettext_lazy("Put on hold"),
            gettext_lazy("Put on hold"),
            HoldForm,
            DispensingHoldSerializer,
            _hold,
            initial=_hold_initial,
        ),
        PageAction(
            workflow.RELEASE_HOLD,
            gettext_lazy("Release the hold"),
            gettext_lazy("Release the hold"),
            ReleaseHoldForm,
            serializers.Serializer,
            _release_hold,
        ),
        PageAction(
            workflow.REFUSE,
            gettext_lazy("Refuse to dispense"),
            gettext_lazy("Refuse for good"),
            RefuseForm,
            DispensingRefusalSerializer,
            _refuse,
            danger=True,
            confirm="confirm",
        ),
        PageAction(
            workflow.ADMINISTER,
            gettext_lazy("Record a dose"),
            gettext_lazy("Record the dose"),
            AdministerForm,
            AdministrationInputSerializer,
            _administer,
            initial=lambda p: {
                "dose_mg": course_regimen(p).dose_mg,
                "route": course_regimen(p).route,
                "blocking": _blocking_titles(p),
            },
            confirm="confirm_alerts",  # only with a blocking alert open (AdministerForm)
        ),
        PageAction(
            workflow.STOP,
            gettext_lazy("Stop the course"),
            gettext_lazy("Stop"),
            StopForm,
            StopInputSerializer,
            _stop,
            danger=True,
            confirm="confirm",
        ),
        PageAction(
            workflow.ADVERSE_EVENT,
            gettext_lazy("Adverse event"),
            gettext_lazy("Record the adverse event"),
            AdverseEventForm,
            AdverseEventInputSerializer,
            _adverse_event,
        ),
        PageAction(
            workflow.LAB_RESULT,
            gettext_lazy("Lab result"),
            gettext_lazy("Record the result"),
            LabResultForm,
            LabResultInputSerializer,
            _lab_result,
        ),
        PageAction(
            workflow.OUTCOME,
            gettext_lazy("Outcome (WHO-CPS)"),
            gettext_lazy("Record the outcome"),
            OutcomeForm,
            OutcomeInputSerializer,
            _outcome,
            initial=_outcome_initial,
        ),
        PageAction(
            workflow.COMEDICATION,
            gettext_lazy("Medicine started during the course"),
            gettext_lazy("Record the medicine"),
            ConcomitantMedicationForm,
            ConcomitantMedicationInputSerializer,
            _comedication,
        ),
    )
}


def _render_detail(
    request,
    prescription_id,
    *,
    bound: tuple[str, SerializerBackedForm] | None = None,
    extra: dict | None = None,
    status: int = 200,
):
    """The prescription page; ``extra``: the banner's forms given back with their errors, or a revealed identity."""
    prescription = selectors.prescription_view(user=request.user, prescription_id=prescription_id)
    if prescription is None:
        raise Http404
    access_log_record(user=request.user, obj=prescription, kind=AccessKind.PRESCRIPTION_PAGE)
    names = list(prescription.allowed_actions)
    if bound is not None and bound[0] not in names:
        # A refused action stays on the page, with its error, even if the state no longer allows it.
        names.append(bound[0])
    action_forms = []
    outcome_due = any(alert.code == AlertCode.OUTCOME_OVERDUE for alert in prescription.alerts)
    for name in ACTIONS:
        if name not in names:
            continue
        action = ACTIONS[name]
        if bound is not None and bound[0] == name:
            form = bound[1]
        else:
            form = action.form_class(prefix=name, initial=action.initial(prescription))
        url = reverse(f"prescriptions:{name}", kwargs={"prescription_id": prescription.pk})
        due = name in DUE_NOW_ACTIONS or (name == workflow.OUTCOME and outcome_due)
        action_forms.append(
            {
                "action": action,
                "form": form,
                "url": url,
                "due": due,
                # A rarer action is folded away (one click to open), unless it comes back with its errors.
                "open": due or (bound is not None and bound[0] == name),
            }
        )
    context = {
        "prescription": prescription,
        # The verdict as stored at submission, its messages rendered now in the reader's language.
        "verdict": rendered_verdict(prescription.eligibility),
        "patient_pseudonym": prescription.patient.pseudonym[:12],
        # The blocking alerts first: on a phone the first screen ends after one or two.
        "alerts": sorted(_alert_rows(prescription.alerts), key=lambda alert: not alert["blocking"]),
        "baseline_warnings": [
            {"code": warning.code, "title": ALERT_TITLES.get(warning.code, warning.code), "message": warning.message}
            for warning in baseline_warnings(prescription)
        ],
        "action_forms": action_forms,
        "due_forms": [item for item in action_forms if item["due"]],
        "other_forms": [item for item in action_forms if not item["due"]],
        # A request refused (not eligible, or cancelled before any dose) never had a course: no grid to show.
        "has_course": prescription.first_dose_on is not None
        or prescription.status not in (PrescriptionStatus.REJECTED, PrescriptionStatus.CANCELLED),
        "lab_results": [_lab_row(result) for result in prescription.lab_results.all()],
        "correctable": _correctable_kinds(request.user, prescription),
        "dose_given_today": any(cell.get("today") and cell["state"] == "given" for cell in prescription.course),
        "today": rome_today(),
        **(extra or {}),
    }
    return render(request, "prescriptions/detail.html", context, status=status)


def _correctable_kinds(user, prescription) -> dict[str, bool]:
    """Which kinds of record ``user`` may mark entered in error here (whoever records a kind corrects it); doses
    and dispensations of a course that ended early stay as they were."""
    may_act: dict[str, bool] = {}
    kinds = {}
    for kind, action in permissions.CORRECTED_AS.items():
        if action not in may_act:
            may_act[action] = permissions.may(user, prescription, action)
        frozen = kind in COUNTED and prescription.status in workflow.COUNTS_FROZEN
        kinds[kind] = may_act[action] and not frozen
    return kinds


def _lab_row(result) -> dict:
    alert = lab_alert(result)
    return {
        "result": result,
        # 1.200 is shown as 1.2 (1,2 in Italian): the value as measured, not the column's precision.
        "value": number_format(_plain(result.value)),
        "upper_limit_normal": number_format(_plain(result.upper_limit_normal)) if result.upper_limit_normal else "",
        "alert": alert,
        "alert_title": ALERT_TITLES.get(alert.code, alert.code) if alert else "",
    }


def _plain(value) -> Decimal:
    """``Decimal("1.200")`` -> ``1.2``, ``Decimal("40.000")`` -> ``40`` (never ``4E+1``)."""
    return Decimal(format(Decimal(value).normalize(), "f"))


@page
@require_GET
def prescription_detail(request, prescription_id):
    return _render_detail(request, prescription_id)


def action_view(name: str):
    """The POST view of one action: 404 outside scope, 403 for the wrong role, errors back on the page."""
    action = ACTIONS[name]

    @page
    @require_POST
    def view(request, prescription_id):
        prescription = services.prescription_for(user=request.user, prescription_id=prescription_id)
        permissions.ensure_may(request.user, prescription, name)
        form = action.form_class(request.POST, prefix=name, initial=action.initial(prescription))
        serializer = action.serializer_class(data=form.payload())
        if (errors := _validation_errors(serializer)) is not None:
            form.add_errors(errors)
        elif action.confirm in form.fields and not form.raw(action.confirm):
            form.add_error(action.confirm, _("Tick this box to confirm."))
        else:
            try:
                action.perform(request, prescription, serializer.validated_data)
            except InvalidInput as exc:
                form.add_errors(exc.errors)
            except Conflict as exc:
                form.add_conflict(exc)
            else:
                return redirect("prescriptions:detail", prescription_id=prescription.pk)
        return _render_detail(request, prescription_id, bound=(name, form))

    view.__name__ = view.__qualname__ = f"prescription_{name}"
    return view


# --- Printable forms ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Paper:
    """A printable paper of the prescription (prescriptions/web/printing.py), downloaded as a PDF."""

    render: Callable[..., bytes]
    kind: AccessKind
    filename: str


PAPERS = {
    # The request form (scheda di richiesta), to print, sign and file.
    "form": Paper(printing.prescription_form, AccessKind.PRESCRIPTION_FORM_PDF, "scheda-richiesta"),
    # Every dispensation and the syringes against the course's maximum.
    "dispensing": Paper(printing.dispensing_record, AccessKind.DISPENSING_RECORD_PDF, "registro-dispensazione"),
}


def paper_view(name: str):
    """The download of one paper: the detail page's scope (404 outside it) and its access-log entry."""
    paper = PAPERS[name]

    @page
    @require_GET
    def view(request, prescription_id):
        prescription = selectors.prescription_detail(user=request.user, prescription_id=prescription_id)
        if prescription is None:
            raise Http404
        access_log_record(user=request.user, obj=prescription, kind=paper.kind)
        response = HttpResponse(paper.render(prescription, user=request.user), content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{paper.filename}-{str(prescription.pk)[:8]}.pdf"
        )
        response["Cache-Control"] = "private, no-store"
        return response

    view.__name__ = view.__qualname__ = f"prescription_{name}_pdf"
    return view


# --- The patient's identity ------------------------------------------------------------------------


@page
@sensitive_post_parameters(*IDENTITY_POST_FIELDS)
@require_POST
def patient_identity(request, prescription_id):
    """The centre's staff record the identity of the prescription's patient (one registered before it was kept)."""
    prescription = services.prescription_for(user=request.user, prescription_id=prescription_id)
    form = PatientIdentityForm(request.POST, prefix="patient")
    try:
        patient_identity_record(
            actor=request.user,
            prescription=prescription,
            **{name: form.raw(name) for name in ("fiscal_code", *IDENTITY_FORM_FIELDS)},
        )
    except InvalidInput as exc:
        form.add_errors(exc.errors)
        return _render_detail(request, prescription_id, extra={"identity_form": form}, status=400)
    messages.success(request, _("The patient's identity is recorded."))
    return redirect("prescriptions:detail", prescription_id=prescription.pk)


@page
@require_POST
def patient_reveal(request, prescription_id):
    """A regional officer reads the identity, giving a reason: shown on this response only, audited and logged."""
    prescription = services.prescription_for(user=request.user, prescription_id=prescription_id)
    form = PatientRevealForm(request.POST, prefix="reveal")
    try:
        revealed = patient_identity_reveal(user=request.user, prescription=prescription, reason=form.raw("reason"))
    except InvalidInput as exc:
        form.add_errors(exc.errors)
        return _render_detail(request, prescription_id, extra={"reveal_form": form}, status=400)
    name = " ".join(part for part in ((revealed["family_name"] or "").upper(), revealed["given_name"] or "") if part)
    return _render_detail(request, prescription_id, extra={"revealed_identity": revealed, "revealed_name": name})


# --- Work lists ------------------------------------------------------------------------------------


# The queue's "on hold" filter: its values in the URL.
HOLD_FILTERS = {"yes": True, "no": False}


def _hold_filter(request) -> tuple[QueueFilterForm, str, bool | None]:
    """The queue's filter form, the valid ``hold`` value ("" when none or refused) and what it selects."""
    form = QueueFilterForm(request.GET)
    value = form.cleaned_data["hold"] if form.is_valid() else ""
    return form, value, HOLD_FILTERS.get(value)


@page
@require_GET
def dispensing_queue(request):
    """The pharmacist's queue: prescriptions of the centres their pharmacy serves still waiting for syringes, each
    with its patient (as the pharmacist may see them), how long it has waited and its hold; ``?hold=yes|no``."""
    permissions.ensure_may_work_on(request.user, workflow.DISPENSE)
    form, hold, on_hold = _hold_filter(request)
    queue = selectors.dispensing_queue(user=request.user, on_hold=on_hold)
    deep = None if form.errors else _deep_page_redirect(queue, request, descending=False)
    if deep:
        return deep
    window = _window(queue, request, descending=False)
    return render(
        request,
        "prescriptions/dispensing_queue.html",
        {
            "prescriptions": window.rows,
            "page_obj": window,
            "query": f"hold={hold}" if hold else "",
            "hold": hold,
            "now": timezone.now(),
            "filter_errors": filter_errors(form),
        },
        status=400 if refused_choices(form) else 200,
    )


@page
@require_GET
def dispensing_queue_csv(request):
    """The queue as CSV (the page's filter applied), streamed: whatever the pharmacist's scope holds, the patient as
    they may see them (each identity shown written to the read-access log once the file is sent)."""
    permissions.ensure_may_work_on(request.user, workflow.DISPENSE)
    form, _hold, on_hold = _hold_filter(request)
    if form.errors:
        return _bad_filters_csv(form)
    queue = selectors.dispensing_queue(user=request.user, on_hold=on_hold)
    now = timezone.now()
    header = [
        _("Prescription"),
        _("Patient"),
        _("Centre"),
        _("Prescriber"),
        _("Prescribed at"),
        _("Registered at"),
        _("Hours waiting"),
        _("Status"),
        _("Syringes dispensed"),
        _("Syringes of the course"),
        _("On hold since"),
        _("Why on hold"),
        _("Expected on"),
        _("Hold note"),
    ]

    moment = export.moment

    def rows():
        for prescription in queue.iterator(chunk_size=500):
            yield [
                str(prescription.pk),
                patient_label(user=request.user, prescription=prescription),
                prescription.centre.name,
                prescription.prescriber.get_full_name() or prescription.prescriber.get_username(),
                moment(prescription.prescribed_at),
                moment(prescription.registered_at),
                int((now - prescription.registered_at).total_seconds() // 3600),
                prescription.get_status_display(),
                prescription.syringes_dispensed,
                course_regimen(prescription).doses,
                moment(prescription.hold_since),
                prescription.get_hold_reason_display() if prescription.hold_since else "",
                date_format(prescription.hold_expected_on, "SHORT_DATE_FORMAT")
                if prescription.hold_expected_on
                else "",
                prescription.hold_note,
            ]
            if may_see_identity(request.user, prescription):
                identity_displayed(request, prescription)

    # Written as the prescription list's CSV (export.stream_csv): ";" between fields, the reader's dates.
    filename = f"{_('dispensing-queue')}-{rome_today().isoformat()}.csv"
    return export.stream_csv(request, header, rows(), filename=filename)


def _blocking_titles(prescription) -> list:
    """The titles of the course's open blocking alerts: from the detail's ``alerts``, else read for it now."""
    alerts = getattr(prescription, "alerts", None)
    if alerts is None:
        alerts = selectors.alerts_of(prescription, today=rome_today())
    return [item["title"] for item in _blocking(alerts)]


def _blocking(alerts) -> list[dict]:
    return [
        {"code": alert.code, "title": ALERT_TITLES.get(alert.code, alert.code), "message": alert.message}
        for alert in alerts
        if alert.code in BLOCKING_ALERTS
    ]


def _alert_rows(alerts) -> list[dict]:
    return [
        {
            "code": alert.code,
            "title": ALERT_TITLES.get(alert.code, alert.code),
            "message": alert.message,
            "on": alert.on,
            "blocking": alert.code in BLOCKING_ALERTS,
        }
        for alert in alerts
    ]


@page
@require_GET
def doses_due(request):
    """Today's round at the user's centres: each patient with the course's open alerts; a dose is recorded after
    a confirmation naming the patient, and taken back within minutes by whoever recorded it. A course with a
    blocking alert offers its page, not the dose."""
    permissions.ensure_may_work_on(request.user, workflow.ADMINISTER)
    today = rome_today()
    # Pages by number (the round is a few hundred courses at most, ordered by centre): a dose recorded or taken
    # back returns to the page it was asked from, and a page the round has emptied shows the last one.
    due = selectors.with_course_records(selectors.doses_due(user=request.user, day=today))
    page_obj = Paginator(due, ROUND_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    # Who may record a dose depends on the centre, not the course: asked once per centre.
    may_record_at: dict = {}
    for prescription in page_obj.object_list:
        if prescription.centre_id not in may_record_at:
            may_record_at[prescription.centre_id] = permissions.may(request.user, prescription, workflow.ADMINISTER)
        alerts = selectors.alerts_of(prescription, today=today)
        rows.append(
            {
                "prescription": prescription,
                "course_day": (today - prescription.first_dose_on).days + 1 if prescription.first_dose_on else 1,
                "course_doses": course_regimen(prescription).doses,
                "alerts": _alert_rows(alerts),
                "blocked": any(alert.code in BLOCKING_ALERTS for alert in alerts),
                "may_record": prescription.syringes_left > 0 and may_record_at[prescription.centre_id],
            }
        )
    since = timezone.now() - timedelta(minutes=workflow.TAKE_BACK_MINUTES)
    recent = [
        {"administration": administration, "prescription": administration.prescription}
        for administration in selectors.doses_recorded_since(user=request.user, since=since, day=today)
    ]
    return render(
        request,
        "prescriptions/doses_due.html",
        {
            "rows": rows,
            "page_obj": page_obj,
            "today": today,
            "recent": recent,
            "take_back_minutes": workflow.TAKE_BACK_MINUTES,
        },
    )


def _next_url(request, default: str) -> str:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return default
    return next_url


@page
@require_http_methods(["GET", "POST"])
def administer_now(request, prescription_id):
    """The round's dose (the course's regimen: 100 mg SC) now: a page naming the patient and the dose asks for
    confirmation (no script needed); the confirmed POST records it. Refused for a course with a blocking alert: its
    page is the way."""
    prescription = services.prescription_for(user=request.user, prescription_id=prescription_id)
    permissions.ensure_may(request.user, prescription, workflow.ADMINISTER)
    round_url = reverse("prescriptions:doses_due")
    next_url = _next_url(request, round_url)
    # What the dose would be refused for (the course stopped, today's dose recorded…) is said at once, naming the
    # patient: not after a confirmation, and before any alert of a course that takes no dose anyway.
    refusal = services.administration_refusal(prescription, day=rome_today())
    if refusal is not None:
        messages.error(request, _patient_says(request, prescription, refusal.detail))
        return redirect(next_url)
    detail = selectors.prescription_view(user=request.user, prescription_id=prescription.pk)
    blocking = _blocking(detail.alerts)
    if blocking:
        messages.error(
            request,
            _("%(patient)s: %(alert)s. No dose from the round: review the course on its page first.")
            % {"patient": patient_label(user=request.user, prescription=detail), "alert": blocking[0]["title"]},
        )
        return redirect("prescriptions:detail", prescription_id=prescription.pk)
    if request.method == "GET" or request.POST.get("confirmed") != "yes":
        today = rome_today()
        return render(
            request,
            "prescriptions/administer_now.html",
            {
                "prescription": detail,
                "dose_mg": course_regimen(detail).dose_mg,
                "route": course_regimen(detail).route,
                "course_day": (today - detail.first_dose_on).days + 1 if detail.first_dose_on else 1,
                "alerts": _alert_rows(detail.alerts),
                "next": next_url,
                "now": timezone.now(),
            },
        )
    try:
        administration = services.administration_record(
            user=request.user,
            prescription=prescription,
            administered_at=timezone.now(),
            dose_mg=course_regimen(prescription).dose_mg,
            route=course_regimen(prescription).route,
        )
    except Conflict as exc:
        messages.error(request, _patient_says(request, prescription, exc.detail))
    except InvalidInput as exc:
        messages.error(
            request, _patient_says(request, prescription, " ".join(m for msgs in exc.errors.values() for m in msgs))
        )
    else:
        _dose_messages(request, administration)
    return redirect(next_url)


def _patient_says(request, prescription, message: str) -> str:
    """A refusal of the round, naming its patient (the round is many patients; the message must say which)."""
    return _("%(patient)s: %(message)s") % {
        "patient": patient_label(user=request.user, prescription=prescription),
        "message": message,
    }


@page
@require_http_methods(["GET", "POST"])
def administration_take_back(request, prescription_id, administration_id):
    """Take back a dose just recorded on the round (whoever recorded it, within minutes): entered in error, after
    a confirmation naming the patient and the dose (no script needed); one that may not be taken back is refused
    before it."""
    prescription = services.prescription_for(user=request.user, prescription_id=prescription_id)
    permissions.ensure_may(request.user, prescription, workflow.ADMINISTER)
    next_url = _next_url(request, reverse("prescriptions:doses_due"))
    try:
        if request.method == "GET" or request.POST.get("confirmed") != "yes":
            administration = services.administration_to_take_back(
                user=request.user, prescription=prescription, administration_id=administration_id
            )
            return render(
                request,
                "prescriptions/take_back.html",
                {
                    "prescription": selectors.prescription_view(user=request.user, prescription_id=prescription.pk),
                    "administration": administration,
                    "next": next_url,
                },
            )
        services.administration_take_back(
            user=request.user, prescription=prescription, administration_id=administration_id
        )
    except Conflict as exc:
        messages.error(request, _patient_says(request, prescription, exc.detail))
    else:
        messages.success(
            request,
            _("Dose taken back for %(patient)s: it is kept as entered in error, and the course counts it no more.")
            % {"patient": patient_label(user=request.user, prescription=prescription)},
        )
    return redirect(next_url)


# --- Entered in error, from the prescription page ---------------------------------------------------------------

RECORD_KINDS = {
    "administration": gettext_lazy("Dose"),
    "dispensation": gettext_lazy("Dispensation"),
    "lab_result": gettext_lazy("Lab result"),
    "adverse_event": gettext_lazy("Adverse event"),
    "outcome": gettext_lazy("Outcome (WHO-CPS)"),
    "concomitant_medication": gettext_lazy("Medicine started during the course"),
}


def _record_summary(kind: str, record) -> str:
    """The record in one line, as its table on the prescription page shows it."""
    if kind == "administration":
        return _("Day %(day)d · %(dose)s mg %(route)s · %(at)s") % {
            "day": record.course_day,
            "dose": number_format(_plain(record.dose_mg)),
            "route": record.route,
            "at": date_format(timezone.localtime(record.administered_at), "SHORT_DATETIME_FORMAT"),
        }
    if kind == "dispensation":
        return ngettext(
            "%(n)d syringe · lot %(lot)s · %(at)s", "%(n)d syringes · lot %(lot)s · %(at)s", record.syringes
        ) % {
            "n": record.syringes,
            "lot": record.lot_number,
            "at": date_format(timezone.localtime(record.recorded_at), "SHORT_DATETIME_FORMAT"),
        }
    if kind == "lab_result":
        return f"{record.get_test_display()} {number_format(_plain(record.value))} · " + date_format(
            timezone.localtime(record.collected_at), "SHORT_DATETIME_FORMAT"
        )
    if kind == "adverse_event":
        return f"{record.get_category_display()} · {date_format(record.onset_date, 'SHORT_DATE_FORMAT')}"
    if kind == "outcome":
        return _("Day %(day)d: WHO-CPS %(score)d · %(on)s") % {
            "day": record.day,
            "score": record.who_cps,
            "on": date_format(record.assessed_on, "SHORT_DATE_FORMAT"),
        }
    return f"{record.name or record.atc_code} · {date_format(record.started_on, 'SHORT_DATE_FORMAT')}"


@page
@require_http_methods(["GET", "POST"])
def record_entered_in_error(request, prescription_id, kind, record_id):
    """Mark one record of the prescription as entered in error: the page names the patient and the record, asks
    for the reason and a confirmation; the record stays, struck through, for the audit."""
    if kind not in RECORD_KINDS:
        raise Http404
    prescription = services.prescription_for(user=request.user, prescription_id=prescription_id)
    permissions.ensure_may(request.user, prescription, permissions.CORRECTED_AS[kind])
    record = (
        CORRECTABLE[kind]
        .objects.filter(prescription=prescription, pk=record_id, entered_in_error_at__isnull=True)
        .first()
    )
    if record is None:
        raise Http404
    error = ""
    reason = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "").strip()
        try:
            services.record_mark_entered_in_error(
                user=request.user, prescription=prescription, kind=kind, record_id=record.pk, reason=reason
            )
        except InvalidInput as exc:
            error = " ".join(str(m) for msgs in exc.errors.values() for m in msgs)
        except Conflict as exc:
            error = exc.detail
        else:
            messages.success(
                request,
                _("%(kind)s marked as entered in error: %(record)s.")
                % {"kind": RECORD_KINDS[kind], "record": _record_summary(kind, record)},
            )
            return redirect("prescriptions:detail", prescription_id=prescription.pk)
    return render(
        request,
        "prescriptions/entered_in_error.html",
        {
            "prescription": prescription,
            "kind": kind,
            "kind_title": RECORD_KINDS[kind],
            "summary": _record_summary(kind, record),
            "reason": reason,
            "error": error,
        },
        status=400 if error else 200,
    )
