"""What every PDF of the registry shares (reportlab, A4): fonts, colours, paragraph styles, the footer.

DejaVu Sans (Debian fonts-dejavu-core) so "≥", "×", "⁹" and accents print; the PDF base fonts when it is missing.
Used by the report files (``reports.renderers.pdf_format``) and the printable forms of a prescription
(``prescriptions.web.printing``), so that both look like one registry's papers.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.translation import gettext as _
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as pdf_canvas
from reportlab.platypus import Paragraph

# Compressed streams stay binary (Flate only): ASCII85 on top makes them a quarter bigger for nothing (it was a sixth of
# a long report's time, encoded in pure Python before reportlab's C accelerators, rl_accel, were installed).
rl_config.useA85 = 0

FOOTER = "Registro 648 — dati pseudonimizzati"  # the reports' stamp, as printed on every page in every language
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
INK = colors.HexColor("#1d2733")
MUTED = colors.HexColor("#5b6b7c")
LINE = colors.HexColor("#d8dee6")
BRAND = colors.HexColor("#0b5c8a")
ZEBRA = colors.HexColor("#f5f7fa")
HEAD_BG = colors.HexColor("#e6edf5")
MARGIN = 15 * mm


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    mono: str


@cache
def fonts() -> Fonts:
    """DejaVu registered once; the PDF base fonts when it is not installed."""
    files = {
        "DejaVuSans": "DejaVuSans.ttf",
        "DejaVuSans-Bold": "DejaVuSans-Bold.ttf",
        "DejaVuSansMono": "DejaVuSansMono.ttf",
    }
    try:
        for name, filename in files.items():
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / filename)))
    except Exception:  # noqa: BLE001 (any unreadable font file means: fall back)
        return Fonts("Helvetica", "Helvetica-Bold", "Courier")
    pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold")
    return Fonts("DejaVuSans", "DejaVuSans-Bold", "DejaVuSansMono")


@cache
def styles() -> dict[str, ParagraphStyle]:
    font = fonts()
    body = ParagraphStyle("body", fontName=font.regular, fontSize=9, leading=12, textColor=INK)
    return {
        "body": body,
        "title": ParagraphStyle("title", body, fontName=font.bold, fontSize=16, leading=20, textColor=BRAND),
        "h2": ParagraphStyle("h2", body, fontName=font.bold, fontSize=11.5, leading=15, textColor=BRAND, spaceBefore=8),
        "label": ParagraphStyle("label", body, textColor=MUTED),
        "muted": ParagraphStyle("muted", body, fontSize=8, leading=10, textColor=MUTED),
        "cell": ParagraphStyle("cell", body, fontSize=7.5, leading=9),
        "cell_strong": ParagraphStyle("cell_strong", body, fontName=font.bold, fontSize=7.5, leading=9),
        "mono": ParagraphStyle("mono", body, fontName=font.mono, fontSize=7.5, leading=9),
        "code": ParagraphStyle("code", body, fontName=font.mono, fontSize=6.8, leading=9),
        "strong": ParagraphStyle("strong", body, fontName=font.bold),
        "number": ParagraphStyle("number", body, fontName=font.bold, alignment=TA_RIGHT),
        "head": ParagraphStyle("head", body, fontName=font.bold, fontSize=6.2, leading=7.5, textColor=INK),
        "head_right": ParagraphStyle(
            "head_right", body, fontName=font.bold, fontSize=6.2, leading=7.5, textColor=INK, alignment=TA_RIGHT
        ),
        "chart": ParagraphStyle("chart", body, fontName=font.bold, fontSize=9, leading=11),
    }


# A data table's look: the header row shaded, bottom-aligned and ruled; zebra rows, a thin line under each.
HEADED_GRID = (
    ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
    ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
    ("LINEBELOW", (0, 0), (-1, 0), 0.8, BRAND),
    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]),
    ("LINEBELOW", (0, 1), (-1, -1), 0.3, LINE),
)


def escape(text) -> str:
    """Text for a reportlab Paragraph, which reads its input as markup."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def paragraph(text, style: str = "body") -> Paragraph:
    return Paragraph(escape(text), styles()[style])


def fit_lines(text: str, font_name: str, size: float, width: float, max_lines: int = 2) -> str:
    """At most ``max_lines`` lines of ``width``: words wrapped, a word too long broken, the rest cut with "…"."""
    lines = []
    for line in simpleSplit(text, font_name, size, width) or [""]:
        while pdfmetrics.stringWidth(line, font_name, size) > width and len(line) > 1:
            cut = len(line)
            while cut > 1 and pdfmetrics.stringWidth(line[:cut], font_name, size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:-1] + "…"
    return "\n".join(lines)


def footer(canvas, page: int, pages: int | None, stamp: str = FOOTER) -> None:
    """The rule, ``stamp`` on the left and "page N of M" (or "page N") on the right, at the foot of a page."""
    width, _height = canvas._pagesize
    font = fonts()
    canvas.saveState()
    canvas.setStrokeColor(LINE)
    canvas.line(MARGIN, 11 * mm, width - MARGIN, 11 * mm)
    canvas.setFont(font.regular, 7.5)
    canvas.setFillColor(MUTED)
    canvas.drawString(MARGIN, 7 * mm, fit_lines(stamp, font.regular, 7.5, width / 2, max_lines=1))
    if pages is None:
        number = _("Page %(page)s") % {"page": page}
    else:
        number = _("Page %(page)s of %(pages)s") % {"page": page, "pages": pages}
    canvas.drawRightString(width - MARGIN, 7 * mm, number)
    canvas.restoreState()


class NumberedCanvas(pdf_canvas.Canvas):
    """Holds the pages back until the end, to print "page N of M" under ``stamp`` (for documents of a few pages)."""

    stamp = FOOTER

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self):  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            footer(self, number, len(self._pages), self.stamp)
            super().showPage()
        super().save()


def numbered_canvas(stamp: str) -> type[NumberedCanvas]:
    """A ``canvasmaker`` for ``build()`` whose pages carry ``stamp`` in the footer."""
    return type("StampedCanvas", (NumberedCanvas,), {"stamp": stamp})
