from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView

from . import health as health_checks
from . import selectors
from .models import Role
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
