"""Session lifetime, the second-factor gate and ``Cache-Control: no-store``."""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from registry.errors import ErrorCode

from .otp import has_second_factor, otp_required_for

SESSION_STARTED = "registry_signed_in_at"
SESSION_LAST_SEEN = "registry_last_seen_at"
# The last-seen time is written at most this often, so a busy page is not a session write per request.
LAST_SEEN_GRANULARITY = 30


@receiver(user_logged_in, dispatch_uid="registry.session_started")
def _session_started(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None:
        now = int(time.time())
        session[SESSION_STARTED] = now
        session[SESSION_LAST_SEEN] = now


class SessionLifetimeMiddleware:
    """Ends a signed-in session after SESSION_IDLE_TIMEOUT of inactivity or SESSION_COOKIE_AGE after sign-in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            session = request.session
            started = session.setdefault(SESSION_STARTED, now)
            last_seen = session.get(SESSION_LAST_SEEN, now)
            if now - started > settings.SESSION_COOKIE_AGE or now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                logout(request)
            elif now - last_seen >= LAST_SEEN_GRANULARITY or SESSION_LAST_SEEN not in session:
                session[SESSION_LAST_SEEN] = now
        return self.get_response(request)


class SecondFactorRequiredMiddleware:
    """A signed-in user who must use a second factor sees nothing until they have passed it."""

    OPEN_NAMES = ("otp-verify", "otp-setup", "logout", "login", "set_language")
    OPEN_PREFIXES = ("/static/", "/health/", "/api/v1/auth/token/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and otp_required_for(user)
            and not self._is_open(request.path)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "detail": _("A second factor is required: verify your one-time code on the sign-in page."),
                        "code": ErrorCode.PERMISSION_DENIED,
                    },
                    status=403,
                )
            target = "otp-verify" if has_second_factor(user) else "otp-setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    def _is_open(self, path: str) -> bool:
        return path.startswith(self.OPEN_PREFIXES) or any(path == reverse(name) for name in self.OPEN_NAMES)


class NoStoreMiddleware:
    """Nothing from the API, nor any page a signed-in user sees, is kept by a browser or proxy cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/") or request.user.is_authenticated:
            add_never_cache_headers(response)
        return response
