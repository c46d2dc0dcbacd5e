"""The API's JSON parser: bounded in size and in nesting, so a hostile body is a 400 or a 413, never a 500.

DRF's own ``JSONParser`` reads the stream past ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (Django checks that limit only
on ``request.body``) and lets ``json`` recurse until a ``RecursionError``: 200 KB of ``[`` was a 500 on every
POST, the unauthenticated token endpoint included. No body of the contract nests deeper than a few levels.
A string holding an invisible control character is a 400 naming its field (``registry.invisible_characters``).
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

from registry.invisible_characters import first_invisible

DEFAULT_MAX_DEPTH = 32


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


def max_depth() -> int:
    return int(getattr(settings, "JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether arrays and objects in the JSON ``text`` nest deeper than ``limit`` (brackets in strings ignored).

    A linear scan before parsing, so that the parser's recursion is bounded by ``limit``.
    """
    depth = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


class BoundedJSONParser(JSONParser):
    """JSON with at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes (else 413) and ``JSON_MAX_DEPTH`` levels (else 400)."""

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return None
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise RequestTooLarge()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(_("The JSON body is not valid text in %(encoding)s.") % {"encoding": encoding}) from None
        depth = max_depth()
        if nesting_exceeds(text, depth):
            raise ParseError(_("The JSON body nests deeper than %(depth)d levels.") % {"depth": depth})
        try:
            parse_constant = json.strict_constant if self.strict else None  # NaN and Infinity are not JSON
            data = json.loads(text, parse_constant=parse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from None
        if found := first_invisible(data):
            field, reason = found
            raise ValidationError({field: [reason]})
        return data
