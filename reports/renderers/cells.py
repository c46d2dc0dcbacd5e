"""The spreadsheet-safe text cell of the CSV and XLSX renderers: ``registry.spreadsheet`` (shared with the lists'
CSV exports)."""

from registry.spreadsheet import FORMULA_STARTS, safe_text

__all__ = ["FORMULA_STARTS", "safe_text"]
