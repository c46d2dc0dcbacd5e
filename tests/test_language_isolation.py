"""A test's language does not leak into the next one (tests/conftest.py ``_default_language``).

The first test leaves its thread in English, as a page asked for in English does; the second, run after it in the
same process, must still start in Italian. Before the fixture it failed, as the spending report's test did after the
stock pages' English test.
"""

from django.conf import settings
from django.utils import translation


def test_a_test_that_ends_in_english():
    translation.activate("en")
    assert translation.get_language() == "en"


def test_the_next_test_starts_in_the_registrys_language():
    assert translation.get_language() == settings.LANGUAGE_CODE == "it"
