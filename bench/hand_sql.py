"""The monthly monitoring figures written by hand in PostgreSQL SQL: the yardstick for ``reports.metrics``.

The same figures as ``reports.metrics.monitoring_metrics`` (per centre, plus the week histogram and the distinct
patients treated), each as a plain aggregate over the cohort; the benchmark times both and reports the ratio.
``tests/bench/test_bench.py`` holds the two to the same numbers, so the yardstick cannot drift from what the
registry computes (a figure added to the metrics and not here would make the ratio flatter than the truth).
"""

from datetime import date

from django.db import connection

from prescriptions.regimen import longest_window_days
from registry.calendar import day_bounds

COHORT = """
WITH cohort AS NOT MATERIALIZED (
    SELECT p.* FROM prescriptions_prescription p
    {join}
    WHERE p.prescribed_at >= %(start)s AND p.prescribed_at < %(end)s {region}
)
"""

QUERIES = {
    "prescriptions": """
        , courses AS (
            SELECT c.*,
                   EXISTS (SELECT 1 FROM prescriptions_administration d
                           WHERE d.prescription_id = c.id AND d.entered_in_error_at IS NULL) AS treated,
                   -- Never past the window: the day after its last day (day 10).
                   least(CASE WHEN c.status = 'completed'
                                   AND c.doses_administered >= %(window_days)s * 24 / c.dose_interval_hours
                              THEN c.last_dose_on
                              WHEN c.status = 'completed' THEN c.first_dose_on + %(window_days)s
                              WHEN c.stopped_at IS NOT NULL THEN (c.stopped_at AT TIME ZONE 'Europe/Rome')::date
                              ELSE %(today)s::date END,
                         c.first_dose_on + %(window_days)s) AS course_end
            FROM cohort c
        )
        SELECT k.centre_id, ce.name, ce.region_id, count(*),
               count(*) FILTER (WHERE k.eligible),
               count(*) FILTER (WHERE k.status = 'rejected'),
               count(DISTINCT k.patient_id) FILTER (WHERE k.treated),
               count(*) FILTER (WHERE k.status = 'completed'),
               count(*) FILTER (WHERE k.status = 'stopped'),
               count(*) FILTER (WHERE k.status = 'cancelled'),
               count(*) FILTER (WHERE k.status IN ('awaiting_dispensing', 'dispensed', 'in_course')),
               -- Scheduled days strictly inside (first dose, course end): every day, or every other day on a
               -- course every 48 h; minus the doses given on them.
               sum(CASE WHEN k.first_dose_on IS NULL THEN 0 ELSE greatest(
                   (k.course_end - k.first_dose_on - 1) / (k.dose_interval_hours / 24) - (
                       SELECT count(*) FROM prescriptions_administration d
                       WHERE d.prescription_id = k.id AND d.entered_in_error_at IS NULL
                       AND d.administered_on > k.first_dose_on AND d.administered_on < k.course_end
                       AND (d.course_day - 1) %% (k.dose_interval_hours / 24) = 0), 0) END),
               count(*) FILTER (WHERE k.status = 'stopped' AND k.stop_reason = 'adverse_event'),
               count(*) FILTER (WHERE k.status = 'stopped' AND k.stop_reason = 'clinical_worsening'),
               count(*) FILTER (WHERE k.status = 'stopped' AND k.stop_reason = 'discharge'),
               count(*) FILTER (WHERE k.status = 'stopped' AND k.stop_reason = 'death'),
               count(*) FILTER (WHERE k.status = 'stopped' AND k.stop_reason = 'patient_refusal'),
               count(*) FILTER (WHERE k.status = 'stopped' AND k.stop_reason = 'other')
        FROM courses k JOIN registry_centre ce ON ce.id = k.centre_id
        GROUP BY k.centre_id, ce.name, ce.region_id
    """,
    "criteria": """
        SELECT c.centre_id, o.code, count(*) FROM prescriptions_criterionoutcome o
        JOIN cohort c ON c.id = o.prescription_id WHERE o.outcome = 'fail' GROUP BY c.centre_id, o.code
    """,
    "administrations": """
        SELECT c.centre_id, count(*), count(*) FILTER (WHERE a.protocol_deviation)
        FROM prescriptions_administration a JOIN cohort c ON c.id = a.prescription_id
        WHERE a.entered_in_error_at IS NULL GROUP BY c.centre_id
    """,
    "dispensations": """
        SELECT c.centre_id, sum(d.syringes) FROM prescriptions_dispensation d
        JOIN cohort c ON c.id = d.prescription_id WHERE d.entered_in_error_at IS NULL GROUP BY c.centre_id
    """,
    "adverse_events": """
        SELECT c.centre_id, e.category, count(*), count(*) FILTER (WHERE e.serious)
        FROM prescriptions_adverseevent e JOIN cohort c ON c.id = e.prescription_id
        WHERE e.entered_in_error_at IS NULL GROUP BY c.centre_id, e.category
    """,
    "outcomes": """
        SELECT c.centre_id, o.who_cps, count(*) FROM prescriptions_outcome o
        JOIN cohort c ON c.id = o.prescription_id
        WHERE o.entered_in_error_at IS NULL AND o.day = 28 GROUP BY c.centre_id, o.who_cps
    """,
    "outcome_courses": """
        SELECT c.centre_id,
               count(DISTINCT o.prescription_id) FILTER (WHERE o.who_cps = 10),
               count(DISTINCT o.prescription_id) FILTER (WHERE o.icu_admission),
               count(DISTINCT o.prescription_id) FILTER (WHERE o.day = 14 AND o.severe_respiratory_failure),
               count(DISTINCT o.prescription_id) FILTER (WHERE o.day = 28 AND o.severe_respiratory_failure)
        FROM prescriptions_outcome o JOIN cohort c ON c.id = o.prescription_id
        WHERE o.entered_in_error_at IS NULL GROUP BY c.centre_id
    """,
    "comedications": """
        SELECT c.centre_id, count(DISTINCT m.prescription_id) FROM prescriptions_concomitantmedicationrecord m
        JOIN cohort c ON c.id = m.prescription_id
        WHERE m.entered_in_error_at IS NULL AND m.il_jak_inhibitor GROUP BY c.centre_id
    """,
    "weeks": """
        SELECT (prescribed_at AT TIME ZONE 'Europe/Rome')::date AS day, count(*) FROM cohort GROUP BY day
    """,
    "patients_treated": """
        SELECT count(DISTINCT c.patient_id) FROM cohort c WHERE EXISTS (
            SELECT 1 FROM prescriptions_administration a
            WHERE a.prescription_id = c.id AND a.entered_in_error_at IS NULL)
    """,
}


def monthly_figures(*, region_code: str | None, period_start: date, period_end: date, today: date) -> dict:
    """Every query's rows (PostgreSQL only), in one REPEATABLE READ snapshot as ``reports.metrics`` reads."""
    start, end = day_bounds(period_start, period_end)
    cohort = COHORT.format(
        join="JOIN registry_centre rc ON rc.id = p.centre_id" if region_code else "",
        region="AND rc.region_id = %(region)s" if region_code else "",
    )
    # The window of the one criteria version shipped (10 days); reports.metrics reads it per version.
    window_days = longest_window_days()
    params = {"start": start, "end": end, "region": region_code, "today": today, "window_days": window_days}
    results = {}
    own_transaction = not connection.in_atomic_block  # inside a test's transaction, that one's snapshot holds
    with connection.cursor() as cursor:
        if own_transaction:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            for name, sql in QUERIES.items():
                cursor.execute(cohort + sql, params)
                results[name] = cursor.fetchall()
        finally:
            if own_transaction:
                cursor.execute("COMMIT")
    return results
