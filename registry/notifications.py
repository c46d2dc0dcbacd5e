"""Notifications: who is told what, once per event, in their own language.

``notify(kind, recipients, event_key=…)`` is the one way to write a ``Notification``. It runs inside the caller's
transaction; a person already told of that event (same ``kind`` and ``event_key``) is not told again, so a
retried task or a repeated request notifies nobody twice. The text is not stored: ``KINDS`` renders it from the
notification's ``params`` in the reader's language when it is shown or e-mailed. Params never hold the patient's
identity (a pseudonym's short form, a centre's name, a date, a count are fine).

A param may be a translatable text (``untranslated(label)``: its msgid, translated when rendered) a day
(``day(date)``: shown in the reader's date format) or a decimal number (``number(value)``: with the reader's decimal
mark), so a stored notification never holds one language's words.

To add a kind: one entry in ``KINDS`` (its label and message, both lazily translated, the message a ``%``-format
of the params) and its Italian in ``locale/it``.

E-mail: each person chooses (``StaffProfile.email_notifications``); after the commit ``notify`` queues the task
``registry.tasks.send_notification_emails`` by name, which calls :func:`notification_emails_send`: each pending
notification is locked, sent through Django's e-mail backend (``EMAIL_URL``), with an absolute link to what it is
about built on ``SITE_URL`` (:func:`notification_target`), and marked ``emailed_at`` in one
transaction, so a retried or repeated task sends nothing twice. A sweep in beat sends whatever a broker outage
left behind.
"""

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import get_script_prefix, reverse
from django.utils import timezone, translation
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .audit import audit_record
from .audit_actions import AuditAction
from .calendar import rome_today
from .errors import NotFound
from .models import Notification, PrescriberAuthorisation, Role, StaffProfile

logger = logging.getLogger(__name__)

SEND_EMAILS_TASK = "registry.tasks.send_notification_emails"
# Queueing the e-mails with the broker down: one short retry, so the write that notified answers at once.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# An authorisation's end is announced this many days before (API.md: authorisation_expiring).
AUTHORISATION_NOTICE_DAYS = 30
# The sweep e-mails what is at most this old (older notifications are only shown in the registry).
EMAIL_SWEEP_HOURS = 48


@dataclass(frozen=True)
class Kind:
    label: str
    message: str


KINDS: dict[str, Kind] = {
    "request_waiting": Kind(_("Request waiting at the pharmacy"), _("A prescription for %(centre)s is waiting.")),
    "dispensed": Kind(_("Syringes dispensed"), _("%(syringes)s syringes dispensed for %(centre)s.")),
    "on_hold": Kind(
        _("Request on hold"),
        _("The pharmacy put the request %(prescription)s for %(centre)s on hold: %(reason)s (expected: %(expected)s)."),
    ),
    "refused": Kind(
        _("Request refused"), _("The pharmacy refused the request %(prescription)s for %(centre)s: %(category)s.")
    ),
    "blocking_alert": Kind(
        _("Blocking alert"), _("The course %(prescription)s at %(centre)s has a blocking alert: %(alert)s.")
    ),
    "outcome_due": Kind(
        _("Day-28 outcome due"), _("The day-28 outcome of the course %(prescription)s at %(centre)s is due.")
    ),
    "report_ready": Kind(_("Report ready"), _("Your report is ready.")),
    # A report the schedule made (reports.tasks: each month, each quarter) for the region's officers, or AIFA.
    "scheduled_report_ready": Kind(
        _("Scheduled report ready"),
        _("The %(report)s of %(region)s from %(start)s to %(end)s is ready."),
    ),
    "stock_cover_low": Kind(
        _("Stock cover low"),
        _("%(pharmacy)s has %(days)s days of anakinra cover left, below its threshold of %(threshold)s days."),
    ),
    "authorisation_expiring": Kind(
        _("Authorisation expiring"), _("An authorisation to prescribe at %(centre)s ends on %(valid_to)s.")
    ),
    # The quarterly transmission to AIFA (reports.submissions): AIFA hears of approvals and reopenings, the
    # region's officers of AIFA's answer.
    "submission_approved": Kind(
        _("Quarter approved"), _("%(region)s approved its data of %(quarter)s (version %(version)s).")
    ),
    "submission_reopened": Kind(
        _("Quarter reopened"),
        _("%(region)s reopened its data of %(quarter)s (version %(version)s): they may change before a new approval."),
    ),
    "submission_accepted": Kind(_("Quarter accepted by AIFA"), _("AIFA accepted the data of %(quarter)s.")),
    "submission_returned": Kind(_("Quarter returned by AIFA"), _("AIFA returned the data of %(quarter)s: %(comment)s")),
}


def untranslated(text) -> dict:
    """A param that is a translatable text (a lazy label): kept as its msgid, rendered in the reader's language."""
    with translation.override(None):
        return {"msgid": str(text)}


def day(value: date | None) -> dict | None:
    """A param that is a day, shown in the reader's format."""
    return None if value is None else {"date": value.isoformat()}


def number(value) -> dict | None:
    """A param that is a decimal number (days of cover), shown with the reader's decimal mark ("3,5" in Italian)."""
    return None if value is None else {"number": str(value)}


def _rendered(value):
    if isinstance(value, dict):
        if "msgid" in value:
            return gettext(value["msgid"])
        if "number" in value:
            try:
                return number_format(Decimal(value["number"]), use_l10n=True)
            except (TypeError, ValueError, ArithmeticError):
                return value["number"]
        if "date" in value:
            try:
                return date_format(date.fromisoformat(value["date"]), "SHORT_DATE_FORMAT")
            except (TypeError, ValueError):
                return value["date"]
    return "—" if value is None else value


def render_message(notification: Notification) -> str:
    """The notification's text in the active language; a missing param leaves the message without it."""
    kind = KINDS.get(notification.kind)
    if kind is None:
        return notification.kind
    template = str(kind.message)
    try:
        return template % {key: _rendered(value) for key, value in (notification.params or {}).items()}
    except (KeyError, TypeError, ValueError):
        return str(kind.label)


def render_label(notification: Notification) -> str:
    kind = KINDS.get(notification.kind)
    return str(kind.label) if kind else notification.kind


def notify(kind: str, recipients: Iterable, *, event_key: str, prescription_id=None, params=None) -> int:
    """Tell each of ``recipients`` (users; duplicates and ``None`` ignored) about one event, once.

    Returns how many were asked to be written (those already told are skipped by the unique constraint).
    Call it inside the transaction of the write it is about.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if isinstance(recipients, QuerySet):
        written, to_email = _notify_selected(
            kind, recipients, event_key=event_key, prescription_id=prescription_id, params=params
        )
        if to_email:
            transaction.on_commit(lambda: _queue_emails(kind, event_key[:200]))
        return written
    users = {user.pk: user for user in recipients if user is not None and user.is_active}
    if not users:
        return 0
    rows = [
        Notification(
            recipient_id=pk,
            kind=kind,
            event_key=event_key[:200],
            prescription_id=prescription_id,
            params=params or {},
        )
        for pk in users
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(lambda: _queue_emails(kind, event_key[:200]))
    return len(rows)


def _notify_selected(kind: str, users: QuerySet, *, event_key: str, prescription_id, params) -> tuple[int, bool]:
    """``notify`` for the people a query selects (the pharmacists of a pharmacy, a region's officers): one
    ``INSERT … SELECT`` instead of reading them first, so a submission's write stays within its query budget.
    Those already told are skipped by the unique constraint, as in ``notify``. Returns how many were written and
    whether any of them takes e-mail (read by the same statement: when none does, no task is queued)."""
    selected = users.filter(is_active=True).order_by().values(recipient=F("pk"))
    select_sql, select_params = selected.query.sql_with_params()
    emailed = get_user_model().objects.filter(_takes_email()).order_by().values("pk")
    emailed_sql, emailed_params = emailed.query.sql_with_params()
    connection = transaction.get_connection(Notification.objects.db)
    meta = Notification._meta
    quote = connection.ops.quote_name
    columns = ("recipient_id", "kind", "event_key", "prescription_id", "params", "created_at")
    values = [
        kind,
        event_key[:200],
        meta.get_field("prescription_id").get_db_prep_value(prescription_id, connection),
        meta.get_field("params").get_db_prep_value(params or {}, connection),
        meta.get_field("created_at").get_db_prep_value(timezone.now(), connection),
    ]
    # Only quoted names of the model and the selecting query's own SQL are put in the text; values are parameters.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(column) for column in columns)}) "  # noqa: S608
        f"SELECT selected.{quote('recipient')}, %s, %s, %s, %s, %s FROM ({select_sql}) AS selected "
        "WHERE TRUE ON CONFLICT DO NOTHING "  # WHERE: SQLite's reading of ON CONFLICT after a SELECT
        f"RETURNING {quote(meta.db_table)}.{quote('recipient_id')} IN ({emailed_sql})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, *select_params, *emailed_params])
        written = cursor.fetchall()
    return len(written), any(to_email for (to_email,) in written)


def _queue_emails(kind: str, event_key: str) -> None:
    """Send the event's e-mails in the background (by the task's name); a broker that is down leaves them to the
    sweep, never fails the write that notified."""
    try:
        current_app.signature(SEND_EMAILS_TASK, kwargs={"kind": kind, "event_key": event_key}).apply_async(
            retry=True, retry_policy=PUBLISH_RETRY_POLICY
        )
    except Exception:  # noqa: BLE001 - the notification is stored; the sweep e-mails it later
        logger.warning("Could not queue the e-mails of %s %s; the sweep will send them", kind, event_key)


# --- Reading and marking (the caller's own only) --------------------------------------------------------------


def notifications_of(user, *, unread_only: bool = False):
    """The user's own notifications, newest first."""
    notifications = Notification.objects.filter(recipient=user).order_by("-created_at", "-id")
    return notifications.filter(read_at__isnull=True) if unread_only else notifications


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_mark_read(*, user, notification_id) -> Notification:
    """Mark one of the user's notifications read (kept read if it was); ``NotFound`` for anyone else's."""
    if not 0 < int(notification_id) < 2**63:
        raise NotFound()  # no such id (and none the database could even compare)
    notification = Notification.objects.filter(recipient=user, pk=notification_id).first()
    if notification is None:
        raise NotFound()
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def email_preference(user) -> bool | None:
    """Whether the user's notifications are e-mailed; None for a user without a staff profile."""
    return StaffProfile.objects.filter(user=user).values_list("email_notifications", flat=True).first()


def email_preference_set(*, user, email: bool) -> None:
    """Turn the e-mail copy of the user's notifications on or off; a change is audited on the user's chain."""
    with transaction.atomic():
        profile = StaffProfile.objects.select_for_update().filter(user=user).first()
        if profile is None or profile.email_notifications == bool(email):
            return
        profile.email_notifications = bool(email)
        profile.save(update_fields=["email_notifications"])
        audit_record(
            actor=user,
            action=AuditAction.STAFF_EMAIL_PREFERENCE,
            obj=user,
            changes={"email_notifications": [not email, bool(email)]},
        )


# --- E-mail -------------------------------------------------------------------------------------------------


def notification_target(notification: Notification) -> tuple[str, str]:
    """What a notification is about, to open it: its words ("Open the prescription") and its path — the
    prescription, the report (``params["run"]``), the quarter sent to AIFA (``params["submission"]``), else the
    person's notifications."""
    if notification.prescription_id:
        return gettext("Open the prescription"), reverse("prescriptions:detail", args=[notification.prescription_id])
    params = notification.params or {}
    run, submission = _uuid(params.get("run")), _uuid(params.get("submission"))
    if run is not None:
        return gettext("Open the report"), reverse("reports:run", args=[run])
    if submission is not None:
        return gettext("Open the quarter"), reverse("reports:quarter", args=[submission])
    return gettext("Open your notifications"), reverse("notifications")


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def site_url(path: str) -> str:
    """``path`` (as ``reverse`` gives it) as an absolute address under ``SITE_URL``, the registry's public root
    (a path prefix of its own included; the prefix of the request being served, if any, is not repeated)."""
    prefix = get_script_prefix()
    relative = path[len(prefix) :] if path.startswith(prefix) else path.lstrip("/")
    return f"{settings.SITE_URL.rstrip('/')}/{relative}"


def _takes_email(prefix: str = "") -> Q:
    """Who is e-mailed their notifications: an active user with an address who has not turned e-mail off
    (``prefix``: the path to the user, e.g. ``recipient__``)."""
    return Q(**{f"{prefix}is_active": True, f"{prefix}staff__email_notifications": True}) & ~Q(**{f"{prefix}email": ""})


def _pending_emails():
    return Notification.objects.filter(_takes_email("recipient__"), emailed_at__isnull=True)


def notification_emails_send(*, kind: str | None = None, event_key: str | None = None, limit: int = 500) -> int:
    """E-mail the pending notifications of one event (or, with no event, the sweep: those of the last
    ``EMAIL_SWEEP_HOURS``) to the people who asked for e-mail; how many were sent. Each one is locked, sent and
    marked in one transaction: sent once, however often the task runs."""
    pending = _pending_emails()
    if kind is not None:
        pending = pending.filter(kind=kind, event_key=event_key or "")
    else:
        pending = pending.filter(created_at__gte=timezone.now() - timedelta(hours=EMAIL_SWEEP_HOURS))
    sent = 0
    for pk in list(pending.order_by("created_at", "id").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("recipient")
                .filter(pk=pk, emailed_at__isnull=True)
                .first()
            )
            if notification is None:
                continue  # another worker has it, or has sent it
            with translation.override(settings.LANGUAGE_CODE):
                subject = gettext("Registro 648: %(what)s") % {"what": render_label(notification)}
                what, path = notification_target(notification)
                body = "\n\n".join(
                    [
                        render_message(notification),
                        f"{what}: {site_url(path)}",
                        gettext("You can stop these e-mails on your notifications page: %(url)s")
                        % {"url": site_url(reverse("notification-settings"))},
                    ]
                )
            send_mail(
                subject=subject,
                message=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[notification.recipient.email],
            )
            notification.emailed_at = timezone.now()
            notification.save(update_fields=["emailed_at"])
        sent += 1
    return sent


# --- Kinds raised by the registry itself -------------------------------------------------------------------


def officers_of_region(region_id):
    return get_user_model().objects.filter(
        is_active=True, staff__role=Role.REGIONAL_OFFICER, staff__region_id=region_id
    )


def national_users():
    """The national role's people (AIFA)."""
    return get_user_model().objects.filter(is_active=True, staff__role=Role.NATIONAL)


def authorisations_expiring_notify(*, today: date | None = None) -> int:
    """Daily (beat): each authorisation to prescribe that ends within ``AUTHORISATION_NOTICE_DAYS`` days is announced
    to its prescriber and to the officers of its centre's region, once (the event is the authorisation and its
    end); how many authorisations were announced."""
    today = today or rome_today()
    expiring = PrescriberAuthorisation.objects.filter(
        Q(valid_to__gte=today) & Q(valid_to__lte=today + timedelta(days=AUTHORISATION_NOTICE_DAYS))
    ).select_related("prescriber", "centre")
    count = 0
    for authorisation in expiring:
        with transaction.atomic():
            notify(
                "authorisation_expiring",
                [authorisation.prescriber, *officers_of_region(authorisation.centre.region_id)],
                event_key=f"authorisation_expiring:{authorisation.pk}:{authorisation.valid_to.isoformat()}",
                params={"centre": authorisation.centre.name, "valid_to": day(authorisation.valid_to)},
            )
        count += 1
    return count
