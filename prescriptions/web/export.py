"""The CSV of what a list shows (issue 18): the same rows, the same filters, the same scope, streamed.

A row is written as soon as it is read (``StreamingHttpResponse`` over ``iterator()``), so a long list costs the
same memory as a short one. The patient's identity appears only for whoever sees it on the page (the treating
centre's staff), and each identity written is noted for the read-access log, as the page notes what it shows;
everyone else gets the pseudonym's first characters, the birth year and the sex, as on the page.

The file is UTF-8 with a byte-order mark and ";" between fields (Excel with Italian settings opens it in columns),
headers, values, moments and days in the reader's language and form, and text a spreadsheet would run as a formula
written as text. The dispensing queue's CSV (``views.dispensing_queue_csv``) is written alike, through
:func:`stream_csv`.
"""

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from registry.calendar import rome_today
from registry.patient_identity import (
    display_name,
    identity_displayed,
    identity_displays_log,
    may_see_identity,
    stored_identity,
)
from registry.spreadsheet import safe_text

from ..course.regimen import course_regimen

CHUNK_SIZE = 500


class _Line:
    """A file-like object for ``csv.writer`` that hands back the line just written."""

    def write(self, text: str) -> str:
        return text


def _header() -> list[str]:
    return [
        _("Prescription"),
        _("Prescribed at"),
        _("Patient"),
        _("Fiscal code"),
        _("Birth date"),
        _("Sex"),
        _("Centre"),
        _("Prescriber"),
        _("Status"),
        _("Syringes"),
        _("Doses"),
        _("Course doses"),
    ]


def moment(value) -> str:
    """A moment as the reader writes it (Rome time), empty when there is none: every date-time cell of the CSVs."""
    return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT") if value else ""


def _row(request, prescription) -> list:
    patient = prescription.patient
    identity = None
    if may_see_identity(request.user, prescription):
        identity = stored_identity(patient, centre_id=prescription.centre_id)
        if identity is not None:
            identity_displayed(request, prescription)
    prescriber = prescription.prescriber
    return [
        str(prescription.pk),
        moment(prescription.prescribed_at),
        display_name(identity) if identity else patient.pseudonym[:12],
        (identity.fiscal_code or "") if identity else "",
        date_format(patient.birth_date, "SHORT_DATE_FORMAT") if identity else str(patient.birth_date.year),
        patient.sex,
        prescription.centre.name,
        prescriber.get_full_name() or prescriber.get_username(),
        prescription.get_status_display(),
        prescription.syringes_dispensed,
        prescription.doses_administered,
        course_regimen(prescription).doses,
    ]


def stream_csv(request, header: list[str], rows: Iterable[list], *, filename: str, delimiter: str = ";"):
    """Any list's CSV, streamed: UTF-8 with a byte-order mark, every cell spreadsheet-safe, and the identities the
    rows noted (``identity_displayed``) written to the read-access log once the last row is out (the middleware has
    already run: the body is written after the response left the view)."""

    def lines() -> Iterator[str]:
        writer = csv.writer(_Line(), delimiter=delimiter, lineterminator="\r\n")
        yield "\ufeff" + writer.writerow(header)
        try:
            for row in rows:
                yield writer.writerow([safe_text(value) for value in row])
        finally:
            identity_displays_log(request)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"  # may hold patients' identities
    return response


def csv_response(request, prescriptions, *, name: str) -> StreamingHttpResponse:
    """``prescriptions`` (a scoped, filtered, ordered queryset) as a streamed CSV attachment ``name-<day>.csv``."""
    rows = prescriptions.select_related("centre", "patient", "prescriber").iterator(chunk_size=CHUNK_SIZE)
    return stream_csv(
        request,
        _header(),
        (_row(request, prescription) for prescription in rows),
        filename=f"{name}-{rome_today().isoformat()}.csv",
    )
