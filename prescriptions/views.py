"""Pages of the prescription workflow (server-rendered; htmx only for the live eligibility verdict).

Thin like the API (``prescriptions/api.py``) and calling the same code: a page parses its fields with the API's
input serializer, calls one service or selector, renders. Reads go through the selectors, so whatever lies
outside the user's scope is a 404; a role refusal is a 403 page saying why. A service's ``InvalidInput`` comes
back next to its field, a ``Conflict`` as an error of the whole form with its message and code.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework import serializers
from rest_framework.settings import api_settings
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.it import codicefiscale

from registry.access_log import access_log_record
from registry.calendar import rome_date, rome_today
from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import AccessKind, Role
from registry.patient_identity import patient_identity_record, patient_identity_reveal, searches_by_identity
from registry.permissions import PermissionDenied, actor_for, ensure_role, sees_patients
from registry.pseudonym import InvalidFiscalCode, validate_fiscal_code
from registry.selectors import centre_list

from . import pagination, permissions, selectors, services, workflow
from .alerts import baseline_warnings, comedication_alert, lab_alert
from .assessment import to_assessment
from .codes import BLOCKING_ALERTS, AlertCode, BaselineWarning
from .eligibility import rendered_verdict, result_message
from .eligibility_serializers import EligibilityCheckSerializer
from .forms import (
    IDENTITY_FORM_FIELDS,
    AdministerForm,
    AdverseEventForm,
    ConcomitantMedicationForm,
    DispenseForm,
    LabResultForm,
    OutcomeForm,
    PatientIdentityForm,
    PatientRevealForm,
    PrescriptionFilterForm,
    PrescriptionForm,
    RefuseForm,
    SerializerBackedForm,
    StopForm,
)
from .models import (
    STANDARD_DOSE_MG,
    STANDARD_ROUTE,
    Prescription,
    PrescriptionStatus,
)
from .serializers import (
    DATE_OUT_OF_RANGE,
    AdministrationInputSerializer,
    AdverseEventInputSerializer,
    ConcomitantMedicationInputSerializer,
    DispensationInputSerializer,
    DispensingRefusalSerializer,
    LabResultInputSerializer,
    OutcomeInputSerializer,
    PrescriptionSubmitSerializer,
    StopInputSerializer,
)
from .workflow import FINAL_OUTCOME_DAY, LATE_REGISTRATION_DAYS, OUTCOME_DAYS

PAGE_SIZE = 25
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
    ("0001-01-01T00:00"): wrong input, never a 500 (as ``prescriptions.api._valid``).
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
    window = _window(prescriptions, request)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("cursor", None)
    return render(
        request,
        "prescriptions/list.html",
        {"form": form, "page_obj": window, "query": query.urlencode(), "filtered": bool(query)},
    )


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
    data = serializer.validated_data
    try:
        # The same centre and the same day as the API: the prescription's own date, not today.
        centre = selectors.submission_centre(
            user=request.user, centre_id=chosen.pk, day=rome_date(data["prescribed_at"] or timezone.now())
        )
        prescription = services.prescription_submit_validated(prescriber=request.user, centre=centre, data=data)
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
        if selectors.prescription_for_action(user=request.user, prescription_id=prescription.pk) is None:
            # A late registration by a prescriber no longer authorised today: registered, but not theirs to read.
            return redirect("prescriptions:list")
        return redirect("prescriptions:detail", prescription_id=prescription.pk)
    return _render_new(request, form)


@page
@require_POST
def prescription_check(request):
    """The live verdict (htmx partial): every criterion's outcome, or what is still missing. Nothing stored."""
    ensure_role(request.user, Role.PRESCRIBER)
    form = PrescriptionForm(request.POST)
    now = timezone.now()
    serializer = EligibilityCheckSerializer(data=form.check_payload(), context={"now": now})
    context: dict = {"missing": [], "invalid": [], "fiscal_code_error": _fiscal_code_error(form)}
    if (errors := _validation_errors(serializer)) is not None:
        context["missing"], context["invalid"] = form.missing_and_invalid(errors)
    else:
        try:
            verdict = services.evaluate_assessment(to_assessment(serializer.validated_data, default_assessed_at=now))
        except InvalidInput as exc:
            context["invalid"] = form.missing_and_invalid(exc.errors)[1]
        else:
            context["verdict"] = rendered_verdict(verdict.as_dict())
    return render(request, "prescriptions/_check.html", context)


def _fiscal_code_error(form: PrescriptionForm) -> str | None:
    """What is wrong with the fiscal code typed so far, for the live verdict (which does not send the code to the
    engine): its format and check character at once, its birth date and sex once those are given."""
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
    services.dispensing_refuse(pharmacist=request.user, prescription=prescription, reason=data["reason"])
    messages.success(request, _("Dispensing refused: the prescription is cancelled."))


def _administer(request, prescription, data):
    administration = services.administration_record(user=request.user, prescription=prescription, **data)
    _dose_messages(request, administration)


def _dose_messages(request, administration) -> None:
    messages.success(request, _("Dose recorded: day %(day)d of the course.") % {"day": administration.course_day})
    if administration.protocol_deviation:
        messages.warning(
            request,
            _(
                "This dose is not 100 mg SC on a day of the schedule: it is recorded and flagged as a "
                "protocol deviation."
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
        messages.warning(request, alert.message)


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
            initial=lambda p: {"syringes": workflow.max_syringes(p) - p.syringes_dispensed},
        ),
        PageAction(
            workflow.REFUSE,
            gettext_lazy("Refuse to dispense"),
            gettext_lazy("Refuse"),
            RefuseForm,
            DispensingRefusalSerializer,
            _refuse,
            danger=True,
        ),
        PageAction(
            workflow.ADMINISTER,
            gettext_lazy("Record a dose"),
            gettext_lazy("Record the dose"),
            AdministerForm,
            AdministrationInputSerializer,
            _administer,
        ),
        PageAction(
            workflow.STOP,
            gettext_lazy("Stop the course"),
            gettext_lazy("Stop"),
            StopForm,
            StopInputSerializer,
            _stop,
            danger=True,
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
        "alerts": [
            {
                "code": alert.code,
                "title": ALERT_TITLES.get(alert.code, alert.code),
                "message": alert.message,
                "blocking": alert.code in BLOCKING_ALERTS,
            }
            for alert in prescription.alerts
        ],
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
        "dose_given_today": any(cell.get("today") and cell["state"] == "given" for cell in prescription.course),
        "today": rome_today(),
        **(extra or {}),
    }
    return render(request, "prescriptions/detail.html", context, status=status)


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
        form = action.form_class(request.POST, prefix=name)
        serializer = action.serializer_class(data=form.payload())
        if (errors := _validation_errors(serializer)) is not None:
            form.add_errors(errors)
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


@page
@require_GET
def dispensing_queue(request):
    """The pharmacist's queue: prescriptions of the centres their pharmacy serves still waiting for syringes."""
    permissions.ensure_may_work_on(request.user, workflow.DISPENSE)
    window = _window(selectors.dispensing_queue(user=request.user), request, descending=False)
    return render(
        request,
        "prescriptions/dispensing_queue.html",
        {"prescriptions": window.rows, "page_obj": window, "query": ""},
    )


@page
@require_GET
def doses_due(request):
    """Today's doses at the user's centres, each recordable in one click."""
    permissions.ensure_may_work_on(request.user, workflow.ADMINISTER)
    today = rome_today()
    rows = []
    # Who may record a dose depends on the centre, not the course: asked once per centre.
    may_record_at: dict = {}
    for prescription in selectors.doses_due(user=request.user, day=today):
        if prescription.centre_id not in may_record_at:
            may_record_at[prescription.centre_id] = permissions.may(request.user, prescription, workflow.ADMINISTER)
        rows.append(
            {
                "prescription": prescription,
                "pseudonym": prescription.patient.pseudonym[:12],
                "course_day": (today - prescription.first_dose_on).days + 1 if prescription.first_dose_on else 1,
                "may_record": prescription.syringes_left > 0 and may_record_at[prescription.centre_id],
            }
        )
    return render(request, "prescriptions/doses_due.html", {"rows": rows, "today": today})


@page
@require_POST
def administer_now(request, prescription_id):
    """One click from the doses due: 100 mg SC, now."""
    prescription = services.prescription_for(user=request.user, prescription_id=prescription_id)
    permissions.ensure_may(request.user, prescription, workflow.ADMINISTER)
    try:
        administration = services.administration_record(
            user=request.user,
            prescription=prescription,
            administered_at=timezone.now(),
            dose_mg=Decimal(STANDARD_DOSE_MG),
            route=STANDARD_ROUTE,
        )
    except Conflict as exc:
        messages.error(request, exc.detail)
    except InvalidInput as exc:
        messages.error(request, " ".join(m for msgs in exc.errors.values() for m in msgs))
    else:
        _dose_messages(request, administration)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("prescriptions:doses_due")
    return redirect(next_url)
