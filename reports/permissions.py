"""Who may ask for which report, and who sees which runs: the one place that decides it for reports.

- administrator and national role (AIFA): ask for any region's report or the whole country's; see every run,
  of every region and of the country.
- the national role reads a region's run in its national form (``file_audience``): small counts suppressed as in
  whole-country reports, and the quarterly per-patient file with a national pseudonym and an age band, no birth
  date (``reports.national``). The region's officer and administrators read the region's own form.
- regional officer: asks for their own region only; sees their region's runs, including their region's part
  of a national run.
- prescribers, pharmacists, nurses: no reports (they see their own centres' prescriptions instead).

The generic helpers (``actor_for``, ``ensure_role``, ``PermissionDenied``) are ``registry.permissions``'.
"""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from registry.models import Region, Role
from registry.permissions import Actor, PermissionDenied, actor_for, ensure_role

from .models import ReportAudience, ReportRun

# The roles that read reports at all (the pages answer 403 to the others).
REPORT_ROLES = (Role.REGIONAL_OFFICER, Role.NATIONAL, Role.ADMINISTRATOR)


def sees_every_region(actor: Actor) -> bool:
    """Administrators and the national role: every region, and the whole country."""
    return actor.is_admin or actor.role == Role.NATIONAL


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


def report_runs_visible_to(user) -> QuerySet[ReportRun]:
    """The runs ``user`` may read (and download the files of)."""
    actor = actor_for(user)
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
