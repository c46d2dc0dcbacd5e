"""Who may ask for which report, and who sees which runs: the one place that decides it for reports.

- administrator and national role (AIFA): ask for any region's report or the whole country's; see every run,
  of every region and of the country — the national role only those of one whole calendar month or quarter
  (``whole_periods_only``), whoever asked for them, so that two overlapping periods cannot be subtracted.
- the national role reads a region's run in its national form (``file_audience``): small counts suppressed as in
  whole-country reports, and the quarterly per-patient file with a national pseudonym and an age band, no birth
  date (``reports.national``). The region's officer and administrators read the region's own form.
- regional officer: asks for their own region only; sees their region's runs, including their region's part
  of a national run.
- prescribers, pharmacists, nurses: no reports (they see their own centres' prescriptions instead).

The generic helpers (``actor_for``, ``ensure_role``, ``PermissionDenied``) are ``registry.permissions``'.
"""

from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from registry.models import Region, Role
from registry.permissions import Actor, PermissionDenied, actor_for, ensure_role

from .models import ReportAudience, ReportRun
from .periods import is_calendar_month_or_quarter

# The roles that read reports at all (the pages answer 403 to the others).
REPORT_ROLES = (Role.REGIONAL_OFFICER, Role.NATIONAL, Role.ADMINISTRATOR)


def sees_every_region(actor: Actor) -> bool:
    """Administrators and the national role: every region, and the whole country."""
    return actor.sees_every_region


def ensure_reads_reports(user) -> Actor:
    """Regional officers, the national role and administrators only (PermissionDenied otherwise)."""
    return ensure_role(user, *REPORT_ROLES)


def ensure_may_request(user, *, region_code: str | None) -> None:
    """A regional officer asks for their own region only; AIFA and administrators for any, or the country."""
    actor = actor_for(user)
    if sees_every_region(actor):
        return
    if actor.role != Role.REGIONAL_OFFICER:
        raise PermissionDenied(_("Only regional officers and the national monitoring may ask for reports."))
    if region_code is None:
        raise PermissionDenied(_("A regional officer may ask only for their own region's report, not the country's."))
    if region_code != actor.region_id:
        raise PermissionDenied(_("A regional officer may ask only for their own region's report."))


def whole_periods_only(actor: Actor) -> bool:
    """Whether what ``actor`` asks for and reads leaves the regions as whole calendar months or quarters only
    (``periods.is_calendar_month_or_quarter``): the national role's requests (``services._check_leaves_region``)
    and the runs it reads (``report_runs_visible_to``), regional and whole-country alike (API.md)."""
    return actor.role == Role.NATIONAL


def _of_whole_periods(runs: QuerySet[ReportRun]) -> QuerySet[ReportRun]:
    """``runs`` whose period is one whole calendar month or quarter. The test is ``is_calendar_month_or_quarter``
    itself, applied to the distinct periods the runs have (one small query), not a second definition in SQL."""
    periods = runs.order_by().values_list("period_start", "period_end").distinct()
    whole = [
        Q(period_start=start, period_end=end) for start, end in periods if is_calendar_month_or_quarter(start, end)
    ]
    return runs.filter(reduce(or_, whole)) if whole else runs.none()


def report_runs_visible_to(user) -> QuerySet[ReportRun]:
    """The runs ``user`` may read (and download the files of)."""
    actor = actor_for(user)
    if whole_periods_only(actor):
        return _of_whole_periods(ReportRun.objects.all())
    if sees_every_region(actor):
        return ReportRun.objects.all()
    if actor.role == Role.REGIONAL_OFFICER:
        return ReportRun.objects.filter(region_id=actor.region_id)
    return ReportRun.objects.none()


def file_audience(user, run: ReportRun) -> str:
    """Which form of ``run`` the user reads: a whole-country run has only the national one; the national role
    reads every region's run in the national form; the region's officer and administrators the region's own."""
    if run.region_id is None or actor_for(user).role == Role.NATIONAL:
        return ReportAudience.NATIONAL
    return ReportAudience.REGION


def lists_national_parts(user) -> bool:
    """Whether the user's run list keeps the regional parts of national runs.

    An officer's region's part of a national run is still their region's report: it stays listed. Those who
    see the national run itself find its parts there.
    """
    return actor_for(user).role == Role.REGIONAL_OFFICER


def report_request_regions(user) -> tuple[QuerySet[Region], bool]:
    """The regions the user may ask a report for, and whether the whole country too."""
    actor = actor_for(user)
    if sees_every_region(actor):
        return Region.objects.order_by("code"), True
    if actor.role == Role.REGIONAL_OFFICER:
        return Region.objects.filter(pk=actor.region_id), False
    return Region.objects.none(), False
