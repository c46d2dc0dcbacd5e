"""The quarterly per-patient report in the reader's language: its column headers and its coded values.

The rows (``reports.quarterly.quarterly_rows``) hold codes (``in_course``, ``clinical_worsening``) and an adverse
event list written ``2021-11-05 neutropenia (serious); 2021-11-07 hepatic``; every file format turns them into
the labels of the language active when it is written (the run's language: ``ReportRun.language``), so an Italian
reader finds "In corso" under "Stato" in the CSV, the XLSX and the PDF alike. The codes stay the API's.
"""

import re
from datetime import date

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import metric_definitions as definitions

# The headers, by column (the national form's ``age_band`` included).
LABELS = {
    "pseudonym": gettext_lazy("Pseudonym"),
    "age_band": gettext_lazy("Age band"),
    "centre": gettext_lazy("Centre"),
    "prescription_date": gettext_lazy("Prescribed on"),
    "criteria_version": gettext_lazy("Criteria version"),
    "status": gettext_lazy("Status"),
    "doses_administered": gettext_lazy("Doses"),
    "syringes_dispensed": gettext_lazy("Syringes"),
    "stop_reason": gettext_lazy("Stop reason"),
    "adverse_events": gettext_lazy("Adverse events"),
    "serious_adverse_events": gettext_lazy("Serious AEs"),
    "who_cps_day14": gettext_lazy("WHO-CPS day 14"),
    "who_cps_day28": gettext_lazy("WHO-CPS day 28"),
    "first_dose_date": gettext_lazy("First dose"),
    "stop_date": gettext_lazy("Stopped on"),
    "death_date": gettext_lazy("Died on"),
}
# The PDF prints the pseudonym's first characters, as the pages do; the CSV and the XLSX keep it whole.
SHORT_PSEUDONYM_LENGTH = 12
ADVERSE_EVENT_SEPARATOR = "; "
_EVENT = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2}) (?P<category>[a-z_]+)(?P<serious> \(serious\))?$")


def column_label(column: str) -> str:
    label = LABELS.get(column)
    return str(label) if label is not None else column


def code_text(column: str, code) -> str:
    """A coded value's label (status, stop reason); an unknown code as it is."""
    label = definitions.QUARTERLY_CODE_LABELS.get(column, {}).get(str(code))
    return str(label) if label is not None else str(code)


def adverse_events_text(value: str, *, date_format: str | None = None) -> str:
    """``2021-11-05 neutropenia (serious)`` as ``2021-11-05 Neutropenia (grave)`` (Italian), an item at a time.

    ``date_format`` (a Django format name) writes the day the reader's way (the PDF); without it the ISO day stays,
    as in every other date of the CSV. Anything not in the rows' form is left as it is.
    """
    items = []
    for item in value.split(ADVERSE_EVENT_SEPARATOR):
        match = _EVENT.match(item)
        if match is None:
            items.append(item)
            continue
        day = match["day"]
        if date_format:
            day = formats.date_format(date.fromisoformat(day), date_format)
        text = f"{day} {_adverse_event_category(match['category'])}"
        if match["serious"]:
            text += f" ({_('serious')})"
        items.append(text)
    return ADVERSE_EVENT_SEPARATOR.join(items)


def _adverse_event_category(code: str) -> str:
    label = definitions.code_labels("adverse_events_by_category").get(code)
    return str(label) if label is not None else code


def value_text(column: str, value):
    """A cell's value for the reader: codes and the adverse events as labels; anything else unchanged."""
    if value is None or value == "":
        return value
    if column in definitions.QUARTERLY_CODE_LABELS:
        return code_text(column, value)
    if column == "adverse_events" and isinstance(value, str):
        return adverse_events_text(value)
    return value


def short_pseudonym(pseudonym: str) -> str:
    return pseudonym[:SHORT_PSEUDONYM_LENGTH]
