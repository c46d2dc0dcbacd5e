"""Notifications: who is told what, once per event, in their own language.

``notify(kind, recipients, event_key=…)`` is the one way to write a ``Notification``. It runs inside the caller's
transaction; a person already told of that event (same ``kind`` and ``event_key``) is not told again, so a
retried task or a repeated request notifies nobody twice. The text is not stored: ``KINDS`` renders it from the
notification's ``params`` in the reader's language when it is shown or e-mailed. Params never hold the patient's
identity (a pseudonym's short form, a centre's name, a date, a count are fine).

To add a kind: one entry in ``KINDS`` (its label and message, both lazily translated, the message a ``%``-format
of the params) and its Italian in ``locale/it``.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .models import Notification


@dataclass(frozen=True)
class Kind:
    label: str
    message: str


KINDS: dict[str, Kind] = {
    "request_waiting": Kind(_("Request waiting at the pharmacy"), _("A prescription for %(centre)s is waiting.")),
    "dispensed": Kind(_("Syringes dispensed"), _("%(syringes)s syringes dispensed for %(centre)s.")),
    "on_hold": Kind(_("Request on hold"), _("The pharmacy put a request on hold: %(reason)s.")),
    "refused": Kind(_("Request refused"), _("The pharmacy refused a request: %(category)s.")),
    "blocking_alert": Kind(_("Blocking alert"), _("A course has a blocking alert: %(alert)s.")),
    "outcome_due": Kind(_("Day-28 outcome due"), _("The day-28 outcome of a course is due.")),
    "report_ready": Kind(_("Report ready"), _("Your report is ready.")),
    "stock_cover_low": Kind(
        _("Stock cover low"),
        _("%(pharmacy)s has %(days)s days of anakinra cover left, below its threshold of %(threshold)s days."),
    ),
    "authorisation_expiring": Kind(
        _("Authorisation expiring"), _("An authorisation to prescribe at %(centre)s ends on %(valid_to)s.")
    ),
}


def render_message(notification: Notification) -> str:
    """The notification's text in the active language; a missing param leaves the message without it."""
    kind = KINDS.get(notification.kind)
    if kind is None:
        return notification.kind
    template = str(kind.message)
    try:
        return template % (notification.params or {})
    except (KeyError, TypeError, ValueError):
        return str(kind.label)


def notify(kind: str, recipients: Iterable, *, event_key: str, prescription_id=None, params=None) -> int:
    """Tell each of ``recipients`` (users; duplicates and ``None`` ignored) about one event, once.

    Returns how many were asked to be written (those already told are skipped by the unique constraint).
    Call it inside the transaction of the write it is about.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
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
    return len(rows)
