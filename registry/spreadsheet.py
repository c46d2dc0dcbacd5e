"""Text cells that a spreadsheet cannot take for a formula: the one helper of every CSV and XLSX file (reports,
list exports).

Excel and LibreOffice run a cell whose text starts with "=", "+", "-" or "@" (and, once trimmed, a tab or
carriage return first) as a formula, whether it comes from a CSV file or an XLSX string written as a formula.
A centre's name or any other text of a report could then open a link or run a command on the reader's
machine. Such text is written with a leading apostrophe, which the spreadsheet shows and never evaluates.
Numbers, dates and everything not text pass unchanged.
"""

from django.utils.functional import Promise

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value):
    """``value`` with an apostrophe in front when it is text a spreadsheet would evaluate; anything else as is."""
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
