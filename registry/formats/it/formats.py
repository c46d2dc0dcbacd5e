"""Italian formats, over Django's (``FORMAT_MODULE_PATH``): day without a leading zero in long dates (1 dicembre
2026; the month name is lower-cased by the ``long_date`` filter), 24-hour times, dd/mm in the course grid."""

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
MONTH_DAY_FORMAT = "d/m"
TIME_FORMAT = "H:i"
