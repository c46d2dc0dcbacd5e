"""The printable papers of one prescription, as PDF in the active language (the reader's): A4 portrait.

- :func:`prescription_form`, the *scheda di richiesta*: centre (name, code, region, serving pharmacy), prescriber,
  patient, the regimen, the verdict criterion by criterion with the criteria version and the Determina it applies,
  the informed consent, and signature lines for the prescriber and the pharmacist.
- :func:`dispensing_record`, the *registro di dispensazione*: centre, pharmacy, patient, each dispensation (date,
  syringes, lot, expiry, pharmacist; one entered in error is printed struck through and not counted), the syringes
  dispensed against the course's maximum, and signature lines for the pharmacist and the ward receiving them.

The patient is printed through ``registry.patient_identity``: the identity for the treating centre's staff, the
pseudonym for everyone else. Fonts, colours and the footer are the reports' (``registry.pdf``). Pure rendering:
the caller reads the prescription (``selectors.prescription_detail``, which prefetches what is printed here) and
decides who may have it.
"""

import io
from collections.abc import Sequence

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from registry.patient_identity import identity_for, patient_label
from registry.pdf import HEADED_GRID, LINE, MARGIN, escape, fonts, numbered_canvas, paragraph, styles

from ..course import workflow
from ..course.regimen import course_description
from ..eligibility import rendered_verdict
from ..listing import LISTING
from ..models import Prescription

PAGE_WIDTH = A4[0] - 2 * MARGIN
LABEL_WIDTH = 42 * mm


def prescription_form(prescription: Prescription, *, user) -> bytes:
    """The request form (*scheda di richiesta*) of ``prescription`` as ``user`` may read it."""
    title = _("Request form — anakinra (L. 648/96)")
    consent = f"{prescription.get_consent_given_by_display()}, {_day(prescription.consent_date)}"
    story = [
        *_heading(title, prescription, [(pgettext("print", "Regimen"), _regimen(prescription))]),
        _side_by_side(
            (_("Centre"), [*_centre_rows(prescription), _prescriber_row(prescription)]),
            (_("Patient"), [*_patient_rows(prescription, user=user), *_weight_rows(prescription)]),
        ),
        *_verdict(rendered_verdict(prescription.eligibility)),
        _section(_("Informed consent"), _facts([(pgettext("print", "Given by, on"), consent)])),
        Spacer(1, 5 * mm),
        _signatures([(_("The prescriber"), _person(prescription.prescriber)), (_("The pharmacist"), "")]),
    ]
    return _build(story, title=title, prescription=prescription)


def dispensing_record(prescription: Prescription, *, user) -> bytes:
    """The dispensing record of ``prescription``: every dispensation and the total against the course's maximum."""
    title = _("Dispensing record — anakinra (L. 648/96)")
    dispensations = list(prescription.dispensations.all())
    dispensed = sum(d.syringes for d in dispensations if not d.in_error)
    maximum = workflow.max_syringes(prescription)
    may_still_dispense = workflow.DISPENSE in workflow.actions_open(prescription) and dispensed < maximum
    totals = [
        (
            pgettext("print", "Syringes dispensed"),
            _("%(dispensed)d of %(maximum)d (the most the course takes)")
            % {"dispensed": dispensed, "maximum": maximum},
        ),
        # Once the course can take no more (completed, stopped, cancelled, refused), nothing is still to come.
        (pgettext("print", "Still to dispense"), str(maximum - dispensed) if may_still_dispense else "—"),
    ]
    story = [
        *_heading(title, prescription, [(pgettext("print", "Regimen"), _regimen(prescription))]),
        _side_by_side(
            (_("Centre"), [*_centre_rows(prescription), _prescriber_row(prescription)]),
            (_("Patient"), _patient_rows(prescription, user=user)),
        ),
        paragraph(_("Dispensations"), "h2"),
        Spacer(1, 1 * mm),
        _dispensation_table(dispensations),
        Spacer(1, 3 * mm),
        _facts(totals, strong=True),
        Spacer(1, 8 * mm),
        _signatures([(_("The pharmacist"), ""), (_("Received by the ward"), "")]),
    ]
    return _build(story, title=title, prescription=prescription)


# --- Parts -----------------------------------------------------------------------------------------


def _build(story: list, *, title: str, prescription: Prescription) -> bytes:
    out = io.BytesIO()
    document = BaseDocTemplate(
        out,
        pagesize=A4,
        title=title,
        author="Registro 648",
        creator="Registro 648",
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
    )
    frame = Frame(
        MARGIN, MARGIN + 4 * mm, PAGE_WIDTH, A4[1] - 2 * MARGIN - 4 * mm, id="page", leftPadding=0, rightPadding=0
    )
    document.addPageTemplates([PageTemplate("page", [frame], pagesize=A4)])
    stamp = f"Registro 648 · {title} · {_short_id(prescription)}"
    document.build(story, canvasmaker=numbered_canvas(stamp))
    return out.getvalue()


def _heading(title: str, prescription: Prescription, more: Sequence[tuple[str, str]] = ()) -> list:
    registered = ""
    if _moment(prescription.registered_at) != _moment(prescription.prescribed_at):
        registered = f" ({_('registered')} {_moment(prescription.registered_at)})"
    return [
        paragraph(title, "title"),
        Spacer(1, 2 * mm),
        _facts(
            [
                (_("Prescription"), str(prescription.pk)),
                (_("Status"), prescription.get_status_display()),
                (_("Prescribed at"), _moment(prescription.prescribed_at) + registered),
                *more,
            ]
        ),
    ]


def _section(title: str, body) -> KeepTogether:
    return KeepTogether([paragraph(title, "h2"), Spacer(1, 1 * mm), body])


def _side_by_side(*blocks: tuple[str, Sequence[tuple[str, str]]]) -> Table:
    """Titled label-and-value blocks next to each other (centre and patient: the top of the page stays short)."""
    gap = 8 * mm
    width = (PAGE_WIDTH - gap * (len(blocks) - 1)) / len(blocks)
    cells = [
        [paragraph(title, "h2"), Spacer(1, 1 * mm), _facts(rows, width=width, label_width=24 * mm)]
        for title, rows in blocks
    ]
    table = Table([_with_gaps(cells, "")], colWidths=_with_gaps([width] * len(blocks), gap))
    table.setStyle(_FLUSH)
    return table


def _with_gaps(items: list, gap) -> list:
    """``items`` with ``gap`` between each two: the columns of a row of blocks."""
    spaced = []
    for index, item in enumerate(items):
        if index:
            spaced.append(gap)
        spaced.append(item)
    return spaced


_FLUSH = TableStyle(
    [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ]
)


def _facts(
    rows: Sequence[tuple[str, str | Flowable]],
    *,
    strong: bool = False,
    width: float = PAGE_WIDTH,
    label_width: float = LABEL_WIDTH,
) -> Table:
    """Label and value, one pair a line."""
    value_style = "strong" if strong else "body"
    table = Table(
        [
            [paragraph(label, "label"), value if isinstance(value, Flowable) else paragraph(value, value_style)]
            for label, value in rows
        ],
        colWidths=[label_width, width - label_width],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, LINE),
            ]
        )
    )
    return table


def _centre_rows(prescription: Prescription) -> list[tuple[str, str | Flowable]]:
    centre = prescription.centre
    return [
        (_("Centre"), centre.name),
        (_("Code"), paragraph(str(centre.pk), "code")),
        (_("Region"), f"{centre.region.code} {centre.region.name}"),
        (_("Pharmacy"), centre.pharmacy.name if centre.pharmacy else "—"),
    ]


def _prescriber_row(prescription: Prescription) -> tuple[str, str]:
    return (_("Prescriber"), _person(prescription.prescriber))


def _patient_rows(prescription: Prescription, *, user) -> list[tuple[str, str]]:
    """The one line a nurse reads aloud, then the identity's parts for whoever may see them."""
    rows = [(_("Patient"), patient_label(user=user, prescription=prescription))]
    identity = identity_for(user=user, prescription=prescription)
    if identity is None:
        rows.append(("", _("Pseudonymised: the patient is named by the pseudonym of the fiscal code.")))
        return rows
    name = " ".join(part for part in ((identity.family_name or "").upper(), identity.given_name or "") if part)
    ward = ", ".join(part for part in (identity.ward, identity.bed) if part)
    for label, value in (
        (pgettext("print", "Family and given name"), name),
        (_("Fiscal code"), identity.fiscal_code),
        (pgettext("print", "Ward and bed"), ward),
        (pgettext("print", "Admission number"), identity.admission_number),
    ):
        if value:
            rows.append((label, value))
    return rows


def _weight_rows(prescription: Prescription) -> list[tuple[str, str]]:
    if prescription.weight_kg is None:
        return []
    return [(_("Weight"), f"{formats.number_format(prescription.weight_kg)} kg")]


def _regimen(prescription: Prescription) -> str:
    return course_description(prescription)


OUTCOME_LABELS = {
    "pass": lambda: _("met"),
    "fail": lambda: _("not met"),
    "warn": lambda: _("warning"),
}


def _verdict(verdict: dict) -> list:
    """The verdict as stored at submission, every message in the reader's language."""
    font = fonts()
    eligible = verdict.get("eligible")
    summary = _("eligible") if eligible else _("not eligible")
    ratio = verdict.get("pao2_fio2_ratio")
    criteria = _("Criteria %(version)s · PaO2/FiO2 %(ratio)s mmHg") % {
        "version": verdict.get("criteria_version", ""),
        "ratio": formats.number_format(ratio) if ratio is not None else "—",
    }
    header = [
        paragraph(_("Code"), "head"),
        paragraph(pgettext("print", "Outcome"), "head"),
        paragraph(pgettext("print", "Message"), "head"),
    ]
    rows = [header]
    failed = []
    for index, result in enumerate(verdict.get("results", ()), start=1):
        outcome = result.get("outcome", "")
        label = OUTCOME_LABELS.get(outcome, lambda: _("note"))()
        rows.append(
            [
                paragraph(result.get("code", ""), "code"),
                paragraph(label, "cell_strong" if outcome == "fail" else "cell"),
                paragraph(result.get("message", ""), "cell_strong" if outcome == "fail" else "cell"),
            ]
        )
        if outcome == "fail":
            failed.append(index)
    table = Table(rows, colWidths=[48 * mm, 27 * mm, PAGE_WIDTH - 75 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                *_grid_style(),
                ("FONT", (0, 0), (-1, 0), font.bold, 7),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                # A criterion not met stands out on a black-and-white printer too: a heavier rule around it.
                *(("BOX", (0, row), (-1, row), 1, colors.black) for row in failed),
            ]
        )
    )
    return [
        KeepTogether(
            [
                paragraph(_("Eligibility"), "h2"),
                Spacer(1, 1 * mm),
                _facts(
                    [
                        (_("Eligibility"), summary),
                        (_("Criteria version"), criteria),
                        (pgettext("print", "Determina"), str(LISTING)),
                    ]
                ),
                Spacer(1, 2 * mm),
            ]
        ),
        table,
    ]


def _dispensation_table(dispensations) -> Table:
    header = [
        paragraph(pgettext("print", "Date"), "head"),
        paragraph(_("Syringes"), "head_right"),
        paragraph(_("Lot"), "head"),
        paragraph(_("Expiry"), "head"),
        paragraph(pgettext("print", "Pharmacist"), "head"),
    ]
    rows = [header]
    for dispensation in dispensations:
        # Entered in error: kept on paper as on the page, but struck through, marked and left out of the total.
        in_error = dispensation.in_error
        cell = _struck if in_error else paragraph
        pharmacist = _person(dispensation.recorded_by)
        rows.append(
            [
                cell(_moment(dispensation.recorded_at), "cell"),
                cell(str(dispensation.syringes), "number"),
                cell(dispensation.lot_number, "mono"),
                cell(_day(dispensation.expiry_date), "cell"),
                paragraph(f"{pharmacist} · {_('entered in error')}" if in_error else pharmacist, "cell"),
            ]
        )
    empty = not dispensations
    if empty:
        rows.append([paragraph(_("No syringe dispensed yet."), "muted"), "", "", "", ""])
    widths = [34 * mm, 18 * mm, 36 * mm, 26 * mm]
    table = Table(rows, colWidths=[*widths, PAGE_WIDTH - sum(widths)], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                *_grid_style(),
                *([("SPAN", (0, 1), (-1, 1))] if empty else []),
            ]
        )
    )
    return table


def _struck(text: str, style: str) -> Paragraph:
    return Paragraph(f"<strike>{escape(text)}</strike>", styles()[style])


def _grid_style() -> list:
    return [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        *HEADED_GRID,
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]


def _signatures(signers: Sequence[tuple[str, str]]) -> KeepTogether:
    """One column a signer: who, the name (printed when known), the date and the signature, each on a line."""
    gap = 10 * mm
    column = (PAGE_WIDTH - gap * (len(signers) - 1)) / len(signers)
    cells = []
    for role, name in signers:
        lines = Table(
            [
                [paragraph(pgettext("print", "Name"), "label"), paragraph(name)],
                [paragraph(pgettext("print", "Date"), "label"), ""],
                [paragraph(pgettext("print", "Signature"), "label"), ""],
            ],
            colWidths=[22 * mm, column - 22 * mm],
            rowHeights=[8 * mm, 8 * mm, 12 * mm],
        )
        lines.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("LINEBELOW", (1, 0), (1, -1), 0.6, colors.black),
                ]
            )
        )
        cells.append([paragraph(role, "strong"), lines])
    table = Table([_with_gaps(cells, "")], colWidths=_with_gaps([column] * len(cells), gap))
    table.setStyle(_FLUSH)
    return KeepTogether([table])


# --- Words -----------------------------------------------------------------------------------------


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def _moment(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else ""


def _day(day) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT") if day else ""


def _short_id(prescription: Prescription) -> str:
    return str(prescription.pk)[:8]
