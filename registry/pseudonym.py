"""Fiscal codes (codice fiscale): validation and keyed pseudonyms.

The fiscal code identifies the patient across centres, so it is kept only as
HMAC-SHA256 under ``PSEUDONYM_KEY``: the same person always gets the same
pseudonym, and without the key nobody can recompute it from a list of codes.
The code itself is never stored or logged.
"""

import hashlib
import hmac
from datetime import date

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum import exceptions as stdnum_exceptions
from stdnum.it import codicefiscale


class InvalidFiscalCode(ValueError):
    """The fiscal code is malformed or disagrees with the birth date or sex given."""


# Why python-stdnum refused a code, in the registry's words: its own messages are English only. The first kind
# that matches says it, so InvalidLength (a kind of InvalidFormat in stdnum) comes before InvalidFormat.
_STDNUM_REFUSALS = (
    (
        stdnum_exceptions.InvalidLength,
        gettext_lazy("Not a valid fiscal code: it has the wrong length (a patient's has 16 characters)."),
    ),
    (stdnum_exceptions.InvalidFormat, gettext_lazy("Not a valid fiscal code: its format is wrong.")),
    (stdnum_exceptions.InvalidChecksum, gettext_lazy("Not a valid fiscal code: the check character is wrong.")),
    (stdnum_exceptions.InvalidComponent, gettext_lazy("Not a valid fiscal code: one of its parts is wrong.")),
)


def _stdnum_refusal(exc: stdnum_exceptions.ValidationError) -> str:
    """The user's-language message for python-stdnum's refusal (a plain one for a kind it may add later)."""
    for kind, message in _STDNUM_REFUSALS:
        if isinstance(exc, kind):
            return str(message)
    return _("Not a valid fiscal code.")


def validate_fiscal_code(fiscal_code: str, *, birth_date: date, sex: str) -> str:
    """Return the normalised code, or raise InvalidFiscalCode saying why.

    python-stdnum checks the format, the check character and omocodia (digits
    replaced by letters for people who would otherwise share a code).
    """
    try:
        number = codicefiscale.validate(fiscal_code)
    except stdnum_exceptions.ValidationError as exc:
        raise InvalidFiscalCode(_stdnum_refusal(exc)) from None
    if len(number) != 16:
        # 11-digit codes belong to companies, not to patients.
        raise InvalidFiscalCode(_("A patient's fiscal code has 16 characters."))
    encoded_birth = codicefiscale.get_birth_date(number, minyear=1800)
    # The code carries only two digits of the year: compare the century-free part.
    if (encoded_birth.year % 100, encoded_birth.month, encoded_birth.day) != (
        birth_date.year % 100,
        birth_date.month,
        birth_date.day,
    ):
        raise InvalidFiscalCode(_("The fiscal code does not match the birth date given."))
    if _sex_of(number) != sex:
        raise InvalidFiscalCode(_("The fiscal code does not match the sex given."))
    return number


# Omocodia replaces digits with these letters, 0–9 (Ministry of Finance decree of 12/03/1974).
_OMOCODIA_DIGITS = {letter: digit for digit, letter in enumerate("LMNPQRSTUV")} | {str(d): d for d in range(10)}


def _sex_of(number: str) -> str:
    """Women have 40 added to the day of birth (positions 10–11, possibly omocodic)."""
    day = _OMOCODIA_DIGITS[number[9]] * 10 + _OMOCODIA_DIGITS[number[10]]
    return "F" if day > 40 else "M"


def pseudonymise(normalised_fiscal_code: str) -> str:
    """Keyed pseudonym (64 hex characters) of an already validated fiscal code."""
    key = settings.PSEUDONYM_KEY.encode()
    return hmac.new(key, normalised_fiscal_code.encode(), hashlib.sha256).hexdigest()


def national_pseudonym(registry_pseudonym: str) -> str:
    """The national role's pseudonym of a patient (64 hex characters), never equal to the registry's: a keyed
    hash of the registry's pseudonym, domain-separated ("national"), stable across quarters and regions so that
    AIFA follows a patient over time, in the quarterly file and in the FHIR bulk export alike."""
    key = settings.PSEUDONYM_KEY.encode()
    return hmac.new(key, b"national:" + registry_pseudonym.encode(), hashlib.sha256).hexdigest()
