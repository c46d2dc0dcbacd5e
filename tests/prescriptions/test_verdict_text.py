"""Verdict texts stored as a msgid and parameters, rendered in the reader's language when read.

No database. The engine no longer translates: a result holds a ``Text`` (or sentences joined), its JSON goes into
the stored verdict, and whoever reads it renders it in the language active then.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from prescriptions.eligibility import criteria, criteria_in_force, evaluate
from prescriptions.eligibility.text import (
    Join,
    Text,
    from_json,
    join,
    msg,
    nmsg,
    pmsg,
    rendered_verdict,
    result_message,
)

from .test_eligibility_engine import SHORTAGE
from .verdict_cases import TOCILIZUMAB_NOV_1, cases

GOLDEN = json.loads((Path(__file__).parent / "data" / "verdict_messages_en.json").read_text())
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def english_date(iso: re.Match) -> str:
    """2021-11-01 → 01 Nov 2021: English's SHORT_DATE_FORMAT (registry/formats/en), the one change in English."""
    return f"{iso[3]} {MONTHS[int(iso[2]) - 1]} {iso[1]}"


def verdict_of(name: str):
    subject, shortages = cases()[name]
    return evaluate(
        subject,
        criteria=criteria_in_force(subject.assessed_at),
        shortages=(SHORTAGE,) if shortages == "in force" else (),
    )


def stored(verdict) -> dict:
    """The verdict as the database gives it back: through JSON."""
    return json.loads(json.dumps(verdict.as_dict()))


# -- the engine's texts against what it used to write ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_the_stored_text_renders_the_english_the_engine_used_to_write(name):
    with translation.override("it"):  # the language the engine runs in no longer matters
        verdict = verdict_of(name)
    with translation.override("en"):
        rendered = {result["code"]: result_message(result) for result in stored(verdict)["results"]}
        direct = {result.code: result.message for result in verdict.results}

    expected = {code: ISO_DATE.sub(english_date, message) for code, message in GOLDEN[name].items()}
    assert rendered == expected
    assert direct == expected


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_the_text_round_trips_through_json(name):
    verdict = verdict_of(name)
    for result, data in zip(verdict.results, stored(verdict)["results"], strict=True):
        assert from_json(data["text"]) == result.text
        assert from_json(json.loads(json.dumps(result.text.as_json()))).as_json() == data["text"]


def test_the_stored_result_keeps_code_outcome_source_and_details_beside_its_text():
    verdict = verdict_of("medicines_outside_windows")
    results = {result["code"]: result for result in stored(verdict)["results"]}

    assert set(results["AGE_ADULT"]) == {"code", "outcome", "source", "text"}
    assert set(results["NO_IL_OR_JAK_INHIBITOR"]) == {"code", "outcome", "source", "text", "details"}
    assert results["NO_IL_OR_JAK_INHIBITOR"]["details"] == {"confirmed_not_il_jak": ["Xyzzy"]}
    assert results["AGE_ADULT"]["text"] == {
        "msgid": "Born %(birth_date)s: aged %(age)s on %(date)s, at least %(min_age)s",
        "params": {
            "birth_date": {"date": "1960-05-01"},
            "date": {"date": "2021-11-03"},
            "min_age": 18,
            "age": 61,
        },
    }


def test_italian_reads_its_own_dates_and_decimals():
    verdict = stored(verdict_of("api_example"))
    with translation.override("it"):
        messages = {result["code"]: result_message(result) for result in verdict["results"]}

    assert messages["AGE_ADULT"] == "Nato/a il 01/05/1960: 61 anni il 03/11/2021, almeno 18"
    assert messages["PAO2_FIO2_ABOVE_150"] == "PaO2/FiO2 = 80/0,40 = 200,0 mmHg, superiore a 150"
    assert messages["NO_IL_OR_JAK_INHIBITOR"].startswith(
        "tocilizumab (L04AC07), ultima dose 01/11/2021: entro la finestra di washout di 65 giorni (termina il "
        "05/01/2022)"
    )
    assert messages["SUPAR_AT_LEAST_6"] == "suPAR 7,2 ng/mL, almeno 6"


def test_every_message_of_every_case_is_translated():
    for name in GOLDEN:
        verdict = stored(verdict_of(name))
        for result in verdict["results"]:
            with translation.override("it"):
                italian = result_message(result)
            with translation.override("en"):
                english = result_message(result)
            assert italian != english, (name, result["code"], english)


def test_the_rendered_verdict_is_the_api_shape_in_the_active_language():
    verdict = stored(verdict_of("api_example"))
    with translation.override("en"):
        english = rendered_verdict(verdict)
    with translation.override("it"):
        italian = rendered_verdict(verdict)

    assert [set(result) for result in english["results"]] == [
        {"code", "outcome", "message", "source"} for _ in english["results"]
    ]
    assert english["results"][0]["message"] == "Born 01 May 1960: aged 61 on 03 Nov 2021, at least 18"
    assert italian["results"][0]["message"] == "Nato/a il 01/05/1960: 61 anni il 03/11/2021, almeno 18"
    assert {key: english[key] for key in ("eligible", "criteria_version", "pao2_fio2_ratio")} == {
        "eligible": False,
        "criteria_version": "L648-2021-10",
        "pao2_fio2_ratio": 200.0,
    }
    assert verdict["results"][0]["text"]  # the stored form is left as it was
    assert "message" not in verdict["results"][0]


# -- the pieces -------------------------------------------------------------------------------------------------


def test_decimals_keep_the_digits_they_have():
    text = msg("suPAR %(value)s ng/mL, at least %(threshold)s", {"value": Decimal("200.0"), "threshold": Decimal("6")})
    with translation.override("en"):
        assert text.render() == "suPAR 200.0 ng/mL, at least 6"
    with translation.override("it"):
        assert text.render() == "suPAR 200,0 ng/mL, almeno 6"


def test_context_and_plural_choose_their_translation():
    severity = pmsg("pneumonia severity", "severe")
    course = nmsg(
        "%(dose)s mg %(route)s every %(interval)s h for %(days)s day",
        "%(dose)s mg %(route)s every %(interval)s h for %(days)s days",
        1,
        {"dose": Decimal("100"), "route": "SC", "interval": 24, "days": 1},
    )
    with translation.override("en"):
        assert (severity.render(), course.render()) == ("severe", "100 mg SC every 24 h for 1 day")
    with translation.override("it"):
        assert severity.render() == "severa"
        assert course.render() != "100 mg SC every 24 h for 1 day"
    assert from_json(json.loads(json.dumps(course.as_json()))) == course
    assert from_json(severity.as_json()) == severity


def test_joined_texts_drop_empty_parts_and_nest():
    labels = join(", ", [pmsg("pneumonia severity", "moderate"), pmsg("pneumonia severity", "severe")])
    text = join(". ", [msg("COVID-19 pneumonia: %(severity)s", {"severity": labels}), None, ""])
    assert isinstance(text, Join) and isinstance(text.parts[0], Text)
    with translation.override("en"):
        assert text.render() == "COVID-19 pneumonia: moderate, severe"
    with translation.override("it"):
        assert text.render() == "Polmonite da COVID-19: moderata, severa"
    assert from_json(json.loads(json.dumps(text.as_json()))) == text


def test_a_date_parameter_follows_the_language():
    text = msg("SARS-CoV-2 infection confirmed")  # no parameter: no % formatting at all
    day = msg("Tocilizumab shortage in force on %(date)s (%(reference)s, from %(starts_on)s)")
    day = Text(day.msgid, (("date", date(2021, 11, 3)), ("reference", "n. 3"), ("starts_on", date(2021, 11, 3))))
    with translation.override("en"):
        assert day.render() == "Tocilizumab shortage in force on 03 Nov 2021 (n. 3, from 03 Nov 2021)"
        assert text.render() == "SARS-CoV-2 infection confirmed"
    with translation.override("it"):
        assert "03/11/2021" in day.render()


def test_texts_are_hashable_values():
    one = msg("ANC %(value)s ×10⁹/L, at least %(threshold)s", {"value": Decimal("3.1"), "threshold": Decimal("1.5")})
    two = msg("ANC %(value)s ×10⁹/L, at least %(threshold)s", {"threshold": Decimal("1.5"), "value": Decimal("3.1")})
    assert one == two and hash(one) == hash(two)


# -- verdicts stored before the texts were structured --------------------------------------------------------------


def test_a_legacy_result_shows_its_stored_message():
    legacy = {"code": "AGE_ADULT", "outcome": "pass", "message": "Nato/a il 1960-05-01: 61 anni", "source": "CTS"}
    with translation.override("en"):
        assert result_message(legacy) == "Nato/a il 1960-05-01: 61 anni"
        assert rendered_verdict({"eligible": True, "results": [legacy]})["results"] == [legacy]


@pytest.mark.parametrize(
    "text",
    [
        {"msgid": "Born %(birth_date)s", "params": {"age": 3}},
        {"msgid": "%(x)s", "params": {"x": {"decimal": "not a number"}}},
        {"msgid": "%(x)s", "params": {"x": {"date": "2021-13-01"}}},
        {"join": [{"decimal": "1.5"}, {"msgid": "%(y)s", "params": {"z": 1}}], "sep": "; "},
        {"params": {}},
        {"msgid": 3},
        "a string",
        {"join": "x", "sep": ";"},
    ],
    ids=[
        "missing-param",
        "bad-decimal",
        "bad-date",
        "join-of-a-broken-text",
        "no-msgid",
        "not-a-string",
        "not-an-object",
        "bad-join",
    ],
)
def test_a_text_that_cannot_be_rendered_falls_back_to_the_stored_message_or_the_code(text):
    with translation.override("en"):
        assert result_message({"code": "AGE_ADULT", "text": text, "message": "as stored"}) == "as stored"
        assert result_message({"code": "AGE_ADULT", "text": text}) == "AGE_ADULT"


def test_a_verdict_without_results_renders_without_error():
    assert rendered_verdict({}) == {}
    assert rendered_verdict(None) == {}


def test_the_old_evaluation_of_the_api_example_reads_in_either_language():
    subject = cases()["api_example"][0]
    assert TOCILIZUMAB_NOV_1 in subject.concomitant_medications
    verdict = stored(verdict_of("api_example"))
    with translation.override("en"):
        english = result_message(verdict["results"][7])
    assert english.startswith("tocilizumab (L04AC07), last dose 01 Nov 2021: inside its 65-day washout window")


# -- the catalogue: every msgid of the criteria is extracted and translated ---------------------------------------

CRITERIA_SOURCE = Path(criteria.__file__)
KEYWORDS = {"msg": ("msgid",), "pmsg": ("context", "msgid"), "nmsg": ("msgid", "plural")}
# A few read the same in Italian, translated as such.
SAME_IN_ITALIAN = {"CPAP", "ECMO", "%(enzyme)s %(value)s × ULN"}


def criteria_msgids() -> list[dict]:
    """Every ``msg``/``pmsg``/``nmsg`` call of criteria.py with its literal strings, read from the source."""
    found = []
    for node in ast.walk(ast.parse(CRITERIA_SOURCE.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KEYWORDS:
            names = KEYWORDS[node.func.id]
            literals = [arg.value for arg in node.args[: len(names)] if isinstance(arg, ast.Constant)]
            assert len(literals) == len(names), f"line {node.lineno}: a msgid must be a literal"
            found.append(dict(zip(names, literals, strict=True)))
    return found


def test_every_msgid_of_the_criteria_has_its_italian_translation():
    msgids = criteria_msgids()
    assert len(msgids) > 60
    for entry in msgids:
        with translation.override("it"):
            if "context" in entry:
                italian = translation.pgettext(entry["context"], entry["msgid"])
            elif "plural" in entry:
                italian = translation.ngettext(entry["msgid"], entry["plural"], 2)
            else:
                italian = translation.gettext(entry["msgid"])
        assert italian != entry["msgid"] or entry["msgid"] in SAME_IN_ITALIAN, entry


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext not installed (apt-get install gettext)")
def test_make_messages_extracts_every_msgid_of_the_criteria():
    """The project's makemessages passes xgettext the keywords msg, pmsg and nmsg (else their msgids would go
    obsolete in django.po at the next ``make messages``)."""
    from registry.management.commands.makemessages import Command

    pot = subprocess.run(
        ["xgettext", "--language=Python", "--output=-", *Command.xgettext_options, str(CRITERIA_SOURCE)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    extracted = {json.loads(line[len("msgid ") :]) for line in pot.splitlines() if line.startswith("msgid ")}
    extracted |= {
        "".join(json.loads(part) for part in re.findall(r'^"(?:[^"\\]|\\.)*"$', block, re.M))
        for block in re.findall(r'^msgid ""\n((?:".*"\n)+)', pot, re.M)
    }
    assert {entry["msgid"] for entry in criteria_msgids()} <= extracted
