"""django-axes glue: how a username is counted, what a locked-out client is told, and the audit of failures."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from registry.audit import audit_record
from registry.audit_actions import AuditAction
from registry.errors import ErrorCode
from registry.http import client_ip


def lockout_username(request, credentials) -> str | None:
    """The username as counted: case-insensitive, so ``Prescriber.Milano`` and ``prescriber.milano`` share a count."""
    source = credentials if credentials else getattr(request, "POST", {})
    username = source.get("username") if source else None
    return username.strip().lower() if isinstance(username, str) else None


def lockout_response(request, original_response=None, credentials=None):
    """429 for a locked username and address: JSON on the API, a page elsewhere."""
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    message = _("Too many failed attempts: try again in %(minutes)d minutes.") % {"minutes": minutes}
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": ErrorCode.TOO_MANY_REQUESTS}, status=429)
    return render(request, "registration/locked.html", {"message": message}, status=429)


def _audit_on_user(username: str | None, action: AuditAction, changes: dict) -> None:
    if not username:
        return
    User = get_user_model()
    with transaction.atomic():
        # The row lock orders concurrent failures of one user, so their events never race on the chain.
        user = User.objects.select_for_update().filter(username__iexact=username).order_by("pk").first()
        if user is not None:
            audit_record(actor=None, action=action, obj=user, changes=changes)


def audit_login_failed(sender, credentials, request=None, **kwargs):
    """Every refused sign-in of an existing user goes in that user's audit chain (unknown names: axes's log).

    Runs after axes's own receiver (axes is installed first), so the attempt is already counted: a counted
    attempt at the limit is recorded as the lockout (attempts refused during a lockout are not counted, so
    one at a time only the one that reaches it; several if they raced past it together).
    """
    if request is None:
        return
    counted = getattr(request, "axes_failures_since_start", None)
    locked_now = counted is not None and counted >= settings.LOGIN_MAX_FAILURES
    _audit_on_user(
        lockout_username(request, credentials),
        AuditAction.LOGIN_LOCKOUT if locked_now else AuditAction.LOGIN_FAILURE,
        {
            "address": client_ip(request),
            "path": request.path,
            "failures": counted,
            "refused_while_locked": counted is None and bool(getattr(request, "axes_locked_out", False)),
        },
    )
