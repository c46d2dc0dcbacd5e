"""What the national role (AIFA) receives of a region's report: the same report, made fit to leave the region.

L.648 sends the quarterly per-patient report to the Region and to AIFA. The Region's file carries the registry's
own pseudonym; the national role's file carries instead:

- a **national pseudonym**: a keyed hash of the registry's pseudonym, domain-separated ("national"), stable across
  quarters and regions (AIFA can follow a patient over time) but matching nothing in the registry or in the
  regions' files;
- an **age band** (ten years, computed on the prescription day) in place of any birth date;
- no fiscal code, no name, no birth date: any such column is dropped, whatever the row holds.

Monitoring reports read by the national role apply the same small-count suppression as whole-country reports
(``reports.selectors.suppress_below_for``).
"""

from collections.abc import Iterable, Iterator
from datetime import date
from itertools import islice

from registry.models import Patient
from registry.pseudonym import national_pseudonym

# Columns that identify a person and never leave the region.
IDENTIFYING_COLUMNS = frozenset(
    {"fiscal_code", "codice_fiscale", "first_name", "last_name", "surname", "name", "birth_date", "date_of_birth"}
)
AGE_BAND = "age_band"
PSEUDONYM = "pseudonym"
_BATCH = 500


def national_columns(columns: Iterable[str]) -> tuple[str, ...]:
    """The national form's columns: the pseudonym, then the age band, then every non-identifying column."""
    kept = [column for column in columns if column not in IDENTIFYING_COLUMNS and column != AGE_BAND]
    if PSEUDONYM in kept:
        kept.insert(kept.index(PSEUDONYM) + 1, AGE_BAND)
    else:
        kept.insert(0, AGE_BAND)
    return tuple(kept)


def age_band(birth_date: date | None, on: date | None) -> str:
    """Ten-year band of the age on ``on``: "18-29", "30-39", …, "90+" ("" when unknown)."""
    if birth_date is None or on is None:
        return ""
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    if age >= 90:
        return "90+"
    if age < 30:
        return "18-29" if age >= 18 else "<18"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


def national_rows(rows: Iterable[dict], columns: Iterable[str]) -> Iterator[dict]:
    """The quarterly rows in national form, streamed in batches (one birth-date query per batch)."""
    columns = national_columns(columns)
    iterator = iter(rows)
    while batch := list(islice(iterator, _BATCH)):
        pseudonyms = {row.get(PSEUDONYM) for row in batch if row.get(PSEUDONYM)}
        births = dict(Patient.objects.filter(pseudonym__in=pseudonyms).values_list("pseudonym", "birth_date"))
        for row in batch:
            pseudonym = row.get(PSEUDONYM) or ""
            birth = row.get("birth_date") or row.get("date_of_birth") or births.get(pseudonym)
            national = {column: row.get(column) for column in columns if column not in (PSEUDONYM, AGE_BAND)}
            national[PSEUDONYM] = national_pseudonym(pseudonym) if pseudonym else ""
            national[AGE_BAND] = age_band(birth, row.get("prescription_date"))
            yield {column: national[column] for column in columns}
