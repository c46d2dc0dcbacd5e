"""The quarterly transmission to AIFA: a region's quarter opened, approved with an electronic signature, locked,
reviewed by AIFA, reopened (docs/signature.md; API.md, "Quarterly transmission to AIFA").

Writes are services (``submission_open``, ``submission_approve``, ``submission_reopen``, ``submission_accept``,
``submission_return``): each locks the submission's row, checks who and which state, writes, audits in the same
transaction and notifies. Reads (``submission_list``, ``submission_get``) are scoped: a regional officer sees
their region's, AIFA and administrators every region's, nobody else any (404).

The approval is the signature: the signer re-enters the password (and the second factor's code, when they have
one), accepts a statement naming the region, the quarter and the version; the quarterly per-patient report is
generated there and then (its files are the signed set), the quarter's figures are computed, and a manifest (the
SHA-256 of every file and of the figures, canonical JSON) is hashed into the approval's audit event. The quarter
is locked in the same transaction (``registry.period_locks``), while the region's writes wait.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from registry.audit import audit_record
from registry.audit_actions import AuditAction
from registry.auth.lockout import one_attempt_at_a_time
from registry.auth.otp import has_second_factor, otp_check
from registry.calendar import rome_date, rome_today
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RegistryError
from registry.models import AuditEvent, Region, Role
from registry.notifications import national_users, notify, officers_of_region
from registry.period_locks import period_lock, period_unlock, region_periods_hold
from registry.permissions import actor_for

from . import events, runs
from .kinds import QUARTERLY_PATIENTS
from .metrics import monitoring_metrics
from .models import QuarterlySubmission, ReportRun, ReportStatus, SubmissionSignature, SubmissionStatus
from .submission_checks import IncompleteItem, incomplete_items

# What the signature means (21 CFR 11.50(a)(3): the meaning of a signature is recorded with it).
SIGNATURE_MEANING = "approval"
MANIFEST_FORMAT = "registro648/quarterly-manifest/1"
WRONG_STATUS = "WRONG_STATUS"
FIRST_YEAR = 2021  # the listing's first year (Determina AIFA, 2021)


class SignerLockedOut(RegistryError):
    """Too many wrong passwords or codes for this user and address: the lockout of signing in (429)."""


# --- The calendar quarter ---------------------------------------------------------------------------------------


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    first = date(year, 3 * (quarter - 1) + 1, 1)
    after = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, after - timedelta(days=1)


def running_until(submission, *, today: date) -> date | None:
    """The quarter's last day while it is still running on ``today`` (Rome), else None: approving it then locks
    the region's writes of today too."""
    end = quarter_bounds(submission.year, submission.quarter)[1]
    return end if end >= today else None


def quarter_label(year: int, quarter: int) -> str:
    return _("Q%(quarter)d %(year)d") % {"quarter": quarter, "year": year}


def _check_quarter(year, quarter, *, today: date) -> None:
    if not isinstance(quarter, int) or not 1 <= quarter <= 4:
        raise InvalidInput({"quarter": _("A quarter is 1, 2, 3 or 4.")})
    if not isinstance(year, int) or not FIRST_YEAR <= year <= today.year:
        raise InvalidInput({"year": _("A year from %(first)d to this year.") % {"first": FIRST_YEAR}})
    if quarter_bounds(year, quarter)[0] > today:
        raise InvalidInput({"quarter": _("This quarter has not begun yet.")})


# --- Who ----------------------------------------------------------------------------------------------------------


def _sees_every_region(actor) -> bool:
    return actor.sees_every_region


def submissions_visible_to(user) -> QuerySet[QuarterlySubmission]:
    actor = actor_for(user)
    rows = QuarterlySubmission.objects.select_related("region", "approved_by", "reviewed_by")
    if _sees_every_region(actor):
        return rows
    if actor.role == Role.REGIONAL_OFFICER:
        return rows.filter(region_id=actor.region_id)
    return rows.none()


def _ensure_officer_of(user, region_id: str) -> None:
    actor = actor_for(user)
    if actor.role != Role.REGIONAL_OFFICER:
        raise PermissionDenied(_("Only a regional officer of the region may open, approve or reopen its quarter."))
    if actor.region_id != region_id:
        raise PermissionDenied(_("You may act only within your own region."))


def may_approve(user, submission: QuarterlySubmission) -> bool:
    """Whether ``user`` may sign ``submission`` now: its region's officer, while it is open."""
    actor = actor_for(user)
    return (
        actor.role == Role.REGIONAL_OFFICER
        and actor.region_id == submission.region_id
        and submission.status == SubmissionStatus.OPEN
    )


def _ensure_aifa(user) -> None:
    if actor_for(user).role != Role.NATIONAL:
        raise PermissionDenied(_("Only the national monitoring (AIFA) accepts or returns a quarter."))


def _locked_visible(user, submission_id) -> QuarterlySubmission:
    """The submission's row, locked, if ``user`` sees it (else NotFound)."""
    submission = submissions_visible_to(user).filter(pk=submission_id).first()
    if submission is None:
        raise NotFound()
    return QuarterlySubmission.objects.select_for_update().select_related("region").get(pk=submission.pk)


def _require_status(submission: QuarterlySubmission, *allowed: str) -> None:
    if submission.status not in allowed:
        raise Conflict(
            WRONG_STATUS,
            _("This quarter is %(status)s: it cannot be done now.") % {"status": submission.get_status_display()},
        )


# --- Reads ----------------------------------------------------------------------------------------------------


def submission_list(*, user, year: int | None = None, quarter: int | None = None, region: str | None = None):
    rows = submissions_visible_to(user)
    if year is not None:
        rows = rows.filter(year=year)
    if quarter is not None:
        rows = rows.filter(quarter=quarter)
    if region:
        rows = rows.filter(region_id=region)
    return rows.order_by("-year", "-quarter", "region_id")


def submission_get(*, user, submission_id) -> QuarterlySubmission:
    submission = submissions_visible_to(user).filter(pk=submission_id).first()
    if submission is None:
        raise NotFound()
    return submission


def submission_incomplete(submission: QuarterlySubmission, *, today: date | None = None) -> list[IncompleteItem]:
    start, end = quarter_bounds(submission.year, submission.quarter)
    return incomplete_items(
        region_code=submission.region_id, period_start=start, period_end=end, today=today or rome_today()
    )


def submission_latest_signature(submission: QuarterlySubmission) -> SubmissionSignature | None:
    return submission.signatures.select_related("run", "signer").order_by("-version").first()


def approval_statement(*, signer, submission: QuarterlySubmission, version: int) -> str:
    """The statement the signer accepts: it names the region, the quarter and the version."""
    start, end = quarter_bounds(submission.year, submission.quarter)
    return _(
        "I, %(name)s, regional officer of %(region)s, approve the data of %(quarter)s (%(start)s – %(end)s), "
        "version %(version)d, as complete and accurate to the best of my knowledge, and sign them for their "
        "transmission to AIFA under Law 648/96. I know that this electronic signature binds me as my handwritten "
        "signature would."
    ) % {
        "name": signer.get_full_name() or signer.get_username(),
        "region": submission.region.name,
        "quarter": quarter_label(submission.year, submission.quarter),
        "start": date_format(start, "SHORT_DATE_FORMAT"),
        "end": date_format(end, "SHORT_DATE_FORMAT"),
        "version": version,
    }


# --- Writes ---------------------------------------------------------------------------------------------------


def submission_open(*, user, region_code: str, year: int, quarter: int) -> tuple[QuarterlySubmission, bool]:
    """The region's submission for the quarter, opened now (True) or already there (False)."""
    _ensure_officer_of(user, region_code)
    _check_quarter(year, quarter, today=rome_today())
    region = Region.objects.filter(pk=region_code).first()
    if region is None:
        raise InvalidInput({"region": _("Unknown region code.")})
    existing = QuarterlySubmission.objects.filter(region=region, year=year, quarter=quarter).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            submission = QuarterlySubmission.objects.create(region=region, year=year, quarter=quarter, created_by=user)
            audit_record(
                actor=user,
                action=AuditAction.SUBMISSION_OPEN,
                obj=submission,
                changes={"region": region.pk, "year": year, "quarter": quarter},
                created=True,
            )
    except IntegrityError:
        # Opened by another request between our look and our insert.
        return QuarterlySubmission.objects.get(region=region, year=year, quarter=quarter), False
    return submission, True


@dataclass(frozen=True)
class SignerCheck:
    second_factor: bool


def signer_verify(*, user, password: str, otp: str, http_request) -> SignerCheck:
    """Check the signer's password and, when they have one, second factor, counted like sign-in attempts.

    A wrong password or code is a failure of the sign-in lockout (django-axes, one attempt at a time per username
    and address): PermissionDenied (403); at the limit, or while locked out, ``SignerLockedOut`` (429).
    """
    username = user.get_username()
    refused: RegistryError | None = None
    second_factor = has_second_factor(user)
    with one_attempt_at_a_time(http_request, username):
        checked = authenticate(http_request, username=username, password=password or "")
        if getattr(http_request, "axes_locked_out", False):
            refused = SignerLockedOut()
        elif checked is None or checked.pk != user.pk:
            refused = PermissionDenied(_("The password is wrong: the approval is not signed."))
        elif second_factor and otp_check(user=user, code=otp or "") is None:
            user_login_failed.send(sender=__name__, credentials={"username": username}, request=http_request)
            if getattr(http_request, "axes_locked_out", False):
                refused = SignerLockedOut()
            else:
                refused = PermissionDenied(_("The one-time code is wrong, expired or already used."))
    if refused is not None:
        raise refused  # after the block: the failure's count is committed, not rolled back
    return SignerCheck(second_factor=second_factor)


def canonical_json(value) -> bytes:
    """Canonical JSON (keys sorted, no spaces, UTF-8): the same data always hash the same."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def submission_approve(
    *, user, submission_id, statement_accepted: bool, password: str, otp: str = "", http_request
) -> QuarterlySubmission:
    """Sign the quarter: 400 without the statement, 403 on a wrong password or code (counted), 409 unless open."""
    submission = submission_get(user=user, submission_id=submission_id)
    _ensure_officer_of(user, submission.region_id)
    if statement_accepted is not True:
        raise InvalidInput({"statement_accepted": _("Accept the statement to sign the approval.")})
    check = signer_verify(user=user, password=password, otp=otp, http_request=http_request)
    with transaction.atomic():
        submission = _locked_visible(user, submission_id)
        _require_status(submission, SubmissionStatus.OPEN)
        # The region's writes in flight finish first; new ones wait until the quarter is locked and signed.
        region_periods_hold(region_code=submission.region_id)
        signature = _sign(submission, signer=user, second_factor=check.second_factor)
        submission.status = SubmissionStatus.APPROVED
        submission.version = signature.version
        submission.approved_at = signature.signed_at
        submission.approved_by = user
        submission.reviewed_at = None
        submission.reviewed_by = None
        submission.review_comment = ""
        submission.save()
        start, end = quarter_bounds(submission.year, submission.quarter)
        period_lock(
            region=submission.region,
            period_start=start,
            period_end=end,
            reference=f"quarterly-submission:{submission.pk}:v{signature.version}",
        )
        audit_record(
            actor=user,
            action=AuditAction.SUBMISSION_APPROVE,
            obj=submission,
            changes={
                "version": signature.version,
                "meaning": signature.meaning,
                "manifest_sha256": signature.manifest_sha256,
                "figures_sha256": signature.manifest["figures_sha256"],
                "files": signature.manifest["files"],
                "second_factor": signature.second_factor,
                "period_locked": [start, end],
            },
        )
        notify(
            "submission_approved",
            _aifa_users(),
            event_key=f"submission:{submission.pk}:v{signature.version}:approved",
            params=_params(submission),
        )
    return submission


def _sign(submission: QuarterlySubmission, *, signer, second_factor: bool) -> SubmissionSignature:
    """Generate the signed files (a new quarterly report run) and figures, and record the signature."""
    version = submission.version + 1
    start, end = quarter_bounds(submission.year, submission.quarter)
    now = timezone.now()
    run = ReportRun.objects.create(
        kind=QUARTERLY_PATIENTS, region=submission.region, period_start=start, period_end=end, requested_by=signer
    )
    events.report_requested(actor=signer, run=run, region=submission.region)
    runs.generate(str(run.pk), f"signature:{submission.pk}:v{version}", heartbeat=False)
    run.refresh_from_db()
    if run.status != ReportStatus.DONE:
        raise RuntimeError(f"the signed report {run.pk} was not generated: {run.error}")
    figures = monitoring_metrics(
        region_code=submission.region_id, period_start=start, period_end=end, today=rome_date(now)
    )
    figures = json.loads(canonical_json(figures))  # plain JSON, as stored
    files = [
        {
            "name": report_file.file.name.rsplit("/", 1)[-1],
            "audience": report_file.audience,
            "format": report_file.format,
            "sha256": report_file.sha256,
            "size": report_file.size,
        }
        for report_file in run.files.order_by("audience", "format")
    ]
    statement = approval_statement(signer=signer, submission=submission, version=version)
    manifest = {
        "format": MANIFEST_FORMAT,
        "submission": str(submission.pk),
        "region": submission.region_id,
        "year": submission.year,
        "quarter": submission.quarter,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "version": version,
        "signer": signer.get_username(),
        "signer_name": signer.get_full_name(),
        "signed_at": now.isoformat(),
        "meaning": SIGNATURE_MEANING,
        "statement_sha256": sha256_hex(statement.encode()),
        "second_factor": second_factor,
        "report_run": str(run.pk),
        "data_as_of": run.data_as_of.isoformat() if run.data_as_of else None,
        "files": files,
        "figures_sha256": sha256_hex(canonical_json(figures)),
    }
    return SubmissionSignature.objects.create(
        submission=submission,
        version=version,
        signer=signer,
        signed_at=now,
        meaning=SIGNATURE_MEANING,
        statement=statement,
        second_factor=second_factor,
        run=run,
        figures=figures,
        manifest=manifest,
        manifest_sha256=sha256_hex(canonical_json(manifest)),
    )


def signature_check(signature: SubmissionSignature) -> list[str]:
    """What no longer matches in a signature (empty: intact): the manifest against its SHA-256 and the approval's
    audit event, the figures against their hash, and every signed file, read again, against the manifest."""
    problems = []
    if sha256_hex(canonical_json(signature.manifest)) != signature.manifest_sha256:
        problems.append("manifest: its SHA-256 differs")
    event = (
        AuditEvent.objects.filter(
            object_type=QuarterlySubmission._meta.label_lower,
            object_id=str(signature.submission_id),
            action=AuditAction.SUBMISSION_APPROVE,
            changes__version=signature.version,
        )
        .order_by("sequence")
        .last()
    )
    if event is None or event.changes.get("manifest_sha256") != signature.manifest_sha256:
        problems.append("audit: the approval's event does not hold this manifest's SHA-256")
    if sha256_hex(canonical_json(signature.figures)) != signature.manifest.get("figures_sha256"):
        problems.append("figures: their SHA-256 differs")
    stored = {(f.audience, f.format): f for f in signature.run.files.all()}
    for entry in signature.manifest.get("files", []):
        report_file = stored.get((entry["audience"], entry["format"]))
        if report_file is None:
            problems.append(f"{entry['name']}: missing")
            continue
        digest = hashlib.sha256()
        try:
            with report_file.file.open("rb") as content:
                for chunk in iter(lambda: content.read(1024 * 1024), b""):
                    digest.update(chunk)
        except FileNotFoundError:
            problems.append(f"{entry['name']}: missing")
            continue
        if digest.hexdigest() != entry["sha256"]:
            problems.append(f"{entry['name']}: its SHA-256 differs")
    return problems


def submission_reopen(*, user, submission_id, reason: str) -> QuarterlySubmission:
    """Open an approved (or returned) quarter again: writes are accepted again; audited; AIFA is told."""
    submission = submission_get(user=user, submission_id=submission_id)
    _ensure_officer_of(user, submission.region_id)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": _("Say why the quarter is reopened.")})
    with transaction.atomic():
        submission = _locked_visible(user, submission_id)
        _require_status(submission, SubmissionStatus.APPROVED, SubmissionStatus.RETURNED)
        before = submission.status
        submission.status = SubmissionStatus.OPEN
        submission.reopened_at = timezone.now()
        submission.reopen_reason = reason
        submission.save(update_fields=["status", "reopened_at", "reopen_reason"])
        start, _end = quarter_bounds(submission.year, submission.quarter)
        period_unlock(region=submission.region, period_start=start)
        audit_record(
            actor=user,
            action=AuditAction.SUBMISSION_REOPEN,
            obj=submission,
            changes={"status": [before, SubmissionStatus.OPEN], "version": submission.version, "reason": reason},
        )
        notify(
            "submission_reopened",
            _aifa_users(),
            event_key=f"submission:{submission.pk}:v{submission.version}:reopened",
            params=_params(submission),
        )
    return submission


def submission_accept(*, user, submission_id, comment: str = "") -> QuarterlySubmission:
    return _review(user=user, submission_id=submission_id, accepted=True, comment=comment)


def submission_return(*, user, submission_id, comment: str) -> QuarterlySubmission:
    if not (comment or "").strip():
        raise InvalidInput({"comment": _("Say what the region should correct.")})
    return _review(user=user, submission_id=submission_id, accepted=False, comment=comment)


def _review(*, user, submission_id, accepted: bool, comment: str) -> QuarterlySubmission:
    submission = submission_get(user=user, submission_id=submission_id)
    _ensure_aifa(user)
    comment = (comment or "").strip()
    with transaction.atomic():
        submission = _locked_visible(user, submission_id)
        _require_status(submission, SubmissionStatus.APPROVED)
        submission.status = SubmissionStatus.ACCEPTED if accepted else SubmissionStatus.RETURNED
        submission.reviewed_at = timezone.now()
        submission.reviewed_by = user
        submission.review_comment = comment
        submission.save(update_fields=["status", "reviewed_at", "reviewed_by", "review_comment"])
        audit_record(
            actor=user,
            action=AuditAction.SUBMISSION_ACCEPT if accepted else AuditAction.SUBMISSION_RETURN,
            obj=submission,
            changes={
                "status": [SubmissionStatus.APPROVED, submission.status],
                "version": submission.version,
                "comment": comment,
            },
        )
        notify(
            "submission_accepted" if accepted else "submission_returned",
            _region_officers(submission.region_id),
            event_key=f"submission:{submission.pk}:v{submission.version}:{submission.status}",
            params={**_params(submission), "comment": comment},
        )
    return submission


def _params(submission: QuarterlySubmission) -> dict:
    return {
        "submission": str(submission.pk),  # what the notification opens (registry.notifications.notification_target)
        "region": submission.region.name,
        "quarter": f"Q{submission.quarter} {submission.year}",
        "version": submission.version,
    }


def _aifa_users():
    return national_users()


def _region_officers(region_code: str):
    return officers_of_region(region_code)
