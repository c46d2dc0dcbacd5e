"""The prescription's workflow, in one table: what each status allows and where each step leads.

The selectors read it to offer actions, the services to refuse the rest (409 ``WRONG_STATUS``).
"""

# A prescription may be registered late, dated up to this many days back (the prescriber's authorisation
# and the centre's designation are judged on the prescription's date).
LATE_REGISTRATION_DAYS = 30
