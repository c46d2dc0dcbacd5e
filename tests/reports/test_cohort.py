"""The hand-built cohort the report tests count on, built through the prescription services.

Every course lies in the past (a prescription may be registered up to 30 days late), so the report period is
``D-29 … D-2`` where ``D`` is today in Rome. Lombardia (030, Ospedale Demo Milano):

==== =================== ============================================================================
P1   D-29 00:00:00       completed: 10 doses D-29 … D-20, one a day (its window); WHO-CPS d14 4, d28 2
P2   D-28 09:00          stopped (death) D-24 after 4 doses, one of 200 mg (protocol deviation); 7+3
                         syringes; serious infection (serious); WHO-CPS d28 10
P3   D-20 08:00          stopped (clinical worsening) D-14 after doses D-20, D-19, D-16: missed D-18,
                         D-17, D-15; hepatic event; a serious neutropenia entered in error
P4   D-15                cancelled by the prescriber before any dose (patient refusal)
P5   D-14                cancelled: the pharmacist refused to dispense
P6   D-6                 P3's patient again, in course: 5 syringes, doses D-6, D-5, D-3, D-1 (missed D-4, D-2)
P7   D-3                 dispensed (10 syringes), no dose yet
P8   D-2 23:59:59        awaiting dispensing (last second of the period)
P9   D-10                rejected: PaO2/FiO2 150 and suPAR 5 (two criteria)
P10  D-9                 rejected: on CPAP
P11  D-8                 rejected: suPAR 5.9
P12  D-1 00:00:00        dispensed, 10 syringes: after the period, never counted
==== =================== ============================================================================

Lazio (120, Ospedale Demo Roma), which a Lombardia report must never show: R1 (D-20, in course, doses D-20,
D-19 (150 mg, deviation), D-18, 10 syringes, serious neutropenia) and R2 (D-12, rejected: suPAR 5).
"""

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Q
from django.utils import timezone
from stdnum.it.codicefiscale import calc_check_digit

from prescriptions import services as rx
from prescriptions.api.eligibility_serializers import to_assessment
from prescriptions.api.serializers import PrescriptionSubmitSerializer
from prescriptions.models import Prescription, PrescriptionStatus
from registry.models import Centre
from reports.models import ReportRun

ROME = ZoneInfo("Europe/Rome")
_MONTHS = "ABCDEHLMPRST"
_serial = itertools.count(1000)

ELIGIBLE = {
    "hospitalised": True,
    "sars_cov_2_confirmed": True,
    "pneumonia": "severe",
    "pao2_mmhg": 80,
    "fio2": 0.40,
    "respiratory_support": "low_flow_oxygen",
    "supar_ng_ml": 7.2,
    "anc_10e9_l": 3.1,
    "known_hypersensitivity": False,
}


def rome(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=ROME)


def fiscal_code(serial: int | None = None, *, birth_date: date = date(1960, 5, 1), sex: str = "M") -> str:
    n = next(_serial) if serial is None else serial
    letters = ""
    for _ in range(6):
        n, r = divmod(n, 26)
        letters += chr(ord("A") + r)
    day = birth_date.day + (40 if sex == "F" else 0)
    body = f"{letters[::-1]}{birth_date.year % 100:02d}{_MONTHS[birth_date.month - 1]}{day:02d}F205"
    return body + calc_check_digit(body)


class Builder:
    """Prescriptions at any stage, written through the services as the API would."""

    def __init__(self, users: dict):
        self.users = users
        self.centres = {
            "030": Centre.objects.get(name="Ospedale Demo Milano"),
            "120": Centre.objects.get(name="Ospedale Demo Roma"),
        }
        self.staff = {
            "030": {"prescriber": "prescriber.milano", "pharmacist": "pharmacist.milano", "nurse": "nurse.milano"},
            "120": {"prescriber": "prescriber.roma", "pharmacist": "pharmacist.roma", "nurse": "prescriber.roma"},
        }

    def _user(self, region: str, role: str):
        return self.users[self.staff[region][role]]

    def submit(self, at: datetime, *, region: str = "030", code: str | None = None, **assessment) -> Prescription:
        body = {
            "prescribed_at": at.isoformat(),
            "patient": {"fiscal_code": code or fiscal_code(), "birth_date": "1960-05-01", "sex": "M"},
            "assessment": {**ELIGIBLE, **assessment},
            "informed_consent": True,
        }
        serializer = PrescriptionSubmitSerializer(data=body)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return rx.prescription_submit(
            prescriber=self._user(region, "prescriber"),
            centre=self.centres[region],
            patient=rx.PatientData.from_dict(data["patient"]),
            assessment=to_assessment(data["assessment"], default_assessed_at=at, patient=data["patient"]),
            assessment_record=body["assessment"],
            consent=rx.Consent(given_by=data["consent_given_by"], given_on=timezone.localtime(at).date()),
            prescribed_at=at,
        )

    def dispense(self, prescription: Prescription, syringes: int, *, region: str = "030") -> None:
        rx.dispensation_record(
            pharmacist=self._user(region, "pharmacist"),
            prescription=prescription,
            syringes=syringes,
            lot_number="LOT-648",
            expiry_date=timezone.localdate() + timedelta(days=365),
        )

    def doses(self, prescription: Prescription, days, *, region: str = "030", deviations=None) -> None:
        deviations = deviations or {}
        for day in days:
            rx.administration_record(
                user=self._user(region, "nurse"),
                prescription=prescription,
                administered_at=rome(day, 10),
                dose_mg=Decimal(deviations.get(day, 100)),
                route="SC",
            )

    def stop(self, prescription: Prescription, at: datetime, reason: str, *, region: str = "030") -> None:
        rx.prescription_stop(
            prescriber=self._user(region, "prescriber"), prescription=prescription, reason=reason, stopped_at=at
        )

    def refuse(self, prescription: Prescription, *, region: str = "030") -> None:
        rx.dispensing_refuse(
            pharmacist=self._user(region, "pharmacist"), prescription=prescription, note="Out of stock"
        )

    def adverse_event(
        self, prescription: Prescription, category: str, onset: date, *, serious: bool, region: str = "030"
    ):
        return rx.adverse_event_record(
            user=self._user(region, "nurse"),
            prescription=prescription,
            category=category,
            serious=serious,
            onset_date=onset,
            description="…",
            reported_to_pharmacovigilance=serious,
        )

    def outcome(self, prescription: Prescription, day: int, who_cps: int, assessed_on: date, **details) -> None:
        rx.outcome_record(
            prescriber=self._user("030", "prescriber"),
            prescription=prescription,
            day=day,
            who_cps=who_cps,
            assessed_on=assessed_on,
            **details,
        )

    def comedication(self, prescription: Prescription, name: str, started_on: date, *, region: str = "030"):
        return rx.concomitant_medication_record(
            user=self._user(region, "nurse"), prescription=prescription, name=name, started_on=started_on
        )


@dataclass
class Cohort:
    today: date
    period_start: date
    period_end: date
    prescriptions: dict[str, Prescription] = field(default_factory=dict)

    def refreshed(self, name: str) -> Prescription:
        return Prescription.objects.get(pk=self.prescriptions[name].pk)


def days(today: date, *offsets: int) -> list[date]:
    return [today - timedelta(days=offset) for offset in offsets]


def build_cohort(users: dict) -> Cohort:
    b = Builder(users)
    d = timezone.localdate()
    ago = lambda n: d - timedelta(days=n)  # noqa: E731
    cohort = Cohort(today=d, period_start=ago(29), period_end=ago(2))
    p = cohort.prescriptions

    p["P1"] = b.submit(rome(ago(29), 0, 0, 0))
    b.dispense(p["P1"], 10)
    b.doses(p["P1"], days(d, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20))
    b.outcome(p["P1"], 14, 4, ago(16))
    b.outcome(p["P1"], 28, 2, ago(2))

    p["P2"] = b.submit(rome(ago(28), 9))
    b.dispense(p["P2"], 7)
    b.dispense(p["P2"], 3)
    b.doses(p["P2"], days(d, 28, 27, 26, 25), deviations={ago(27): 200})
    b.adverse_event(p["P2"], "serious_infection", ago(26), serious=True)
    b.stop(p["P2"], rome(ago(24), 12), "death")
    b.outcome(
        p["P2"],
        28,
        10,
        ago(1),
        icu_admission=True,
        severe_respiratory_failure=True,
        death_on=ago(24),
        death_cause="ARDS",
    )

    shared_patient = fiscal_code()
    p["P3"] = b.submit(rome(ago(20), 8), code=shared_patient)
    b.dispense(p["P3"], 10)
    b.doses(p["P3"], days(d, 20, 19, 16))
    b.adverse_event(p["P3"], "hepatic", ago(17), serious=False)
    wrong = b.adverse_event(p["P3"], "neutropenia", ago(16), serious=True)
    rx.record_mark_entered_in_error(
        user=users["nurse.milano"],
        prescription=p["P3"],
        kind="adverse_event",
        record_id=wrong.pk,
        reason="wrong patient",
    )
    b.stop(p["P3"], rome(ago(14), 9), "clinical_worsening")
    b.outcome(p["P3"], 14, 6, ago(7), icu_admission=False, severe_respiratory_failure=True)

    p["P4"] = b.submit(rome(ago(15), 10))
    b.stop(p["P4"], rome(ago(15), 11), "patient_refusal")

    p["P5"] = b.submit(rome(ago(14), 10))
    b.refuse(p["P5"])

    p["P6"] = b.submit(rome(ago(6), 10), code=shared_patient)
    b.dispense(p["P6"], 5)
    b.doses(p["P6"], days(d, 6, 5, 3, 1))
    b.comedication(p["P6"], "RoActemra", ago(2))
    b.comedication(p["P6"], "Clexane", ago(5))

    p["P7"] = b.submit(rome(ago(3), 10))
    b.dispense(p["P7"], 10)

    p["P8"] = b.submit(rome(ago(2), 23, 59, 59))

    p["P9"] = b.submit(rome(ago(10), 10), pao2_mmhg=60, fio2=0.40, supar_ng_ml=5)
    p["P10"] = b.submit(rome(ago(9), 10), respiratory_support="cpap")
    p["P11"] = b.submit(rome(ago(8), 10), supar_ng_ml=5.9)

    p["P12"] = b.submit(rome(ago(1), 0, 0, 0))
    b.dispense(p["P12"], 10)

    p["R1"] = b.submit(rome(ago(20), 10), region="120")
    b.dispense(p["R1"], 10, region="120")
    b.doses(p["R1"], days(d, 20, 19, 18), region="120", deviations={ago(19): 150})
    b.adverse_event(p["R1"], "neutropenia", ago(18), serious=True, region="120")
    p["R2"] = b.submit(rome(ago(12), 10), region="120", supar_ng_ml=5)
    return cohort


def per_centre_figures(metrics: dict) -> dict:
    """A report's figures but the per-centre list, the report-only requests per week and the Region's spending (a
    sum of money, tested in test_spending_report.py), as in LOMBARDIA."""
    return {key: value for key, value in metrics.items() if key not in ("by_centre", "requests_by_week", "spending")}


def zeros(keys) -> dict:
    return dict.fromkeys(keys, 0)


STOP_REASONS = ("adverse_event", "clinical_worsening", "discharge", "death", "patient_refusal", "other")
AE_CATEGORIES = ("neutropenia", "serious_infection", "hepatic", "injection_site_reaction", "hypersensitivity", "other")
WHO_CPS = tuple(str(score) for score in range(11))

# Lombardia over D-29 … D-2, counted by hand from the table above (today = D).
LOMBARDIA = {
    "prescriptions_submitted": 11,  # P1–P11
    "prescriptions_eligible": 8,  # P1–P8
    "prescriptions_rejected": 3,  # P9–P11
    "rejections_by_criterion": {"PAO2_FIO2_ABOVE_150": 1, "NO_CPAP_OR_VENTILATION": 1, "SUPAR_AT_LEAST_6": 2},
    "patients_treated": 3,  # P1, P2, and P3 = P6's patient
    "courses_completed": 1,  # P1
    "courses_stopped": 2,  # P2, P3
    "courses_cancelled": 2,  # P4, P5
    "courses_in_progress": 3,  # P6 in course, P7 dispensed, P8 awaiting
    "stops_by_reason": {**zeros(STOP_REASONS), "death": 1, "clinical_worsening": 1},
    "doses_administered": 21,  # 10 + 4 + 3 + 4
    "syringes_dispensed": 45,  # 10 + (7 + 3) + 10 + 5 + 10
    "adverse_events_by_category": {**zeros(AE_CATEGORIES), "serious_infection": 1, "hepatic": 1},
    "serious_adverse_events": 1,  # P3's serious neutropenia was entered in error
    "outcomes_day28": {**zeros(WHO_CPS), "2": 1, "10": 1},
    "deaths_day28": 1,  # P2
    "missed_doses": 5,  # P3 D-18, D-17, D-15; P6 D-4, D-2
    "protocol_deviations": 1,  # P2's 200 mg
    "courses_with_il_jak_comedication": 1,  # P6's tocilizumab (its enoxaparin is harmless)
    "deaths": 1,  # P2
    "icu_admissions": 1,  # P2
    "respiratory_failure_day14": 1,  # P3 (NIV)
    "respiratory_failure_day28": 1,  # P2
}

# Lazio over the same period: R1 is in course since D-20 with doses D-20 … D-18, so D-17 … D-11 are missed (its
# window ended on D-11, day 10; nothing after it counts, although no task closed the course yet).
LAZIO = {
    "prescriptions_submitted": 2,
    "prescriptions_eligible": 1,
    "prescriptions_rejected": 1,
    "rejections_by_criterion": {"SUPAR_AT_LEAST_6": 1},
    "patients_treated": 1,
    "courses_completed": 0,
    "courses_stopped": 0,
    "courses_cancelled": 0,
    "courses_in_progress": 1,
    "stops_by_reason": zeros(STOP_REASONS),
    "doses_administered": 3,
    "syringes_dispensed": 10,
    "adverse_events_by_category": {**zeros(AE_CATEGORIES), "neutropenia": 1},
    "serious_adverse_events": 1,
    "outcomes_day28": zeros(WHO_CPS),
    "deaths_day28": 0,
    "missed_doses": 7,
    "protocol_deviations": 1,
    "courses_with_il_jak_comedication": 0,
    "deaths": 0,
    "icu_admissions": 0,
    "respiratory_failure_day14": 0,
    "respiratory_failure_day28": 0,
}


@pytest.fixture
def cohort(demo) -> Cohort:
    return build_cohort(demo)


def test_the_cohort_is_what_its_table_says(cohort):
    status = {name: cohort.refreshed(name).status for name in cohort.prescriptions}
    assert status == {
        "P1": PrescriptionStatus.COMPLETED,
        "P2": PrescriptionStatus.STOPPED,
        "P3": PrescriptionStatus.STOPPED,
        "P4": PrescriptionStatus.CANCELLED,
        "P5": PrescriptionStatus.CANCELLED,
        "P6": PrescriptionStatus.IN_COURSE,
        "P7": PrescriptionStatus.DISPENSED,
        "P8": PrescriptionStatus.AWAITING_DISPENSING,
        "P9": PrescriptionStatus.REJECTED,
        "P10": PrescriptionStatus.REJECTED,
        "P11": PrescriptionStatus.REJECTED,
        "P12": PrescriptionStatus.DISPENSED,
        "R1": PrescriptionStatus.IN_COURSE,
        "R2": PrescriptionStatus.REJECTED,
    }
    assert cohort.refreshed("P3").patient_id == cohort.refreshed("P6").patient_id
    failed = {
        name: sorted(r["code"] for r in cohort.refreshed(name).eligibility["results"] if r["outcome"] == "fail")
        for name in ("P9", "P10", "P11")
    }
    assert failed == {
        "P9": ["PAO2_FIO2_ABOVE_150", "SUPAR_AT_LEAST_6"],
        "P10": ["NO_CPAP_OR_VENTILATION"],
        "P11": ["SUPAR_AT_LEAST_6"],
    }


def as_whole_month(run_id) -> None:
    """Relabel a run (and its parts) made for the cohort's days — 29 to 2 days ago, no calendar month — as November
    2021: the national role reads runs of whole calendar months or quarters only, and these tests read its figures
    and files, not its period."""
    ReportRun.objects.filter(Q(pk=run_id) | Q(parent_id=run_id)).update(
        period_start=date(2021, 11, 1), period_end=date(2021, 11, 30)
    )
