"""django-axes glue: how a username is counted, what a locked-out client is told, the audit of failures, and
one sign-in attempt at a time per username and address.

django-axes checks the lockout before the password and counts a failure after it: requests that arrive together
would all pass the check before any of them is counted (40 at once counted 6 or 7, each with its password
tried). :func:`one_attempt_at_a_time` makes the attempts of one (username, address) take turns, from the check to
the count, so at most ``LOGIN_MAX_FAILURES`` passwords are ever tried and every later attempt is refused as
locked out. Every way in goes through it: the sign-in page and the admin's (:class:`LoginForm`,
:class:`AdminLoginForm`), the token endpoint and the one-time-code checks.
"""

from contextlib import contextmanager

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from registry.audit import audit_record
from registry.audit_actions import AuditAction
from registry.db_locks import LOGIN_ATTEMPT, advisory_xact_lock
from registry.errors import ErrorCode
from registry.http import client_ip


def lockout_username(request, credentials) -> str | None:
    """The username as counted: case-insensitive, so ``Prescriber.Milano`` and ``prescriber.milano`` share a count."""
    source = credentials if credentials else getattr(request, "POST", {})
    username = source.get("username") if source else None
    return username.strip().lower() if isinstance(username, str) else None


@contextmanager
def one_attempt_at_a_time(request, username: str | None):
    """Hold, for the block, the lock of this username (as counted) and client address, in a transaction.

    Wrap the lockout check, the password (or code) check and the failure's count: the next attempt of the same
    pair waits until this one is counted and committed, then sees the count. On PostgreSQL an advisory lock
    (registry.db_locks); SQLite serialises writers on its own. Attempts of other users or addresses never wait.
    """
    name = f"{lockout_username(request, {'username': username}) or ''}|{client_ip(request)}"
    with transaction.atomic():
        advisory_xact_lock(LOGIN_ATTEMPT, name)
        yield


class _OneAttemptAtATime:
    """An authentication form whose check (lockout, password, count of the failure) runs one at a time."""

    def clean(self):
        refused = None
        with one_attempt_at_a_time(self.request, self.cleaned_data.get("username")):
            try:
                return super().clean()
            except forms.ValidationError as error:
                refused = error  # raised after the block: the failure's count commits, it is not rolled back
        raise refused


class LoginForm(_OneAttemptAtATime, AuthenticationForm):
    """The sign-in page's form."""


class AdminLoginForm(_OneAttemptAtATime, AdminAuthenticationForm):
    """The admin's sign-in form."""


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
