"""Errors in the contract's shapes (API.md, "Errors"); never a 500 for bad input."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from registry.errors import Conflict, InvalidInput, NotFound, with_code
from registry.permissions import PermissionDenied


def exception_handler(exc, context):
    """Every error in API.md's shape, with a ``code``: the conflict's on a 409, else the status's
    (``registry.errors.ErrorCode``: ``VALIDATION_ERROR`` beside a 400's field messages, ``PERMISSION_DENIED`` beside
    a 403's ``detail``, …)."""
    response = _response(exc, context)
    if response is not None:
        response.data = with_code(response.data, response.status_code)
    return response


def _response(exc, context):
    if isinstance(exc, InvalidInput):
        return Response(dict(exc.errors), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(errors, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Conflict):
        return Response({"detail": exc.detail, "code": exc.code, **exc.extra}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc))
    elif isinstance(exc, NotFound | Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)
