"""Alerts on a prescription (docs/rules.md, "The course"): the pure functions, then the detail that shows them."""

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from prescriptions import services
from prescriptions.codes import BLOCKING_ALERTS
from prescriptions.course.alerts import (
    AlertThresholds,
    course_end_exclusive,
    course_grid,
    lab_alert,
    missed_days,
    prescription_alerts,
)
from registry.calendar import rome_date

from . import factories as f

D = date(2021, 11, 1)


def day(n: int) -> date:
    """Day ``n`` of a course starting on D (day 1 = D)."""
    return D + timedelta(days=n - 1)


# The criteria version the thresholds come from (ANC 1.5 ×10⁹/L, 100 mg SC).
VERSION = "L648-2021-10"


@dataclass
class Course:
    """Just what the alert functions read of a prescription."""

    status: str
    first_dose_on: date | None = None
    last_dose_on: date | None = None
    stopped_at: datetime | None = None
    criteria_version: str = VERSION
    dose_interval_hours: int = 24
    doses_administered: int = 0


@dataclass
class Dose:
    administered_on: date
    dose_mg: Decimal = Decimal(100)
    route: str = "SC"
    protocol_deviation: bool = False
    entered_in_error_at: datetime | None = None


@dataclass
class Lab:
    test: str
    value: Decimal
    upper_limit_normal: Decimal | None = None
    collected_at: datetime = f.rome(D, 8)
    entered_in_error_at: datetime | None = None
    prescription: Course = field(default_factory=lambda: Course("in_course"))


@dataclass
class Result:
    day: int
    entered_in_error_at: datetime | None = None


# --- missed_days ------------------------------------------------------------------------------


def test_no_dose_yet_means_nothing_missed():
    assert missed_days(Course("dispensed"), [], today=day(5)) == []


def test_a_running_course_counts_up_to_yesterday():
    course = Course("in_course", first_dose_on=day(1), last_dose_on=day(4))
    doses = [day(1), day(2), day(4)]

    # Today (day 6) is not counted: the dose may still come.
    assert missed_days(course, doses, today=day(6)) == [day(3), day(5)]
    assert missed_days(course, doses, today=day(5)) == [day(3)]
    assert missed_days(course, [day(1)], today=day(2)) == []
    assert missed_days(course, [day(1)], today=day(1)) == []


def test_a_running_course_counts_missed_doses_only_inside_its_window():
    course = Course("in_course", first_dose_on=day(1), last_dose_on=day(3))

    # Days 4..10: a dose is never due after day 10, even before the daily task closes the course.
    assert missed_days(course, [day(1), day(2), day(3)], today=day(15)) == [day(n) for n in range(4, 11)]
    assert course_end_exclusive(course, today=day(15)) == day(11)


def test_a_stopped_course_ends_on_the_stop_day_not_counted():
    stopped = f.rome(day(5), 10)
    course = Course("stopped", first_dose_on=day(1), last_dose_on=day(2), stopped_at=stopped)

    assert missed_days(course, [day(1), day(2)], today=day(20)) == [day(3), day(4)]


def test_the_stop_day_is_the_rome_day():
    # 23:30 UTC on day 4 is 00:30 (or 01:30) on day 5 in Rome: day 4 is counted, day 5 is not.
    stopped = datetime.combine(day(4), time(23, 30), tzinfo=UTC)
    assert rome_date(stopped) == day(5)
    course = Course("stopped", first_dose_on=day(1), last_dose_on=day(1), stopped_at=stopped)

    assert missed_days(course, [day(1)], today=day(20)) == [day(2), day(3), day(4)]


def test_a_completed_course_ends_on_its_tenth_dose():
    given = [day(n) for n in range(1, 11)]
    course = Course("completed", first_dose_on=day(1), last_dose_on=day(10), doses_administered=10)

    assert missed_days(course, given, today=day(40)) == []
    assert course_end_exclusive(course, today=day(40)) == day(10)


def test_a_course_closed_by_its_window_misses_the_days_without_a_dose_up_to_day_ten():
    given = [day(n) for n in (1, 2, 4, 5, 6, 7, 8, 9)]
    course = Course("completed", first_dose_on=day(1), last_dose_on=day(9), doses_administered=8)

    assert missed_days(course, given, today=day(40)) == [day(3), day(10)]
    assert course_end_exclusive(course, today=day(40)) == day(11)


def test_a_stopped_course_ends_at_its_stop_or_its_window_whichever_first():
    course = Course("stopped", first_dose_on=day(1), last_dose_on=day(2), stopped_at=f.rome(day(14), 9))

    assert course_end_exclusive(course, today=day(20)) == day(11)
    assert missed_days(course, [day(1), day(2)], today=day(20)) == [day(n) for n in range(3, 11)]


def test_a_complete_course_without_gaps_misses_nothing():
    given = [day(n) for n in range(1, 11)]
    course = Course("completed", first_dose_on=day(1), last_dose_on=day(10), doses_administered=10)

    assert missed_days(course, given, today=day(40)) == []


# --- course_grid ------------------------------------------------------------------------------------


def test_the_grid_before_the_first_dose_is_ten_days_to_come():
    grid = course_grid(Course("dispensed"), [], today=D)

    assert [cell["day"] for cell in grid] == list(range(1, 11))
    assert {cell["state"] for cell in grid} == {"to_come"}
    assert all(cell["scheduled"] for cell in grid)


def test_the_grid_of_a_running_course():
    doses = [Dose(day(1)), Dose(day(2)), Dose(day(4))]
    course = Course("in_course", first_dose_on=day(1), last_dose_on=day(4))

    grid = course_grid(course, doses, today=day(6))

    states = [cell["state"] for cell in grid]
    # Exactly the window: days 1 to 10, missed days included (a missed dose is not made up after day 10).
    assert states == ["given", "given", "missed", "given", "missed"] + ["to_come"] * 5
    assert [cell["date"] for cell in grid] == [day(n) for n in range(1, 11)]
    assert [cell["today"] for cell in grid].index(True) == 5


# -- the renal regimen: 100 mg every 48 h, 5 doses over the 10 days -------------------------------------------


def every_48_h(status, **kwargs) -> Course:
    return Course(status, dose_interval_hours=48, **kwargs)


def test_every_48_h_only_scheduled_days_can_be_missed():
    course = every_48_h("in_course", first_dose_on=day(1), last_dose_on=day(3))

    # Days 2 and 4 are off the schedule; day 5 has no dose; today (day 7) is not counted.
    assert missed_days(course, [day(1), day(3)], today=day(7)) == [day(5)]
    assert missed_days(course, [day(1), day(3), day(5)], today=day(7)) == []
    assert missed_days(course, [day(1)], today=day(3)) == []


def test_every_48_h_a_completed_course_ends_on_its_fifth_dose():
    doses = [day(1), day(3), day(5), day(7), day(9)]
    course = every_48_h("completed", first_dose_on=day(1), last_dose_on=day(9), doses_administered=5)

    assert missed_days(course, doses, today=day(20)) == []
    assert course_end_exclusive(course, today=day(20)) == day(9)


def test_every_48_h_the_grid_has_five_doses_every_other_day():
    before = course_grid(every_48_h("dispensed"), [], today=day(1))
    assert [cell["day"] for cell in before] == list(range(1, 11))
    assert [cell["day"] for cell in before if cell["scheduled"]] == [1, 3, 5, 7, 9]

    course = every_48_h("in_course", first_dose_on=day(1), last_dose_on=day(3))
    grid = course_grid(course, [Dose(day(1)), Dose(day(3))], today=day(8))

    assert [(cell["day"], cell["state"]) for cell in grid] == [
        (1, "given"),
        (2, "rest"),
        (3, "given"),
        (4, "rest"),
        (5, "missed"),
        (6, "rest"),
        (7, "missed"),
        (8, "rest"),
        (9, "to_come"),
        (10, "rest"),
    ]


def test_every_48_h_an_off_schedule_dose_shows_where_it_fell_and_is_a_deviation():
    course = every_48_h("in_course", first_dose_on=day(1), last_dose_on=day(4))
    doses = [Dose(day(1)), Dose(day(4), protocol_deviation=True)]

    grid = course_grid(course, doses, today=day(5))
    with translation.override("en"):
        alerts = prescription_alerts(course, administrations=doses, lab_results=[], outcomes=[], today=day(5))

    assert [(cell["day"], cell["state"]) for cell in grid][:4] == [
        (1, "given"),
        (2, "rest"),
        (3, "missed"),
        (4, "given"),
    ]
    assert {alert.code for alert in alerts} == {"MISSED_DOSE", "PROTOCOL_DEVIATION"}
    assert "every 48 h" in next(a.message for a in alerts if a.code == "PROTOCOL_DEVIATION")


def test_the_grid_ignores_doses_in_error():
    doses = [Dose(day(1)), Dose(day(2), entered_in_error_at=f.rome(day(2), 13))]
    course = Course("in_course", first_dose_on=day(1), last_dose_on=day(1))

    grid = course_grid(course, doses, today=day(3))

    assert [cell["state"] for cell in grid[:3]] == ["given", "missed", "to_come"]


def test_the_grid_of_a_stopped_course_ends_at_the_stop():
    doses = [Dose(day(1)), Dose(day(2))]
    course = Course("stopped", first_dose_on=day(1), last_dose_on=day(2), stopped_at=f.rome(day(4), 9))

    grid = course_grid(course, doses, today=day(20))

    assert [cell["state"] for cell in grid] == ["given", "given", "missed"] + ["not_given"] * 7


def test_the_grid_of_a_completed_course():
    given = [day(n) for n in (1, 2, 4, 5, 6, 7, 8, 9, 10)]
    course = Course("completed", first_dose_on=day(1), last_dose_on=day(10), doses_administered=9)

    grid = course_grid(course, [Dose(d) for d in given], today=day(30))

    assert len(grid) == 10
    assert [cell["state"] for cell in grid].count("given") == 9
    assert grid[2]["state"] == "missed"


# --- lab_alert and prescription_alerts --------------------------------------------------------------


@pytest.mark.parametrize(
    ("lab", "code"),
    [
        (Lab("anc", Decimal("1.2")), "NEUTROPENIA"),
        (Lab("anc", Decimal("1.5")), None),
        (Lab("anc", Decimal("0")), "NEUTROPENIA"),
        (Lab("alt", Decimal("130"), Decimal("40")), "HEPATIC"),
        (Lab("alt", Decimal("119.999"), Decimal("40")), None),
        (Lab("alt", Decimal("120"), Decimal("40")), "HEPATIC"),
        (Lab("alt", Decimal("100"), Decimal("40")), None),
        (Lab("ast", Decimal("120")), "HEPATIC"),  # default ULN 40 U/L
        (Lab("ast", Decimal("119")), None),
        (Lab("ast", Decimal("90"), Decimal("30")), "HEPATIC"),
    ],
)
def test_lab_thresholds(lab, code):
    alert = lab_alert(lab)

    assert (alert.code if alert else None) == code
    if alert:
        assert alert.on == D


def test_every_alert_comes_from_records_not_in_error():
    course = Course("in_course", first_dose_on=day(1), last_dose_on=day(3))
    doses = [
        Dose(day(1)),
        Dose(day(3), dose_mg=Decimal(50), protocol_deviation=True),
        Dose(day(2), protocol_deviation=True, entered_in_error_at=f.rome(day(2), 13)),
    ]
    labs = [Lab("anc", Decimal("1.0")), Lab("alt", Decimal("200"), entered_in_error_at=f.rome(D, 9))]

    alerts = prescription_alerts(course, administrations=doses, lab_results=labs, outcomes=[], today=day(4))

    assert sorted((a.code, a.on) for a in alerts) == [
        ("MISSED_DOSE", day(2)),  # the dose in error does not count as given
        ("NEUTROPENIA", D),
        ("PROTOCOL_DEVIATION", day(3)),
    ]


@pytest.mark.parametrize(
    ("today", "outcomes", "overdue"),
    [
        (day(28), [], False),  # day 28 itself: still in time
        (day(29), [], True),
        (day(29), [Result(14)], True),
        (day(29), [Result(28)], False),
        (day(40), [Result(28, entered_in_error_at=f.rome(day(30), 9))], True),
    ],
)
def test_the_day_28_outcome_is_overdue_after_day_28(today, outcomes, overdue):
    course = Course("completed", first_dose_on=day(1), last_dose_on=day(10), doses_administered=10)
    doses = [Dose(day(n)) for n in range(1, 11)]

    alerts = prescription_alerts(course, administrations=doses, lab_results=[], outcomes=outcomes, today=today)

    assert [a.code for a in alerts] == (["OUTCOME_OVERDUE"] if overdue else [])
    if overdue:
        assert alerts[0].on == day(28)


# --- On the detail --------------------------------------------------------------------------------------


def alerts_of(client, prescription) -> list[tuple[str, str]]:
    response = client.get(f"/api/v1/prescriptions/{prescription.pk}/")
    assert response.status_code == 200
    return sorted((alert["code"], alert["on"]) for alert in response.json()["alerts"])


def ago(days: int) -> str:
    return (f.today() - timedelta(days=days)).isoformat()


def test_missed_doses_of_a_running_course(demo, client_for):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=6, dose_days_ago=[5, 4, 2])

    # Days 3 and 1 ago have no dose; today is not counted.
    assert alerts_of(client_for("nurse.milano"), prescription) == [("MISSED_DOSE", ago(3)), ("MISSED_DOSE", ago(1))]


def test_a_dose_today_is_not_yet_missed(demo, client_for):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=2, dose_days_ago=[1])

    assert alerts_of(client_for("nurse.milano"), prescription) == []


def test_missed_doses_of_a_stopped_course(demo, client_for):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=12, dose_days_ago=[10, 9])
    services.prescription_stop(
        prescriber=demo["prescriber.milano"],
        prescription=prescription,
        reason="adverse_event",
        stopped_at=f.days_ago(6, 9),
    )

    # Days 8 and 7 ago are missed; the stop day (6 ago) and after are not.
    assert alerts_of(client_for("prescriber.milano"), prescription) == [
        ("MISSED_DOSE", ago(8)),
        ("MISSED_DOSE", ago(7)),
    ]


def test_missed_doses_of_a_course_closed_by_its_window(demo, client_for):
    given = [25, 24, 22, 21, 20, 19, 18, 17]  # day 1 is 25 days ago, day 10 16 days ago
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=26, dose_days_ago=given)
    assert services.course_windows_close() == [prescription]

    # The gaps inside the window, day 10 included; nothing after it.
    assert alerts_of(client_for("prescriber.milano"), prescription) == [
        ("MISSED_DOSE", ago(23)),
        ("MISSED_DOSE", ago(16)),
    ]


def test_outcome_overdue_after_day_28(demo, client_for):
    prescription = f.prescription_at(demo, "completed", prescribed_days_ago=29)  # first dose 29 days ago
    client = client_for("prescriber.milano")
    day_28 = ago(29 - 27)

    assert alerts_of(client, prescription) == [("OUTCOME_OVERDUE", day_28)]

    outcome = services.outcome_record(
        prescriber=demo["prescriber.milano"],
        prescription=prescription,
        day=28,
        who_cps=3,
        assessed_on=f.today() - timedelta(days=1),
    )
    assert alerts_of(client, prescription) == []

    services.record_mark_entered_in_error(
        user=demo["prescriber.milano"], prescription=prescription, kind="outcome", record_id=outcome.pk, reason="x"
    )
    assert alerts_of(client, prescription) == [("OUTCOME_OVERDUE", day_28)]


@pytest.mark.parametrize(("first_dose_days_ago", "overdue"), [(27, False), (28, True)])
def test_outcome_overdue_boundary(demo, client_for, first_dose_days_ago, overdue):
    doses = list(range(first_dose_days_ago, first_dose_days_ago - 10, -1))
    prescription = f.prescription_at(demo, "completed", prescribed_days_ago=29, dose_days_ago=doses)

    codes = [code for code, _on in alerts_of(client_for("prescriber.milano"), prescription)]

    assert codes == (["OUTCOME_OVERDUE"] if overdue else [])


def test_safety_alerts_on_the_detail(demo, client_for):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=5, dose_days_ago=[4, 3, 2, 1])
    nurse = demo["nurse.milano"]
    for test, value, uln in [("anc", "1.1", None), ("alt", "130", "40"), ("ast", "60", "40"), ("anc", "2.5", None)]:
        services.lab_result_record(
            user=nurse,
            prescription=prescription,
            test=test,
            value=Decimal(value),
            upper_limit_normal=Decimal(uln) if uln else None,
            collected_at=f.days_ago(2, 7),
        )

    assert alerts_of(client_for("officer.lombardia"), prescription) == [
        ("HEPATIC", ago(2)),
        ("NEUTROPENIA", ago(2)),
    ]


def test_protocol_deviations_on_the_detail(demo, client_for):
    prescription = f.prescription_at(demo, "dispensed", prescribed_days_ago=5)
    nurse = demo["nurse.milano"]
    f.administer(nurse, prescription, f.days_ago(4), dose_mg="50")
    f.administer(nurse, prescription, f.days_ago(3))
    f.administer(nurse, prescription, f.days_ago(2), route="IV")
    f.administer(nurse, prescription, f.days_ago(1))

    assert alerts_of(client_for("nurse.milano"), prescription) == [
        ("PROTOCOL_DEVIATION", ago(4)),
        ("PROTOCOL_DEVIATION", ago(2)),
    ]


def test_the_detail_shows_the_course_grid_days(demo, client_for):
    prescription = f.prescription_at(demo, "completed")

    body = client_for("nurse.milano").get(f"/api/v1/prescriptions/{prescription.pk}/").json()

    assert [a["course_day"] for a in body["administrations"]] == list(range(1, 11))
    assert body["first_dose_on"] == ago(29)


def test_the_alert_thresholds_are_those_of_the_prescriptions_criteria_version():
    thresholds = AlertThresholds.of(Course("in_course"))
    assert thresholds.neutropenia_below_10e9_l == Decimal("1.5")
    assert (thresholds.regimen.dose_mg, thresholds.regimen.route) == (Decimal(100), "SC")
    # Another version's limit is applied as it stands.
    stricter = replace(thresholds, neutropenia_below_10e9_l=Decimal("2"))
    assert lab_alert(Lab("anc", Decimal("1.8")), stricter).code == "NEUTROPENIA"
    assert lab_alert(Lab("anc", Decimal("1.8"))) is None


def test_neutropenia_is_one_alert_per_course_however_many_low_results():
    """Three low ANC counts are one clinical problem: one alert, dated by the latest low count, not three."""
    course = Course("in_course", first_dose_on=day(1), last_dose_on=day(4))
    doses = [Dose(day(n)) for n in range(1, 5)]
    labs = [
        Lab("anc", Decimal("1.2"), collected_at=f.rome(day(2), 8)),
        Lab("anc", Decimal("0.9"), collected_at=f.rome(day(4), 8)),
        Lab("anc", Decimal("1.1"), collected_at=f.rome(day(3), 8)),
        Lab("anc", Decimal("0.5"), collected_at=f.rome(day(4), 9), entered_in_error_at=f.rome(day(4), 10)),
        Lab("alt", Decimal("200"), collected_at=f.rome(day(3), 8)),
    ]

    with translation.override("en"):
        alerts = prescription_alerts(course, administrations=doses, lab_results=labs, outcomes=[], today=day(5))

    assert sorted((a.code, a.on) for a in alerts) == [("HEPATIC", day(3)), ("NEUTROPENIA", day(4))]
    (neutropenia,) = [a for a in alerts if a.code == "NEUTROPENIA"]
    assert "0.9 " in neutropenia.message  # the latest low count


def test_alert_texts_follow_the_readers_language():
    """Dates and decimals in an alert's text as the reader writes them: 0,9 and 04/11/2021 in Italian."""
    course = Course("in_course", first_dose_on=day(1), last_dose_on=day(4))
    doses = [Dose(day(n)) for n in (1, 2, 4)]
    labs = [Lab("anc", Decimal("0.9"), collected_at=f.rome(day(4), 8))]
    texts = {}
    for language in ("it", "en"):
        with translation.override(language):
            alerts = prescription_alerts(course, administrations=doses, lab_results=labs, outcomes=[], today=day(5))
        texts[language] = " ".join(a.message for a in alerts)

    assert "0,9" in texts["it"] and "04/11/2021" in texts["it"] and "03/11/2021" in texts["it"]
    assert "0.9" in texts["en"]
    for text in texts.values():
        assert not re.search(r"\d{4}-\d{2}-\d{2}", text)


# --- A serious infection during the course (Kineret SmPC 4.4: stop anakinra) ------------------------------------


@dataclass
class Event:
    category: str
    onset_date: date
    serious: bool = True
    entered_in_error_at: datetime | None = None


def test_a_serious_infection_during_the_course_raises_a_blocking_alert():
    course = Course("in_course", first_dose_on=day(1), last_dose_on=day(3), doses_administered=3)
    doses = [Dose(day(n)) for n in (1, 2, 3)]
    events = [
        Event("injection_site_reaction", day(2)),
        Event("serious_infection", day(3), entered_in_error_at=f.rome(day(3), 14)),
        Event("serious_infection", day(3)),
    ]

    with translation.override("it"):
        alerts = prescription_alerts(
            course, administrations=doses, lab_results=[], outcomes=[], today=day(4), adverse_events=events
        )

    assert [(a.code, a.on) for a in alerts] == [("SERIOUS_INFECTION", day(3))]
    assert "sospendere anakinra" in alerts[0].message
    assert "SERIOUS_INFECTION" in BLOCKING_ALERTS and "NEUTROPENIA" in BLOCKING_ALERTS


def test_after_a_stop_a_serious_infection_or_a_low_count_raises_nothing_new():
    course = Course("stopped", first_dose_on=day(1), last_dose_on=day(2), stopped_at=f.rome(day(3), 9))
    doses = [Dose(day(1)), Dose(day(2))]

    alerts = prescription_alerts(
        course,
        administrations=doses,
        lab_results=[Lab("anc", Decimal("0.8"), collected_at=f.rome(day(5), 8))],
        outcomes=[],
        today=day(6),
        adverse_events=[Event("serious_infection", day(5))],
    )

    assert alerts == []


def test_a_serious_infection_shows_on_the_detail(demo, client_for):
    prescription = f.prescription_at(demo, "in_course", prescribed_days_ago=3, dose_days_ago=[2, 1])
    services.adverse_event_record(
        user=demo["nurse.milano"],
        prescription=prescription,
        category="serious_infection",
        serious=True,
        onset_date=f.today(),
        description="Polmonite batterica.",
        reported_to_pharmacovigilance=False,
    )

    assert alerts_of(client_for("nurse.milano"), prescription) == [("SERIOUS_INFECTION", ago(0))]
