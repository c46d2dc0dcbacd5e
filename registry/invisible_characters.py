"""Invisible control characters are refused in every text the registry takes in, with a 400 naming the field.

A right-to-left override (U+202E) makes "exe.txt" display as "txt.exe"; zero-width spaces make two names that look
the same compare different; a stray control character breaks a CSV, a PDF or an E2B message downstream. None of
them belongs in a name, a lot number, a note or a reason, so they are refused at the door, the same way in the
API's JSON (``registry.api.parsers``) and in the pages' forms (``registry.middleware``), rather than neutralised
silently in some places and kept in others.

Refused: Unicode's control characters (category Cc) but tab, line feed and carriage return; its format characters
(Cf: the bidirectional embeddings, overrides and isolates, zero-width space, joiners, word joiner, byte-order mark,
soft hyphen, …); and the line and paragraph separators (Zl, Zp).
"""

import unicodedata
from collections.abc import Iterator

from django.utils.translation import gettext as _

_ALLOWED_CONTROLS = frozenset("\t\n\r")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def invisible_character(text: str) -> str | None:
    """The first refused character of ``text``, or None."""
    if text.isascii() and text.isprintable():
        return None  # the usual case, decided without a look at each character
    for character in text:
        if character not in _ALLOWED_CONTROLS and unicodedata.category(character) in _REFUSED_CATEGORIES:
            return character
    return None


def _strings(value, path: tuple) -> Iterator[tuple[tuple, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path, str(key)
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, str(index)))


def first_invisible(data) -> tuple[str, str] | None:
    """``(field, message)`` for the first string of ``data`` (parsed JSON, or a form's fields) holding a refused
    character: the field as a dotted path (``patient.family_name``, ``concomitant_medications.0.name``)."""
    for path, text in _strings(data, ()):
        if (character := invisible_character(text)) is not None:
            return ".".join(path) or "non_field_errors", message(character)
    return None


def message(character: str) -> str:
    shown = f"U+{ord(character):04X} {unicodedata.name(character, '')}".strip()
    return _("The text holds an invisible control character (%(character)s): type it again without it.") % {
        "character": shown
    }
