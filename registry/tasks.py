"""Background work of the organisation domain. Tasks take ids, never model instances."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext as _

from .audit_anchors import AUDIT_TRAIL, anchor_write_all, verify_everything
from .formats import long_date
from .models import PrescriberAuthorisation
from .notifications import authorisations_expiring_notify, notification_emails_send

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def send_authorisation_notice(authorisation_id: str) -> bool:
    """Tell a prescriber they were authorised at a centre (queued by prescriber_authorise after commit)."""
    authorisation = (
        PrescriberAuthorisation.objects.select_related("prescriber", "centre").filter(pk=authorisation_id).first()
    )
    if authorisation is None or not authorisation.prescriber.email:
        return False
    period_end = long_date(authorisation.valid_to) if authorisation.valid_to else _("further notice")
    send_mail(
        subject=_("Registro 648: authorisation to prescribe anakinra at %(centre)s") % {"centre": authorisation.centre},
        message=_(
            "You may prescribe anakinra for COVID-19 under Law 648/96 at %(centre)s from %(start)s until %(end)s."
        )
        % {"centre": authorisation.centre, "start": long_date(authorisation.valid_from), "end": period_end},
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[authorisation.prescriber.email],
    )
    return True


@shared_task(acks_late=True)
def anchor_audit_trail() -> int | None:
    """Every few minutes (beat): a signed anchor of the chain heads changed since the last one, for the audit trail
    and for the read-access log; the audit trail's anchor's id."""
    anchor = anchor_write_all()[AUDIT_TRAIL.name]
    return anchor.id if anchor is not None else None


@shared_task(acks_late=True)
def verify_audit_trail() -> dict:
    """Nightly (beat): recompute every chain of the audit trail and of the read-access log, compare each with its
    anchors, log the first problem, if any."""
    first_broken = next(verify_everything(), None)
    if first_broken is not None:
        logger.error("Audit trail broken at %s", first_broken)
        return {"intact": False, "first_broken": str(first_broken)}
    logger.info("Audit trail intact")
    return {"intact": True, "first_broken": None}


# OSError: the mail server refused or was unreachable (smtplib's errors are OSErrors); what was sent stays sent.
@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification_emails(kind: str | None = None, event_key: str | None = None) -> int:
    """E-mail one event's notifications (queued by ``notify`` after commit), or with no event (beat) every pending
    one of the last two days; each is sent once however often this runs. How many were sent."""
    return notification_emails_send(kind=kind, event_key=event_key)


@shared_task(acks_late=True)
def notify_expiring_authorisations() -> int:
    """Daily (beat): announce the authorisations to prescribe ending within 30 days, once each."""
    return authorisations_expiring_notify()
