"""Pages of the monitoring reports: the dashboard (runs and a request form) and one run's page.

Thin like the API (``reports/api.py``): parse, call one service or selector, render. Runs come from the
selectors, so a run outside the user's scope is a 404; a role refusal is a 403 page saying why. A finished
monitoring run shows the figures and charts of its PDF, drawn by the same code (``reports.renderers.figures``,
``reports.charts``) from the same ``ReportContext``, small-count suppression included.

While a run is queued or running its page shows its progress: ``static/js/reports.js`` (no inline script) fetches
the status fragment every 2 s and swaps it in, and reloads the page once the run has finished; without JavaScript
a ``<noscript>`` refresh reloads the page. With tasks in-process a requested run is generated in a thread after the
response (``REPORTS_IN_PROCESS_THREAD``), so the request never waits for the report.

The national role reads a region's run in its national form (small counts suppressed, the per-patient file
pseudonymised for AIFA): ``selectors.report_audience``.
"""

import functools
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from registry.calendar import rome_today
from registry.errors import InvalidInput
from registry.permissions import PermissionDenied

from . import charts, selectors, services, who_cps_reference
from .kinds import COUNTRY_NAME, MONITORING, ReportContext
from .models import ReportKind, ReportRun, ReportStatus
from .periods import current_month, previous_month, previous_quarter
from .permissions import ensure_reads_reports
from .renderers import figures, spending
from .runs import report_context  # what a run's files print

COUNTRY = "IT"  # the form's value for the whole country (region codes are digits)
RUNS_SHOWN = 50
ACTIVE = (ReportStatus.QUEUED, ReportStatus.RUNNING)
POLL_SECONDS = 2
REFRESH_SECONDS = 3


# --- Errors as pages ---------------------------------------------------------------------------


def forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "reports/forbidden.html", {"reason": reason}, status=403)


def page(view):
    """A reports page: sign-in required; regional officers, the national role and administrators only (403)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            ensure_reads_reports(request.user)
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return forbidden(request, str(exc))

    return login_required(wrapper)


# --- The request form ------------------------------------------------------------------------------


# One click for the periods asked most: the button fills the period (Rome's today) and asks at once.
PRESETS = {
    "last_month": (gettext_lazy("Last month"), previous_month),
    "last_quarter": (gettext_lazy("Last quarter"), previous_quarter),
}


def period_presets(today) -> list[dict]:
    """The one-click periods, each with the days it covers, for the buttons."""
    return [
        {"value": value, "label": label, "period": figures.period_text(*period(today))}
        for value, (label, period) in PRESETS.items()
    ]


class ReportRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Report"),
        choices=[(value, capfirst(label)) for value, label in ReportKind.choices],
        initial=MONITORING,
    )
    region = forms.ChoiceField(label=gettext_lazy("Region"))
    # ISO values: a date input shows nothing for a date written the local way.
    period_start = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    period_end = forms.DateField(
        label=gettext_lazy("To (included)"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, regions, country: bool, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(region.code, f"{region.code} {region.name}") for region in regions]
        if country:
            choices.insert(0, (COUNTRY, _("Italia (whole country)")))
        self.fields["region"].choices = choices
        if len(choices) == 1:
            self.fields["region"].initial = choices[0][0]
        # The current month up to today: a period with data (a new user's first report shows real figures).
        self.fields["period_start"].initial, self.fields["period_end"].initial = current_month(rome_today())
        self.fields["period_end"].help_text = _("The quarterly report covers exactly one calendar quarter.")
        # A preset button (name "preset") stands for the two dates: they may then be left as they are.
        self.preset = PRESETS.get(str(self.data.get("preset", ""))) if self.is_bound else None
        if self.preset:
            self.fields["period_start"].required = self.fields["period_end"].required = False

    def clean(self):
        cleaned = super().clean()
        if self.preset:
            for name in ("period_start", "period_end"):
                self.errors.pop(name, None)
            cleaned["period_start"], cleaned["period_end"] = self.preset[1](rome_today())
        return cleaned

    def region_code(self) -> str | None:
        region = self.cleaned_data["region"]
        return None if region == COUNTRY else region

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """A service's InvalidInput next to its field; an error about anything else above the form."""
        for field, messages_ in errors.items():
            for message in messages_:
                self.add_error(field if field in self.fields else None, message)


# --- Dashboard -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    run: ReportRun
    region: str
    period: str
    url: str


def _region_name(run: ReportRun) -> str:
    return run.region.name if run.region_id else COUNTRY_NAME


def _run_rows(user) -> tuple[list[RunRow], bool]:
    runs = list(selectors.report_run_list(user=user)[:RUNS_SHOWN])
    rows = [
        RunRow(
            run,
            _region_name(run),
            figures.period_text(run.period_start, run.period_end),
            reverse("reports:run", args=[run.pk]),
        )
        for run in runs
    ]
    return rows, any(run.status in ACTIVE for run in runs)


def _runs_context(request) -> dict:
    rows, active = _run_rows(request.user)
    return {"rows": rows, "active": active, "poll_seconds": POLL_SECONDS}


@page
@require_http_methods(["GET", "POST"])
def dashboard(request):
    """The user's report runs, and a form to ask for a new one."""
    regions, country = selectors.report_request_regions(user=request.user)
    form = ReportRequestForm(request.POST or None, regions=regions, country=country)
    if request.method == "POST" and form.is_valid():
        try:
            run = services.report_request(
                user=request.user,
                kind=form.cleaned_data["kind"],
                region_code=form.region_code(),
                period_start=form.cleaned_data["period_start"],
                period_end=form.cleaned_data["period_end"],
            )
        except InvalidInput as exc:
            form.add_service_errors(exc.errors)
        else:
            _requested_message(request, run)
            return redirect("reports:run", run_id=run.pk)
    context = {
        "form": form,
        "presets": period_presets(rome_today()),
        **_runs_context(request),
        "refresh_seconds": REFRESH_SECONDS,
    }
    return render(request, "reports/dashboard.html", context)


def _requested_message(request, run: ReportRun) -> None:
    """What the page says once a report is asked for: never "being generated" for a run already finished."""
    run.refresh_from_db(fields=["status"])
    if run.status == ReportStatus.DONE:
        messages.success(request, _("Report ready."))
    elif run.status == ReportStatus.FAILED:
        messages.error(request, _("The report could not be generated."))
    elif getattr(run, "dispatch_delayed", False):
        messages.warning(
            request,
            _(
                "Report requested, but its generation is delayed: the task queue cannot be reached. "
                "It will start as soon as the queue is back."
            ),
        )
    else:
        messages.success(request, _("Report requested: its progress is shown below."))


@page
@require_GET
def run_list_fragment(request):
    """The runs table alone, polled by the dashboard while a run is under way."""
    return render(request, "reports/_runs.html", _runs_context(request))


# --- One run ---------------------------------------------------------------------------------------


def _run_or_404(user, run_id) -> ReportRun:
    run = selectors.report_run_get(user=user, run_id=run_id)
    if run is None:
        raise Http404
    return run


def _downloads(user, run: ReportRun) -> list[tuple[str, str]]:
    """(format, API download URL) of the run's files in the form the user reads, PDF, XLSX, CSV."""
    order = {fmt: position for position, fmt in enumerate(("pdf", "xlsx", "csv"))}
    files = sorted(
        selectors.report_files_for(user=user, run=run),
        key=lambda report_file: order.get(report_file.format, 99),
    )
    return [
        (report_file.format, reverse("api-report-file", kwargs={"run_id": run.pk, "fmt": report_file.format}))
        for report_file in files
    ]


def _monitoring_figures(context: ReportContext) -> dict:
    """What the PDF prints, for the page: headline figures, charts, breakdowns, the per-centre table."""
    suppress_below = context.suppress_below
    headline = [
        (section, [(key, label, figures.number_display(value)) for key, label, value in rows])
        for section, rows in figures.headline_sections(context)
    ]
    chart_list = [
        (
            name,
            charts.chart_title(name),
            _svg(charts.chart_svg(name, context.metrics, suppress_below=suppress_below)),
            charts.is_wide(name),
        )
        for name in charts.chart_names(context.metrics)
    ]
    breakdowns = []
    for key in figures.BREAKDOWN_KEYS:
        rows = [
            (code, label, figures.number_display(value))
            for code, label, value in figures.breakdown_table(context, key, numbered=True)
        ]
        if rows:
            metric = figures.METRICS[key]
            breakdowns.append((key, str(metric.label), rows, metric.codes_shown))
    columns = figures.centre_columns(context, flatten=False)
    centres = [
        (
            figures.centre_name(entry),
            figures.centre_region(entry),
            [figures.number_display(figures.centre_cell(entry, column, suppress_below)) for column in columns],
        )
        for entry in figures.centres(context)
    ]
    return {
        "report": context,
        "headline": headline,
        "charts": chart_list,
        "breakdowns": breakdowns,
        "centre_headers": [
            (figures.centre_column_label(column, short=True), figures.centre_column_label(column)) for column in columns
        ],
        "centres": centres,
        "with_region": not context.region_code,
        "regions": [
            (
                f"{entry.get('region')} {figures.region_name(entry)}",
                [figures.number_display(figures.region_cell(entry, column, suppress_below)) for column in columns],
            )
            for entry in figures.regions(context)
        ],
        "who_cps_header": who_cps_reference.header(),
        "who_cps_rows": who_cps_reference.display_rows(context.metrics, figures.percent_display),
        "who_cps_source": str(who_cps_reference.SOURCE),
        "spending_labels": spending.column_labels(),
        "spending": [
            (
                row.centre_name,
                not row.centre_id,
                [
                    figures.number_display(row.syringes_dispensed),
                    figures.number_display(row.syringes_returned),
                    figures.number_display(row.net_syringes),
                    spending.amount_display(row.amount_eur),
                    figures.number_display(row.unpriced_syringes),
                ],
            )
            for row in spending.spending_rows(context)
        ],
        "spending_note": spending.note(),
        "funnels": [
            (
                charts.funnel_title(chart),
                _svg(charts.funnel_svg(chart)),
                figures.funnel_note(chart),
                [
                    (row["centre"], figures.percent_display(row["proportion"]), row["flag"])
                    for row in figures.funnel_rows(chart)
                    if row["flag"]
                ],
            )
            for chart in figures.funnels(context)
        ],
        "suppression_note": figures.suppression_note(context),
    }


def _svg(svg: str | None):
    # Drawn by matplotlib from counts and fixed labels; matplotlib escapes the text it writes.
    return mark_safe(svg) if svg else None  # noqa: S308


def _status_context(run: ReportRun) -> dict:
    return {
        "run": run,
        "active": run.status in ACTIVE,
        "delayed": run.status == ReportStatus.QUEUED and run.dispatched_at is None,
        "poll_seconds": POLL_SECONDS,
        "parts": list(run.children.all()) if run.region_id is None else [],
    }


@page
@require_GET
def run_detail(request, run_id):
    """One run: its progress while it runs; its figures, charts and files once done; its error if it failed."""
    run = _run_or_404(request.user, run_id)
    context = {
        **_status_context(run),
        "region_name": _region_name(run),
        "period": figures.period_text(run.period_start, run.period_end),
        "refresh_seconds": REFRESH_SECONDS,
    }
    if run.status == ReportStatus.DONE:
        audience = selectors.report_audience(user=request.user, run=run)
        report = report_context(run, audience)
        context["downloads"] = _downloads(request.user, run)
        context["national_form"] = audience == "national" and run.region_id is not None
        context["as_of"] = figures.as_of_display(report)
        if run.kind == MONITORING:
            context.update(_monitoring_figures(report))
        else:
            published = selectors.report_metrics_published(run, audience)
            context["patients"] = figures.number_display(published.get("patients"))
    return render(request, "reports/run.html", context)


@page
@require_GET
def run_status_fragment(request, run_id):
    """The progress block alone, polled every 2 s; once the run has finished the page reloads itself whole."""
    run = _run_or_404(request.user, run_id)
    response = render(request, "reports/_run_status.html", _status_context(run))
    if run.status not in ACTIVE:
        response["X-Run-Finished"] = "true"
    return response
