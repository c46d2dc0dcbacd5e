"""Answers for requests that never reach a view's own error handling (issue 9): the contract's shapes, not a 500.

- A NUL byte anywhere in the path is a 404, and in a query parameter a 400, before any view runs (PostgreSQL
  refuses NUL in a text value, so a lookup by such a path segment or filter was a 500).
- Under ``/api/`` a 404 or 413 that Django produced itself (no URL matched, a malformed UUID, an oversize body
  read through ``request.body``) is rendered as JSON ``{"detail": ...}``, as the API's own errors are.
- A page's form posted with an invisible control character in a field is a 400 naming the field
  (``registry.invisible_characters``; the API's JSON parser refuses them the same way).
- A database that does not answer (``OperationalError``, ``InterfaceError``) is a 503 with ``Retry-After``:
  JSON under ``/api/``, a friendly page elsewhere; the reason goes to the log, never to the client.
"""

import logging
import sys

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found

from .errors import ErrorCode, with_code
from .invisible_characters import first_invisible

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# The FHIR base (prescriptions/api/fhir_urls.py) is an API too: its errors are JSON, never a page.
API_PREFIXES = (API_PREFIX, "/fhir/")
RETRY_AFTER_SECONDS = 30


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def not_found(request):
    if is_api(request):
        return JsonResponse({"detail": _("Not found."), "code": ErrorCode.NOT_FOUND}, status=404)
    return page_not_found(request, Http404())


def service_unavailable(request):
    message = _("The registry cannot reach its database right now. Nothing was saved; try again in a minute.")
    if is_api(request):
        response = JsonResponse({"detail": message, "code": ErrorCode.SERVICE_UNAVAILABLE}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def _too_large() -> JsonResponse:
    body = {"detail": _("The request body is too large."), "code": ErrorCode.REQUEST_TOO_LARGE}
    return JsonResponse(body, status=413)


def _nul_in_query(request) -> str | None:
    """The first query parameter whose name or value holds a NUL byte (PostgreSQL refuses it in text)."""
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return key.replace("\x00", "") or "query"
    return None


def _bad_query(request, key: str):
    message = _("A query parameter may not contain a NUL character.")
    if is_api(request):
        return JsonResponse(with_code({key: [message]}, 400), status=400)
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _invisible_in_form(request) -> tuple[str, str] | None:
    """The first field of a page's posted form holding an invisible control character, with the reason."""
    if request.method != "POST" or is_api(request) or request.content_type not in FORM_CONTENT_TYPES:
        return None
    try:
        fields = request.POST.lists()
    except Exception:  # a malformed body: the view's own handling answers it, as before
        return None
    for key, values in fields:
        if found := first_invisible({key: values}):
            return key, found[1]
    return None


def _bad_form(request, field: str, reason: str):
    body = render_to_string("400.html", {"field": field, "reason": reason}, request=request)
    return HttpResponse(body, status=400)


class RobustRequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            return not_found(request)
        if bad := _nul_in_query(request):
            return _bad_query(request, bad)
        if invisible := _invisible_in_form(request):
            return _bad_form(request, *invisible)
        response = self.get_response(request)
        if is_api(request) and not _is_json(response):
            if response.status_code == 404:
                return not_found(request)
            if response.status_code == 413:
                return _too_large()
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError):
            logger.error("database unavailable on %s %s", request.method, request.path, exc_info=exception)
            return service_unavailable(request)
        if isinstance(exception, RequestDataTooBig):
            if is_api(request):
                return _too_large()
            return HttpResponse(_("The request body is too large."), status=413, content_type="text/plain")
        return None


def server_error(request):
    """``handler500``: an error raised outside a view (a middleware's, a session's save) in the same shapes.

    The database down is a 503 there too; any other error is a 500, in JSON under ``/api/``.
    """
    exception = sys.exc_info()[1]
    if isinstance(exception, OperationalError | InterfaceError):
        return service_unavailable(request)
    if is_api(request):
        return JsonResponse({"detail": _("Server error."), "code": ErrorCode.SERVER_ERROR}, status=500)
    from .views import server_error as friendly_server_error

    return friendly_server_error(request)


class PatientIdentityDisplayLogMiddleware:
    """Writes the patients' identities a response showed to the read-access log, in one insert per response
    (``registry.patient_identity.identity_displayed``): a list of 25 rows costs one query, not 25."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from .patient_identity import identity_displays_log

        response = self.get_response(request)
        identity_displays_log(request)
        return response
