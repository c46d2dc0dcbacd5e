"""Fiscal codes: what is accepted, what is refused, and that only a keyed pseudonym is ever kept."""

import hashlib
import re
from datetime import date

import pytest
from django.db import connection
from django.utils import translation
from stdnum import exceptions as stdnum_exceptions
from stdnum.it import codicefiscale
from stdnum.it.codicefiscale import calc_check_digit

from registry import services
from registry.errors import InvalidInput
from registry.models import AuditEvent, Patient
from registry.pseudonym import InvalidFiscalCode, pseudonymise, validate_fiscal_code


@pytest.fixture(autouse=True)
def english():
    """These tests assert the English messages; the default language is Italian."""
    with translation.override("en"):
        yield


CODE = "RSSMRA60E01F205B"  # Mario Rossi, male, born 1960-05-01 in Milano (F205)
BIRTH = date(1960, 5, 1)

# Omocodia: the seven digits are replaced by letters, right to left, when two people would share a code.
OMOCODIA = dict(zip("0123456789", "LMNPQRSTUV", strict=True))
OMOCODIC_POSITIONS = (14, 13, 12, 10, 9, 7, 6)


def omocodic(code: str, level: int) -> str:
    """``code`` with its last ``level`` digits replaced by letters, and the check character recomputed."""
    characters = list(code[:15])
    for position in OMOCODIC_POSITIONS[:level]:
        characters[position] = OMOCODIA[characters[position]]
    body = "".join(characters)
    return body + calc_check_digit(body)


def female(code: str) -> str:
    """The same code for a woman born the same day (day of birth + 40)."""
    body = code[:9] + f"{int(code[9:11]) + 40:02d}" + code[11:15]
    return body + calc_check_digit(body)


def test_a_valid_code_is_accepted_and_returned_normalised():
    assert validate_fiscal_code(CODE, birth_date=BIRTH, sex="M") == CODE


def test_a_wrong_check_character_is_refused():
    wrong = CODE[:15] + ("C" if CODE[15] != "C" else "D")
    with pytest.raises(InvalidFiscalCode, match="valid fiscal code"):
        validate_fiscal_code(wrong, birth_date=BIRTH, sex="M")


# Why python-stdnum refuses a code, in the registry's words: the whole message in the user's language (the audit
# found "Codice fiscale non valido: The number has an invalid format." on the Italian page).
REFUSALS = {
    "format": (
        CODE[:6] + "60Z01F205B",  # Z is no month
        "Not a valid fiscal code: its format is wrong.",
        "Codice fiscale non valido: il formato non è corretto.",
    ),
    "length": (
        CODE[:15],
        "Not a valid fiscal code: it has the wrong length (a patient's has 16 characters).",
        "Codice fiscale non valido: la lunghezza non è corretta (quello di un paziente ha 16 caratteri).",
    ),
    "checksum": (
        CODE[:15] + ("C" if CODE[15] != "C" else "D"),
        "Not a valid fiscal code: the check character is wrong.",
        "Codice fiscale non valido: il carattere di controllo non è corretto.",
    ),
}


@pytest.mark.parametrize("language", ["it", "en"])
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_code_says_why_in_the_users_language(case, language):
    code, english, italian = REFUSALS[case]
    with translation.override(language), pytest.raises(InvalidFiscalCode) as refused:
        validate_fiscal_code(code, birth_date=BIRTH, sex="M")
    assert str(refused.value) == {"it": italian, "en": english}[language]


@pytest.mark.parametrize(
    ("exception", "english", "italian"),
    [
        (
            stdnum_exceptions.InvalidComponent,
            "Not a valid fiscal code: one of its parts is wrong.",
            "Codice fiscale non valido: una delle sue parti non è corretta.",
        ),
        (stdnum_exceptions.ValidationError, "Not a valid fiscal code.", "Codice fiscale non valido."),
    ],
    ids=["component", "other"],
)
def test_any_other_refusal_of_stdnum_is_said_in_the_users_language(monkeypatch, exception, english, italian):
    def refuse(number):
        raise exception()

    monkeypatch.setattr(codicefiscale, "validate", refuse)
    for language, expected in (("it", italian), ("en", english)):
        with translation.override(language), pytest.raises(InvalidFiscalCode) as refused:
            validate_fiscal_code(CODE, birth_date=BIRTH, sex="M")
        assert str(refused.value) == expected


@pytest.mark.parametrize("level", [1, 2, 3])
def test_an_omocodic_code_is_accepted(level):
    code = omocodic(CODE, level)
    assert code != CODE
    assert validate_fiscal_code(code, birth_date=BIRTH, sex="M") == code


@pytest.mark.parametrize("level", [4, 5, 7])
def test_an_omocodic_code_with_letters_in_the_day_of_birth_is_accepted(level):
    code = omocodic(CODE, level)
    assert validate_fiscal_code(code, birth_date=BIRTH, sex="M") == code


def test_a_fully_omocodic_code_registers_a_patient(db):
    patient = services.patient_get_or_create(actor=None, fiscal_code=omocodic(CODE, 7), birth_date=BIRTH, sex="M")
    assert patient.pseudonym == pseudonymise(omocodic(CODE, 7))


def test_a_female_code_is_accepted_for_a_woman_only():
    code = female(CODE)
    assert validate_fiscal_code(code, birth_date=BIRTH, sex="F") == code
    with pytest.raises(InvalidFiscalCode, match="sex"):
        validate_fiscal_code(code, birth_date=BIRTH, sex="M")


@pytest.mark.parametrize("birth_date", [date(1960, 5, 2), date(1960, 6, 1), date(1961, 5, 1)])
def test_a_code_that_disagrees_with_the_birth_date_is_refused(birth_date):
    with pytest.raises(InvalidFiscalCode, match="birth date"):
        validate_fiscal_code(CODE, birth_date=birth_date, sex="M")


def test_a_code_that_disagrees_with_the_sex_is_refused():
    with pytest.raises(InvalidFiscalCode, match="sex"):
        validate_fiscal_code(CODE, birth_date=BIRTH, sex="F")


def test_an_eleven_digit_company_code_is_refused():
    company = "00743110157"  # a valid partita IVA: right for a company, never for a patient
    with pytest.raises(InvalidFiscalCode, match="16 characters"):
        validate_fiscal_code(company, birth_date=BIRTH, sex="M")


@pytest.mark.parametrize("typed", ["rssmra60e01f205b", "  RSSMRA60E01F205B ", " rssmra 60e01 f205b"])
def test_lower_case_and_spaces_are_normalised(typed):
    assert validate_fiscal_code(typed, birth_date=BIRTH, sex="M") == CODE


def test_the_pseudonym_is_64_hex_characters_and_deterministic():
    first = pseudonymise(CODE)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert pseudonymise(CODE) == first
    assert pseudonymise(omocodic(CODE, 1)) != first


def test_the_pseudonym_depends_on_the_key(settings):
    settings.PSEUDONYM_KEY = "first-key-" + "a" * 40
    under_first_key = pseudonymise(CODE)
    settings.PSEUDONYM_KEY = "second-key-" + "b" * 40
    under_second_key = pseudonymise(CODE)
    assert under_first_key != under_second_key
    # Without the key nobody can recompute it from a list of codes.
    assert under_second_key != hashlib.sha256(CODE.encode()).hexdigest()


def test_typing_the_code_differently_finds_the_same_patient(db):
    first = services.patient_get_or_create(actor=None, fiscal_code=CODE, birth_date=BIRTH, sex="M")
    again = services.patient_get_or_create(actor=None, fiscal_code=" rssmra60e01f205b", birth_date=BIRTH, sex="M")
    assert again.pk == first.pk
    assert Patient.objects.count() == 1


def test_a_bad_code_registers_nothing(db):
    with pytest.raises(InvalidInput) as raised:
        services.patient_get_or_create(actor=None, fiscal_code=CODE[:15] + "C", birth_date=BIRTH, sex="M")
    assert list(raised.value.errors) == ["fiscal_code"]
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.filter(action="patient.create").exists()


def _every_stored_value():
    """Every value of every column of every table, as text."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {quote(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("utf-8", "replace")
                    yield table, str(value)


def test_the_fiscal_code_is_stored_nowhere(demo):
    patient = services.patient_get_or_create(
        actor=demo["prescriber.milano"], fiscal_code=CODE.lower(), birth_date=BIRTH, sex="M"
    )

    assert patient.pseudonym == pseudonymise(CODE)
    leaks = [table for table, value in _every_stored_value() if CODE in value.upper() or CODE[:11] in value.upper()]
    assert leaks == []
    event = AuditEvent.objects.get(action="patient.create", object_id=str(patient.pk))
    assert CODE not in str(event.changes).upper()
    assert event.changes == {"birth_date": "1960-05-01", "sex": "M"}


def test_the_scan_would_see_a_leak(demo):
    """The scan above is no blind spot: a code stored anywhere is found."""
    services.staff_create(actor=demo["admin"], username="leak", password=None, role="national", last_name=CODE)
    assert any(CODE in value for _table, value in _every_stored_value())
