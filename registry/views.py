from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.views import SpectacularAPIView

from . import health as health_checks
from . import selectors
from .errors import NotFound
from .models import Role
from .notifications import (
    email_preference,
    email_preference_set,
    notification_mark_read,
    notification_target,
    notifications_mark_all_read,
    notifications_of,
    render_label,
    render_message,
)
from .permissions import actor_for


@login_required
def home(request):
    """Each role's starting page: what they can do and where."""
    actor = actor_for(request.user)
    context = {
        "actor": actor,
        "centres": selectors.centre_list(user=request.user)[:50],
        "prescribing_centres": selectors.prescribing_centres(user=request.user)
        if actor.role == Role.PRESCRIBER
        else [],
    }
    return render(request, "registry/home.html", context)


@require_GET
def health(request):
    """For a load balancer or a monitor: database, cache and broker each checked; 503 when one is down."""
    healthy, body = health_checks.health_report()
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


# --- Error pages (handler403/404/500 in registry/urls.py) ------------------------------------------
# Each renders a self-contained template (templates/errors/base.html: no static files, no user, no database),
# in the language LocaleMiddleware chose, and falls back to plain text if even that fails.


def _error_page(template_name: str, status: int, fallback: str) -> HttpResponse:
    try:
        body = loader.get_template(template_name).render({})
    except Exception:  # noqa: BLE001 - an error page must not fail in turn
        return HttpResponse(fallback, status=status, content_type="text/plain; charset=utf-8")
    return HttpResponse(body, status=status)


def permission_denied(request, exception=None):
    return _error_page("403.html", 403, "403 Forbidden")


def page_not_found(request, exception=None):
    return _error_page("404.html", 404, "404 Not Found")


def server_error(request):
    return _error_page("500.html", 500, "500 Server Error")


# --- The OpenAPI schema, readable in a browser ---------------------------------------------------------------


class SchemaView(SpectacularAPIView):
    """``/api/schema/``: YAML for API clients (``?format=json`` for JSON); a browser, which asks for HTML, gets the
    same YAML as plain text to read instead of a file to download."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        accept = request.META.get("HTTP_ACCEPT", "")
        renderer = getattr(request, "accepted_renderer", None)
        if "text/html" in accept and renderer is not None and renderer.format == "yaml":
            response.content_type = "text/plain; charset=utf-8"
        return response


# --- Notifications (the caller's own) ------------------------------------------------------------------------

NOTIFICATIONS_PAGE_SIZE = 25


def _back(request, default: str) -> str:
    next_url = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return next_url
    return default


def _opens(notification) -> tuple[str, str] | None:
    """The words and path of what the notification is about (as its e-mail links it), or None for none but this page."""
    words, path = notification_target(notification)
    return None if path == reverse("notifications") else (words, path)


@login_required
@require_GET
def notifications_page(request):
    """The user's notifications, newest first (``?unread=1``: only the unread), each in the reader's language."""
    unread_only = request.GET.get("unread") == "1"
    page_obj = Paginator(notifications_of(request.user, unread_only=unread_only), NOTIFICATIONS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {"notification": n, "label": render_label(n), "message": render_message(n), "opens": _opens(n)}
        for n in page_obj.object_list
    ]
    return render(
        request,
        "registry/notifications.html",
        {"rows": rows, "page_obj": page_obj, "unread_only": unread_only, "email": email_preference(request.user)},
    )


@login_required
@require_POST
def notification_read(request, notification_id):
    try:
        notification_mark_read(user=request.user, notification_id=notification_id)
    except NotFound:
        raise Http404 from None
    return redirect(_back(request, reverse("notifications")))


@login_required
@require_POST
def notifications_read_all(request):
    count = notifications_mark_all_read(user=request.user)
    messages.success(
        request, ngettext("%(n)d notification marked read.", "%(n)d notifications marked read.", count) % {"n": count}
    )
    return redirect(_back(request, reverse("notifications")))


@login_required
def notification_settings(request):
    """Whether the user's notifications are also e-mailed (the in-app ones always appear)."""
    current = email_preference(request.user)
    if request.method == "POST" and current is not None:
        wanted = request.POST.get("email_notifications") == "on"
        email_preference_set(user=request.user, email=wanted)
        messages.success(
            request,
            _("Your notifications will be e-mailed to you.")
            if wanted
            else _("Your notifications will not be e-mailed."),
        )
        return redirect("notification-settings")
    return render(request, "registry/notification_settings.html", {"email": current})
