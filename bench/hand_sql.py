"""The monthly monitoring figures written by hand in PostgreSQL SQL: the two yardsticks for ``reports.metrics``.

- ``best_figures``: the fastest statement we know how to write, independent of the ORM. One statement reads the
  cohort once (by ``prescribed_at``, or by centre and ``prescribed_at`` for a region) and reaches each
  prescription's records through ``LATERAL`` aggregates on the record tables' partial indexes by prescription
  (migration ``prescriptions 0006``: live records only, the columns counted included, so they are index-only
  scans); every figure, the breakdowns, the weeks and the distinct patients are then counted from that one
  materialised cohort. ``make bench`` reports ``reports.metrics`` against it (the target: at most 1.3×).
- ``orm_plan_figures``: the same figures the way ``reports.metrics`` used to ask for them, one aggregate a kind
  of record joined to the cohort (the ORM's own plan written by hand). Its ratio says how much of the time is
  the ORM's (compiling, Python) rather than its plan; it says nothing about whether the plan is good.

Both return the figures in the shape of ``monitoring_metrics``: ``{"by_centre": {centre id: figures},
"requests_by_day": {day: requests}, "patients_treated": n}``. ``tests/bench/test_bench.py`` holds both to the
metrics' numbers, so a yardstick cannot drift from what the registry computes (a figure added to the metrics and
not here would make the ratio flatter than the truth).
"""

from datetime import date

from django.db import connection

from prescriptions.course.regimen import longest_window_days
from registry.calendar import day_bounds

STOP_REASONS = ("adverse_event", "clinical_worsening", "discharge", "death", "patient_refusal", "other")
WHO_CPS_DEAD = 10

# The scalar figures of a centre, in the order of the ``figures`` array of the statement's centre rows.
CENTRE_FIGURES = (
    "prescriptions_submitted",
    "prescriptions_eligible",
    "prescriptions_rejected",
    "patients_treated",
    "courses_completed",
    "courses_stopped",
    "courses_cancelled",
    "courses_in_progress",
    "missed_doses",
    "doses_administered",
    "protocol_deviations",
    "syringes_dispensed",
    "serious_adverse_events",
    "deaths_day28",
    "deaths",
    "icu_admissions",
    "respiratory_failure_day14",
    "respiratory_failure_day28",
    "courses_with_il_jak_comedication",
    *(f"stopped_{reason}" for reason in STOP_REASONS),
)

# --- The best statement we can write ---------------------------------------------------------------------------

# One row per cohort prescription with its records' aggregates. The course end and the missed doses are the
# definitions of ``reports.metrics.with_missed_doses`` (the window of the one criteria version shipped). A live
# day-28 outcome is unique per prescription (constraint ``one_outcome_per_day``), so ``max`` is its WHO-CPS.
BEST_COHORT = """
WITH cohort AS MATERIALIZED (
    SELECT p.centre_id, p.patient_id, p.status, p.eligible, p.stop_reason, p.prescribed_at,
           a.doses, a.deviations, d.syringes, f.failed, e.categories, e.serious,
           o.who_cps_28, o.dead, o.icu, o.rf14, o.rf28,
           EXISTS (SELECT 1 FROM prescriptions_concomitantmedicationrecord x
                   WHERE x.prescription_id = p.id AND x.entered_in_error_at IS NULL AND x.il_jak_inhibitor) AS il_jak,
           CASE WHEN p.first_dose_on IS NULL THEN 0
                ELSE greatest((w.course_end - p.first_dose_on - 1) / (p.dose_interval_hours / 24) - a.inside, 0)
           END AS missed
    FROM prescriptions_prescription p
    {region_join}
    CROSS JOIN LATERAL (
        SELECT least(CASE WHEN p.status = 'completed'
                               AND p.doses_administered >= %(window_days)s * 24 / p.dose_interval_hours
                          THEN p.last_dose_on
                          WHEN p.status = 'completed' THEN p.first_dose_on + %(window_days)s
                          WHEN p.stopped_at IS NOT NULL THEN (p.stopped_at AT TIME ZONE 'Europe/Rome')::date
                          ELSE %(today)s::date END,
                     p.first_dose_on + %(window_days)s) AS course_end
    ) w
    CROSS JOIN LATERAL (
        SELECT count(*) AS doses,
               count(*) FILTER (WHERE x.protocol_deviation) AS deviations,
               count(*) FILTER (WHERE x.administered_on > p.first_dose_on AND x.administered_on < w.course_end
                                AND (x.course_day - 1) %% (p.dose_interval_hours / 24) = 0) AS inside
        FROM prescriptions_administration x
        WHERE x.prescription_id = p.id AND x.entered_in_error_at IS NULL
    ) a
    CROSS JOIN LATERAL (
        SELECT sum(x.syringes) AS syringes FROM prescriptions_dispensation x
        WHERE x.prescription_id = p.id AND x.entered_in_error_at IS NULL
    ) d
    CROSS JOIN LATERAL (
        SELECT array_agg(x.code) AS failed FROM prescriptions_criterionoutcome x
        WHERE x.prescription_id = p.id AND x.outcome = 'fail'
    ) f
    CROSS JOIN LATERAL (
        SELECT array_agg(x.category) AS categories, count(*) FILTER (WHERE x.serious) AS serious
        FROM prescriptions_adverseevent x
        WHERE x.prescription_id = p.id AND x.entered_in_error_at IS NULL
    ) e
    CROSS JOIN LATERAL (
        SELECT max(x.who_cps) FILTER (WHERE x.day = 28) AS who_cps_28,
               bool_or(x.who_cps = 10) AS dead,
               bool_or(x.icu_admission) AS icu,
               bool_or(x.day = 14 AND x.severe_respiratory_failure) AS rf14,
               bool_or(x.day = 28 AND x.severe_respiratory_failure) AS rf28
        FROM prescriptions_outcome x
        WHERE x.prescription_id = p.id AND x.entered_in_error_at IS NULL
    ) o
    WHERE p.prescribed_at >= %(start)s AND p.prescribed_at < %(end)s {region}
)
"""

BEST_COUNTS = """
SELECT 'centre', c.centre_id::text, ce.name, ce.region_id, ARRAY[
           count(*),
           count(*) FILTER (WHERE c.eligible),
           count(*) FILTER (WHERE c.status = 'rejected'),
           count(DISTINCT c.patient_id) FILTER (WHERE c.doses > 0),
           count(*) FILTER (WHERE c.status = 'completed'),
           count(*) FILTER (WHERE c.status = 'stopped'),
           count(*) FILTER (WHERE c.status = 'cancelled'),
           count(*) FILTER (WHERE c.status IN ('awaiting_dispensing', 'dispensed', 'in_course')),
           sum(c.missed),
           sum(c.doses),
           sum(c.deviations),
           coalesce(sum(c.syringes), 0),
           sum(c.serious),
           count(*) FILTER (WHERE c.who_cps_28 = 10),
           count(*) FILTER (WHERE c.dead),
           count(*) FILTER (WHERE c.icu),
           count(*) FILTER (WHERE c.rf14),
           count(*) FILTER (WHERE c.rf28),
           count(*) FILTER (WHERE c.il_jak),
           {stops}
       ]::bigint[]
FROM cohort c JOIN registry_centre ce ON ce.id = c.centre_id
GROUP BY c.centre_id, ce.name, ce.region_id
UNION ALL
SELECT 'criterion', c.centre_id::text, code, NULL, ARRAY[count(*)]
FROM cohort c CROSS JOIN LATERAL unnest(c.failed) AS code GROUP BY c.centre_id, code
UNION ALL
SELECT 'adverse_event', c.centre_id::text, category, NULL, ARRAY[count(*)]
FROM cohort c CROSS JOIN LATERAL unnest(c.categories) AS category GROUP BY c.centre_id, category
UNION ALL
SELECT 'outcome_day28', c.centre_id::text, c.who_cps_28::text, NULL, ARRAY[count(*)]
FROM cohort c WHERE c.who_cps_28 IS NOT NULL GROUP BY c.centre_id, c.who_cps_28
UNION ALL
SELECT 'day', NULL, day::text, NULL, ARRAY[count(*)]
FROM (SELECT (c.prescribed_at AT TIME ZONE 'Europe/Rome')::date AS day FROM cohort c) days GROUP BY day
UNION ALL
SELECT 'patients_treated', NULL, NULL, NULL, ARRAY[count(DISTINCT c.patient_id)] FROM cohort c WHERE c.doses > 0
"""

_STOPS = ",\n           ".join(
    f"count(*) FILTER (WHERE c.status = 'stopped' AND c.stop_reason = '{reason}')" for reason in STOP_REASONS
)


def best_figures(*, region_code: str | None, period_start: date, period_end: date, today: date) -> dict:
    """Every figure from one statement (PostgreSQL only)."""
    sql = BEST_COHORT.format(
        region_join="JOIN registry_centre rc ON rc.id = p.centre_id" if region_code else "",
        region="AND rc.region_id = %(region)s" if region_code else "",
    ) + BEST_COUNTS.format(stops=_STOPS)
    with connection.cursor() as cursor:
        cursor.execute(sql, _params(region_code, period_start, period_end, today))
        rows = cursor.fetchall()
    centres: dict[str, dict] = {}
    days: dict[date, int] = {}
    patients = 0
    for part, centre_id, key, region, figures in rows:
        if part == "centre":
            entry = centres.setdefault(centre_id, {})
            entry.update(zip(CENTRE_FIGURES, figures, strict=True))
            entry.update(centre_name=key, region=region)
        elif part == "criterion":
            centres.setdefault(centre_id, {}).setdefault("rejections_by_criterion", {})[key] = figures[0]
        elif part == "adverse_event":
            centres.setdefault(centre_id, {}).setdefault("adverse_events_by_category", {})[key] = figures[0]
        elif part == "outcome_day28":
            centres.setdefault(centre_id, {}).setdefault("outcomes_day28", {})[key] = figures[0]
        elif part == "day":
            days[date.fromisoformat(key)] = figures[0]
        else:
            patients = figures[0]
    for entry in centres.values():
        entry["stops_by_reason"] = {reason: entry.pop(f"stopped_{reason}") for reason in STOP_REASONS}
    return {"by_centre": centres, "requests_by_day": days, "patients_treated": patients}


def _params(region_code, period_start, period_end, today) -> dict:
    start, end = day_bounds(period_start, period_end)
    # The window of the one criteria version shipped (10 days); reports.metrics reads it per version.
    return {"start": start, "end": end, "region": region_code, "today": today, "window_days": longest_window_days()}


# --- The ORM's former plan, written by hand ---------------------------------------------------------------------

ORM_PLAN_COHORT = """
WITH cohort AS NOT MATERIALIZED (
    SELECT p.* FROM prescriptions_prescription p
    {join}
    WHERE p.prescribed_at >= %(start)s AND p.prescribed_at < %(end)s {region}
)
"""

ORM_PLAN_QUERIES = {
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


def orm_plan_figures(*, region_code: str | None, period_start: date, period_end: date, today: date) -> dict:
    """The figures from one aggregate a kind of record (PostgreSQL only), as ``best_figures`` returns them."""
    cohort = ORM_PLAN_COHORT.format(
        join="JOIN registry_centre rc ON rc.id = p.centre_id" if region_code else "",
        region="AND rc.region_id = %(region)s" if region_code else "",
    )
    params = _params(region_code, period_start, period_end, today)
    rows = {}
    own_transaction = not connection.in_atomic_block  # inside a test's transaction, that one's snapshot holds
    with connection.cursor() as cursor:
        if own_transaction:  # one snapshot for every query, as reports.metrics reads
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            for name, sql in ORM_PLAN_QUERIES.items():
                cursor.execute(cohort + sql, params)
                rows[name] = cursor.fetchall()
        finally:
            if own_transaction:
                cursor.execute("COMMIT")
    return _orm_plan_as_figures(rows)


def _orm_plan_as_figures(rows: dict) -> dict:
    centres: dict[str, dict] = {}

    def entry(centre_id) -> dict:
        return centres.setdefault(str(centre_id), {})

    keys = CENTRE_FIGURES[:9]
    for row in rows["prescriptions"]:
        figures = entry(row[0])
        figures.update(zip(keys, (value or 0 for value in row[3:12]), strict=True))
        figures.update(centre_name=row[1], region=row[2])
        figures["stops_by_reason"] = dict(zip(STOP_REASONS, row[12:], strict=True))
    flags = ("deaths", "icu_admissions", "respiratory_failure_day14", "respiratory_failure_day28")
    for row in rows["outcome_courses"]:
        entry(row[0]).update(zip(flags, row[1:], strict=True))
    for centre_id, courses in rows["comedications"]:
        entry(centre_id)["courses_with_il_jak_comedication"] = courses
    for centre_id, code, count in rows["criteria"]:
        entry(centre_id).setdefault("rejections_by_criterion", {})[code] = count
    for centre_id, doses, deviations in rows["administrations"]:
        entry(centre_id).update(doses_administered=doses, protocol_deviations=deviations)
    for centre_id, syringes in rows["dispensations"]:
        entry(centre_id)["syringes_dispensed"] = syringes or 0
    for centre_id, category, events, serious in rows["adverse_events"]:
        figures = entry(centre_id)
        figures.setdefault("adverse_events_by_category", {})[category] = events
        figures["serious_adverse_events"] = figures.get("serious_adverse_events", 0) + serious
    for centre_id, who_cps, count in rows["outcomes"]:
        figures = entry(centre_id)
        figures.setdefault("outcomes_day28", {})[str(who_cps)] = count
        figures["deaths_day28"] = figures.get("deaths_day28", 0) + (count if who_cps == WHO_CPS_DEAD else 0)
    return {
        "by_centre": centres,
        "requests_by_day": dict(rows["weeks"]),
        "patients_treated": rows["patients_treated"][0][0],
    }


YARDSTICKS = {"best": best_figures, "orm_plan": orm_plan_figures}


def differences(metrics: dict, figures: dict) -> list[str]:
    """Where a yardstick's ``figures`` and ``monitoring_metrics``' differ (empty: the same numbers)."""
    found = []
    theirs = figures["by_centre"]
    ours = {entry["centre_id"]: entry for entry in metrics["by_centre"]}
    if set(ours) != set(theirs):
        found.append(f"centres: {sorted(set(ours) ^ set(theirs))}")
    for centre_id in set(ours) & set(theirs):
        entry, mine = ours[centre_id], theirs[centre_id]
        for key, value in mine.items():
            if isinstance(value, dict):
                if _nonzero(entry[key]) != _nonzero(value):
                    found.append(f"{centre_id} {key}: {entry[key]} != {value}")
            elif entry[key] != (value or 0):
                found.append(f"{centre_id} {key}: {entry[key]} != {value}")
    weeks: dict[str, int] = {}
    for day, count in figures["requests_by_day"].items():
        week = f"{day.isocalendar().year}-W{day.isocalendar().week:02d}"
        weeks[week] = weeks.get(week, 0) + count
    if _nonzero(metrics["requests_by_week"]) != weeks:
        found.append(f"requests_by_week: {metrics['requests_by_week']} != {weeks}")
    if metrics["patients_treated"] != figures["patients_treated"]:
        found.append(f"patients_treated: {metrics['patients_treated']} != {figures['patients_treated']}")
    return found


def _nonzero(counts: dict) -> dict:
    return {key: count for key, count in counts.items() if count}
