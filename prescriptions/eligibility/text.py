"""Texts stored as a msgid and parameters, rendered in the reader's language when read.

A verdict is written once, at submission, and read for years, by readers of either language (the pages, the API,
FHIR). So the engine does not translate: each criterion builds a ``Text`` — a msgid (with a gettext context, or
singular and plural with a count) and named parameters — and the verdict stores its JSON. Whoever reads the
verdict renders it then, in the language active for that request::

    text = msg("suPAR %(value)s ng/mL, below %(threshold)s", {"value": Decimal("5.9"), "threshold": Decimal("6")})
    text.as_json()   # {"msgid": "suPAR %(value)s ...", "params": {"value": {"decimal": "5.9"}, ...}}
    text.render()    # "suPAR 5.9 ng/mL, below 6" in English, "suPAR 5,9 ng/mL, inferiore a 6" in Italian

A parameter is plain text (a medicine as the clinician wrote it, an ATC code, an AIFA reference), a whole number,
a ``Decimal`` (rendered with the digits it has, in the language's notation: ``200.0`` / ``200,0``), a ``date``
(the language's ``SHORT_DATE_FORMAT``: ``01 Nov 2021`` / ``01/11/2021``) or another text (a label such as a
pneumonia severity, a list joined by ``join``).

``msg``, ``pmsg`` and ``nmsg`` take their msgids where ``gettext``, ``pgettext`` and ``ngettext`` do: the project's
``makemessages`` (registry/management/commands/makemessages.py) extracts them under these names.

A msgid is part of the stored data: a verdict keeps the msgid it was written with. Rewording a msgid leaves the
verdicts already stored on the old one, which still render (gettext gives back the msgid itself, in English, when
the catalogue no longer has it): keep the old entry translated in ``django.po`` when rewording.

Pure: no ORM and no clock, only Django's translation and formats.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext, ngettext, npgettext, pgettext

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Text:
    """One translatable sentence: ``msgid`` (``plural`` and ``count`` for ngettext, ``context`` for pgettext)
    and its named parameters, kept as sorted ``(name, value)`` pairs so that a text is a hashable value."""

    msgid: str
    params: tuple[tuple[str, Param], ...] = ()
    context: str = ""
    plural: str = ""
    count: int | None = None

    def template(self) -> str:
        """The msgid translated into the active language."""
        if self.plural:
            count = self.count if self.count is not None else 1
            if self.context:
                return npgettext(self.context, self.msgid, self.plural, count)
            return ngettext(self.msgid, self.plural, count)
        if self.context:
            return pgettext(self.context, self.msgid)
        return gettext(self.msgid)

    def render(self) -> str:
        """The text in the active language, its parameters in the language's notation."""
        if not self.params:
            return self.template()
        return self.template() % {name: _render_param(value) for name, value in self.params}

    def as_json(self) -> dict:
        data: dict = {"msgid": self.msgid}
        if self.context:
            data["context"] = self.context
        if self.plural:
            data["plural"] = self.plural
            data["count"] = self.count
        if self.params:
            data["params"] = {name: _param_json(value) for name, value in self.params}
        return data


@dataclass(frozen=True)
class Join:
    """Texts side by side, with a separator that is the same in every language ("; ", ", ", ". ")."""

    parts: tuple[Text | Join | str, ...]
    separator: str

    def __bool__(self) -> bool:
        return bool(self.parts)  # nothing joined is no text, as an empty string is

    def render(self) -> str:
        return self.separator.join(_render_param(part) for part in self.parts)

    def as_json(self) -> dict:
        return {"join": [_param_json(part) for part in self.parts], "sep": self.separator}


Message = Text | Join
# A parameter: plain text, a whole number, a decimal, a date, or another text.
Param = str | int | Decimal | date | Text | Join


def _params(values: Mapping[str, Param] | None) -> tuple[tuple[str, Param], ...]:
    for name, value in (values or {}).items():
        if not isinstance(value, Param) or isinstance(value, bool | datetime):
            raise TypeError(f"{name}: a text parameter is text, a whole number, a Decimal, a date or a text")
    return tuple(sorted((values or {}).items()))


def msg(msgid: str, params: Mapping[str, Param] | None = None) -> Text:
    """A text translated with gettext."""
    return Text(msgid, _params(params))


def pmsg(context: str, msgid: str, params: Mapping[str, Param] | None = None) -> Text:
    """A text translated with pgettext: the same English word may take another translation in another context."""
    return Text(msgid, _params(params), context=context)


def nmsg(singular: str, plural: str, count: int, params: Mapping[str, Param] | None = None) -> Text:
    """A text translated with ngettext, singular or plural for ``count``."""
    return Text(singular, _params(params), plural=plural, count=count)


def join(separator: str, parts: Iterable[Message | str | None]) -> Join:
    """The parts given (an empty one or ``None`` is left out), with ``separator`` between them."""
    return Join(tuple(part for part in parts if part), separator)


# -- parameters -------------------------------------------------------------------------------------------------


def _render_param(value: Param) -> str:
    if isinstance(value, Text | Join):
        return value.render()
    if isinstance(value, Decimal):
        # Without decimal_pos, number_format keeps the digits the value has (200.0 → 200,0; 6 → 6).
        return formats.number_format(value)
    if isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def _param_json(value: Param):
    if isinstance(value, Text | Join):
        return value.as_json()
    if isinstance(value, Decimal):
        return {"decimal": format(value, "f")}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    return value


def _param_from_json(data) -> Param:
    if isinstance(data, str) or (isinstance(data, int) and not isinstance(data, bool)):
        return data
    if isinstance(data, dict):
        if "decimal" in data:
            return Decimal(data["decimal"])
        if "date" in data:
            return date.fromisoformat(data["date"])
        return from_json(data)
    raise ValueError(f"not a text parameter: {data!r}")


def from_json(data) -> Message:
    """The text ``as_json`` gave; ``ValueError`` (or ``TypeError``) for anything else."""
    if not isinstance(data, dict):
        raise ValueError(f"not a text: {data!r}")
    if "join" in data:
        if not isinstance(data["join"], list) or not isinstance(data.get("sep"), str):
            raise ValueError(f"not a joined text: {data!r}")
        return Join(tuple(_param_from_json(part) for part in data["join"]), data["sep"])
    msgid = data.get("msgid")
    if not isinstance(msgid, str):
        raise ValueError(f"a text without a msgid: {data!r}")
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise ValueError(f"parameters are an object: {data!r}")
    count = data.get("count")
    return Text(
        msgid,
        tuple(sorted((name, _param_from_json(value)) for name, value in params.items())),
        context=data.get("context") or "",
        plural=data.get("plural") or "",
        count=count if isinstance(count, int) else None,
    )


# -- stored verdicts ------------------------------------------------------------------------------------------------


def result_message(result: Mapping) -> str:
    """A stored criterion result's message in the active language.

    From its ``text``; a result stored before texts were structured has only the ``message`` it was rendered
    with, shown as it is. A text that cannot be rendered (which no code of the registry writes) falls back to
    that message, or to the criterion code, and is logged: a reader never gets a 500 for it.
    """
    text = result.get("text")
    if text is not None:
        try:
            return from_json(text).render()
        except (KeyError, TypeError, ValueError, ArithmeticError):
            logger.warning("Verdict text of %s cannot be rendered: %r", result.get("code"), text, exc_info=True)
    return result.get("message") or str(result.get("code") or "")


def rendered_verdict(stored: Mapping | None) -> dict:
    """A stored verdict as the API and the pages show it: each result's ``message`` in the active language, in
    place of its structured ``text`` (API.md: ``code``, ``outcome``, ``message``, ``source``, and ``details``)."""
    if not stored:
        return {}
    verdict = dict(stored)
    if "results" in verdict:
        verdict["results"] = [_rendered_result(result) for result in verdict["results"] or ()]
    return verdict


def _rendered_result(result: Mapping) -> dict:
    rendered = {key: value for key, value in result.items() if key not in ("text", "message")}
    rendered["message"] = result_message(result)
    # The API's order: code, outcome, message, source (details last, as the engine wrote them).
    order = {"code": 0, "outcome": 1, "message": 2, "source": 3}
    return dict(sorted(rendered.items(), key=lambda item: order.get(item[0], 4)))
