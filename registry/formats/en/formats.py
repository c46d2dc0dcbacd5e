"""English formats, over Django's (``FORMAT_MODULE_PATH``): the registry is Italian, so dates are day-month-year
(never the US 12/01/2026, which an Italian reader takes for 12 January) and times are 24-hour."""

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATE_FORMAT = "d M Y"
SHORT_DATETIME_FORMAT = "d M Y H:i"
MONTH_DAY_FORMAT = "j M"
TIME_FORMAT = "H:i"
