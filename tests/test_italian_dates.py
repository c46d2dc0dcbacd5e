"""Italian elides the article before a day that starts with a vowel sound: "l'8 dicembre", "dall'11 marzo", never
"il 8 dicembre". A message that puts a long date (``registry.formats.long_date``: "8 dicembre 2026") after "il",
"dal", "del", "al" or "fino a" is wrong on the 8th and the 11th of every month, so the Italian messages never
put one there ("in data 8 dicembre 2026", "per il giorno 8 dicembre 2026").

The messages are found in the code: every translated text whose placeholder is filled with ``long_date(...)``."""

import re
from datetime import date
from pathlib import Path

import pytest
from django.utils import translation

from registry.formats import long_date

ROOT = Path(__file__).resolve().parent.parent
# _( "..." "..." ) % {... "name": long_date(...) ...}
MESSAGE = re.compile(r'_\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)\s*%\s*\{(.*?)\}', re.S)
LONG_DATE_PARAM = re.compile(r'"(\w+)":\s*long_date\(')
# What may not come right before the date in Italian: an article or a preposition joined to one, or "fino a".
BEFORE = re.compile(r"\b(il|dal|del|al|nel|sul|fino a|entro il)\s*$", re.I)


def long_date_messages() -> list[tuple[str, str]]:
    """(msgid, placeholder) of every message of the code that takes a long date."""
    found = []
    for path in [*ROOT.glob("registry/**/*.py"), *ROOT.glob("prescriptions/**/*.py"), *ROOT.glob("reports/**/*.py")]:
        if "migrations" in path.parts:
            continue
        for match in MESSAGE.finditer(path.read_text()):
            msgid = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', match.group(1)))
            for name in LONG_DATE_PARAM.findall(match.group(2)):
                found.append((msgid, name))
    return found


MESSAGES = long_date_messages()


def test_the_messages_taking_a_long_date_are_found():
    msgids = [msgid for msgid, _name in MESSAGES]
    assert "A dose is already recorded on %(day)s (one a day)." in msgids
    assert "This lot expired on %(date)s." in msgids
    assert len(MESSAGES) >= 8


@pytest.mark.parametrize(("msgid", "name"), MESSAGES, ids=[f"{m[:40]}:{n}" for m, n in MESSAGES])
def test_no_article_before_a_long_date_in_italian(msgid, name):
    with translation.override("it"):
        italian = translation.gettext(msgid)
    placeholder = f"%({name})s"
    assert italian != msgid, f"not translated: {msgid!r}"
    before = italian.split(placeholder, 1)[0]
    eighth = italian.replace(placeholder, "8 dicembre 2026")
    assert not BEFORE.search(before), f"{italian!r}: on the 8th it reads {eighth!r}"


def test_the_eighth_reads_right():
    with translation.override("it"):
        message = translation.gettext("A dose is already recorded on %(day)s (one a day).") % {
            "day": long_date(date(2026, 12, 8))
        }
    assert message == "Per il giorno 8 dicembre 2026 è già registrata una dose (una al giorno)."
