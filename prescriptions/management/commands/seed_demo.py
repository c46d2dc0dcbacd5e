"""python manage.py seed_demo: the demo users, centres and records of API.md (idempotent).

``--history`` (used by ``make run``) adds a month of prescriptions in both demo regions, made through the services
as the users would have made them: refused requests, courses running with missed days, completed courses with
their day-14 and day-28 outcomes, a course stopped for an adverse event, a neutropenia, work due today. The tests'
``demo`` fixture runs without it, so it stays fast.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from stdnum.it.codicefiscale import calc_check_digit

from prescriptions import services as prescription_services
from prescriptions.api.serializers import PrescriptionSubmitSerializer
from prescriptions.course.regimen import listing_regimen
from prescriptions.models import Prescription, TocilizumabShortage
from registry import services
from registry.calendar import REGISTRY_TIME_ZONE, day_start, rome_today
from registry.models import Centre, CentreDesignation, Pharmacy, PrescriberAuthorisation, Region, Role

DEMO_PASSWORD = "demo-password-648"  # noqa: S105 - published in API.md for the demo only
PROGRAMME_START = date(2021, 10, 1)
SHORTAGE_START = date(2021, 10, 5)
SHORTAGE_REFERENCE = "Determina AIFA 30/09/2021 n. 114586 (GU n. 237 del 4/10/2021): carenza di tocilizumab"

User = get_user_model()

# Who to sign in as, printed at the end of every seed (``make run`` shows it before serving): API.md's demo table.
DEMO_USERS = (
    ("prescriber.milano", "prescriber, Ospedale Demo Milano (Lombardia, 030)"),
    ("prescriber.roma", "prescriber, Ospedale Demo Roma (Lazio, 120)"),
    ("prescriber.expired", "prescriber whose authorisation ended yesterday (Milano)"),
    ("pharmacist.milano", "pharmacist of the pharmacy serving Milano"),
    ("pharmacist.roma", "pharmacist of the pharmacy serving Roma"),
    ("nurse.milano", "nurse, Milano centre"),
    ("officer.lombardia", "regional officer, Lombardia (030)"),
    ("officer.lazio", "regional officer, Lazio (120)"),
    ("aifa", "national monitoring (AIFA)"),
    ("admin", "administrator"),
)


def demo_users_table() -> str:
    width = max(len(username) for username, _ in DEMO_USERS)
    lines = [f"Demo users (password {DEMO_PASSWORD}):"]
    lines += [f"  {username:<{width}}  {who}" for username, who in DEMO_USERS]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Create the demo regions, centres, pharmacies, users, authorisations and shortage record."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off (never in production)")
        parser.add_argument(
            "--history",
            action="store_true",
            help="also a month of prescriptions in both demo regions (once: skipped if any prescription exists)",
        )

    def handle(self, *args, force=False, history=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates users with a published password: refused with DEBUG off (--force).")
        with transaction.atomic():
            self.seed()
        if history:
            made = seed_history(self.stdout)
            self.stdout.write(f"History: {made} prescriptions." if made else "History: already there, unchanged.")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Every demo user's password: {DEMO_PASSWORD}"))
        self.stdout.write(demo_users_table())

    def user(self, username, **kwargs):
        existing = User.objects.filter(username=username).first()
        if existing:
            return existing
        return services.staff_create(actor=self.admin, username=username, password=DEMO_PASSWORD, **kwargs)

    def seed(self):
        self.admin = User.objects.filter(username="admin").first() or services.administrator_bootstrap(
            username="admin", password=DEMO_PASSWORD, email="admin@example.invalid"
        )
        lombardia = Region.objects.get(code="030")
        lazio = Region.objects.get(code="120")
        officers = {
            "030": self.user("officer.lombardia", role=Role.REGIONAL_OFFICER, region=lombardia),
            "120": self.user("officer.lazio", role=Role.REGIONAL_OFFICER, region=lazio),
        }
        self.user("aifa", role=Role.NATIONAL, first_name="AIFA", last_name="Monitoraggio")

        centres = {}
        for region, city in ((lombardia, "Milano"), (lazio, "Roma")):
            officer = officers[region.code]
            pharmacy = Pharmacy.objects.filter(region=region, name=f"Farmacia Ospedaliera Demo {city}").first()
            if pharmacy is None:
                pharmacy = services.pharmacy_create(
                    actor=officer, region=region, name=f"Farmacia Ospedaliera Demo {city}"
                )
            centre = Centre.objects.filter(region=region, name=f"Ospedale Demo {city}").first()
            if centre is None:
                centre = services.centre_create(
                    actor=officer, region=region, name=f"Ospedale Demo {city}", pharmacy=pharmacy
                )
            if not CentreDesignation.objects.filter(centre=centre).exists():
                services.centre_designate(
                    actor=officer,
                    centre=centre,
                    valid_from=PROGRAMME_START,
                    act_reference=f"Delibera regionale demo ({region.name})",
                )
            centres[city] = centre
            slug = city.lower()
            prescriber = self.user(f"prescriber.{slug}", role=Role.PRESCRIBER, centre=centre)
            self.authorise(officer, prescriber, centre, valid_to=None)
            self.user(f"pharmacist.{slug}", role=Role.PHARMACIST, pharmacy=pharmacy)

        self.user("nurse.milano", role=Role.NURSE, centre=centres["Milano"])
        expired = self.user("prescriber.expired", role=Role.PRESCRIBER, centre=centres["Milano"])
        self.authorise(officers["030"], expired, centres["Milano"], valid_to=timezone.localdate() - timedelta(days=1))

        if not TocilizumabShortage.objects.exists():
            aifa = User.objects.get(username="aifa")
            prescription_services.shortage_record(
                actor=aifa,
                starts_on=SHORTAGE_START,
                ends_on=None,
                aifa_reference=SHORTAGE_REFERENCE,
            )

    def authorise(self, officer, prescriber, centre, *, valid_to):
        if not PrescriberAuthorisation.objects.filter(prescriber=prescriber, centre=centre).exists():
            services.prescriber_authorise(
                actor=officer,
                prescriber=prescriber,
                centre=centre,
                valid_from=PROGRAMME_START,
                valid_to=valid_to,
            )


# --- History (--history) ------------------------------------------------------------------------------------

_MONTHS = "ABCDEHLMPRST"  # the fiscal code's letter for each month
_SURNAMES = ["RSS", "BNC", "VRD", "FRR", "CLM", "GLL", "MRN", "CNT", "SRT", "DLC", "MNC", "PLL", "BRB", "CST", "LNG"]
# Fictitious patients whose names agree with their fiscal codes ("MRA": Mario, or Maria), in the demo's wards.
_FAMILY_NAMES = [
    "Rossi",
    "Bianchi",
    "Verdi",
    "Ferrari",
    "Colombo",
    "Gallo",
    "Marino",
    "Conti",
    "Sartori",
    "De Luca",
    "Mancini",
    "Pellegrini",
    "Barbieri",
    "Costa",
    "Longo",
]
_WARDS = {"Milano": ("Malattie Infettive", "Medicina 2"), "Roma": ("Pneumologia", "Medicina d'Urgenza")}
ELIGIBLE = {
    "hospitalised": True,
    "sars_cov_2_confirmed": True,
    "pneumonia": "severe",
    "pao2_mmhg": 80,
    "fio2": 0.40,
    "respiratory_support": "low_flow_oxygen",
    "supar_ng_ml": 7.2,
    "anc_10e9_l": 3.1,
    "creatinine_clearance_ml_min": 80,
    "alt_x_uln": 0.8,
    "ast_x_uln": 1.1,
    "known_hypersensitivity": False,
}
# Why a request is refused: PaO2/FiO2 at or below 150 with CPAP; suPAR below 6 ng/mL.
SEVERE = {"pao2_mmhg": 55, "fio2": 0.60, "respiratory_support": "cpap"}
LOW_SUPAR = {"supar_ng_ml": 4.8}


@dataclass(frozen=True)
class Story:
    """One prescription's life, in days before today (Rome): the demo's history is a list of these."""

    city: str
    prescribed: int  # days ago
    sex: str = "M"
    birth: date = date(1958, 3, 14)
    refused: dict | None = None  # the assessment values that make it not eligible
    dispensed: int = 0  # syringes
    doses: tuple[int, ...] = ()  # days ago
    stop: tuple[int, str] | None = None  # (days ago, reason)
    adverse_event: tuple[int, str, bool] | None = None  # (days ago, category, serious)
    labs: tuple[tuple[int, str, str], ...] = ()  # (days ago, test, value)
    outcomes: dict = field(default_factory=dict)  # day -> WHO-CPS


def _course(first: int, count: int, *, missing: tuple[int, ...] = ()) -> tuple[int, ...]:
    """``count`` daily doses from ``first`` days ago, skipping the days ``missing`` (days ago too)."""
    days, day = [], first
    while len(days) < count and day >= 0:
        if day not in missing:
            days.append(day)
        day -= 1
    return tuple(days)


# A whole course of the listing's regimen (the criteria version's data, prescriptions.course.regimen): its doses, and as
# many syringes. The stories dispense a whole course and give it in full or in part.
FULL = listing_regimen(PROGRAMME_START).doses

STORIES = [
    # Milano (Lombardia)
    Story("Milano", 29, dispensed=FULL, doses=_course(29, FULL), outcomes={14: 3, 28: 1}),
    Story("Milano", 27, sex="F", birth=date(1949, 11, 2), dispensed=FULL, doses=_course(27, FULL), outcomes={14: 4}),
    Story("Milano", 24, refused=SEVERE),
    Story(
        "Milano",
        20,
        birth=date(1971, 7, 9),
        dispensed=FULL,
        doses=_course(20, 3),
        adverse_event=(18, "serious_infection", True),
        stop=(18, "adverse_event"),
        outcomes={14: 5},
    ),
    Story("Milano", 12, sex="F", birth=date(1966, 1, 25), refused=LOW_SUPAR),
    Story(
        "Milano",
        7,
        birth=date(1955, 4, 30),
        dispensed=FULL,
        doses=_course(7, 5, missing=(4, 2)),
        labs=((3, "anc", "1.2"), (1, "anc", "1.1"), (3, "alt", "35")),
    ),
    Story("Milano", 3, sex="F", birth=date(1980, 9, 12), dispensed=FULL, doses=_course(3, 3)),
    Story("Milano", 1, birth=date(1962, 12, 1), dispensed=FULL),
    Story("Milano", 0, sex="F", birth=date(1975, 6, 18)),
    Story("Milano", 0, birth=date(1990, 2, 3), refused=SEVERE),
    # Roma (Lazio)
    Story(
        "Roma", 28, sex="F", birth=date(1953, 8, 21), dispensed=FULL, doses=_course(28, FULL), outcomes={14: 2, 28: 1}
    ),
    Story("Roma", 22, birth=date(1947, 10, 5), refused=LOW_SUPAR),
    Story(
        "Roma",
        15,
        birth=date(1968, 3, 3),
        dispensed=FULL,
        doses=_course(15, 4),
        adverse_event=(12, "hepatic", False),
        labs=((12, "alt", "160"),),
        stop=(12, "adverse_event"),
    ),
    Story("Roma", 6, sex="F", birth=date(1959, 5, 27), dispensed=FULL, doses=_course(6, 4, missing=(3,))),
    Story("Roma", 0, birth=date(1970, 1, 15)),
]


def _fiscal_code(index: int, story: Story) -> str:
    day = story.birth.day + (40 if story.sex == "F" else 0)
    body = f"{_SURNAMES[index % len(_SURNAMES)]}MRA{story.birth:%y}{_MONTHS[story.birth.month - 1]}{day:02d}F205"
    return body + calc_check_digit(body)


def _identity(index: int, story: Story) -> dict:
    """The patient's fictitious name, ward, bed and admission number (kept encrypted, as real ones would be)."""
    wards = _WARDS[story.city]
    return {
        "family_name": _FAMILY_NAMES[index % len(_FAMILY_NAMES)],
        "given_name": "Maria" if story.sex == "F" else "Mario",
        "ward": wards[index % len(wards)],
        "bed": str(3 + (index * 7) % 24),
        "admission_number": f"{rome_today().year}{index + 1:06d}",
    }


def _at(days_ago: int, hour: int) -> datetime:
    """``hour``:00 Rome time ``days_ago`` days before today; today's moments, if not yet come, just before now
    (in the order of their hours) but still today (:func:`moment`)."""
    return moment(days_ago, hour, timezone.now())[0]


def moment(days_ago: int, hour: int, now: datetime) -> tuple[datetime, str]:
    """The moment of :func:`_at` at ``now``, and which rule gave it:

    - ``"hour"``: ``hour``:00 Rome time, ``days_ago`` days before today, once it is at least ``30 - hour`` minutes
      past;
    - ``"now"``: else, from half past midnight on, ``30 - hour`` minutes before now (today's hours not yet come, in
      their order; never before ``00:hour``);
    - ``"early"``: in the first half hour of the day, when none of today's hours has come, the minutes already gone
      shared in the order of the hours, ``(hour + 1) / 25`` of them: today, before now. (These moments went to
      ``00:hour`` before, after now for most hours: the history was refused as dated in the future.)
    """
    day = rome_today(now) - timedelta(days=days_ago)
    at_hour = datetime.combine(day, time(hour), tzinfo=REGISTRY_TIME_ZONE)
    before_now = now - timedelta(minutes=30 - hour)
    if at_hour <= before_now:
        return at_hour, "hour"
    today = day_start(rome_today(now))
    if now - today >= timedelta(minutes=30):
        return before_now, "now"
    return today + (now - today) * (hour + 1) / 25, "early"


def seed_history(stdout=None) -> int:
    """Make the demo's history through the services; nothing if any prescription exists already."""
    if Prescription.objects.exists():
        return 0
    with transaction.atomic():
        for index, story in enumerate(STORIES):
            _live(index, story)
    return len(STORIES)


def _live(index: int, story: Story) -> None:
    slug = story.city.lower()
    prescriber = User.objects.get(username=f"prescriber.{slug}")
    pharmacist = User.objects.get(username=f"pharmacist.{slug}")
    clinician = User.objects.filter(username=f"nurse.{slug}").first() or prescriber
    centre = Centre.objects.get(name=f"Ospedale Demo {story.city}")
    prescribed_at = _at(story.prescribed, 8)
    body = {
        "centre": str(centre.pk),
        "prescribed_at": prescribed_at.isoformat(),
        "patient": {
            "fiscal_code": _fiscal_code(index, story),
            "birth_date": story.birth.isoformat(),
            "sex": story.sex,
            "weight_kg": 62 if story.sex == "F" else 81,
            **_identity(index, story),
        },
        "assessment": {**ELIGIBLE, **(story.refused or {})},
        "informed_consent": True,
    }
    serializer = PrescriptionSubmitSerializer(data=body)
    serializer.is_valid(raise_exception=True)
    prescription = prescription_services.prescription_submit_validated(
        prescriber=prescriber, centre=centre, data=serializer.validated_data
    )
    if story.refused or not story.dispensed:
        return
    prescription_services.dispensation_record(
        pharmacist=pharmacist,
        prescription=prescription,
        syringes=story.dispensed,
        lot_number=f"KIN-{2041 + index}",
        expiry_date=rome_today() + timedelta(days=300),
    )
    events = [(days, 12, "dose", None) for days in story.doses]
    events += [(days, 9, "lab", (test, value)) for days, test, value in story.labs]
    if story.adverse_event:
        events.append((story.adverse_event[0], 10, "adverse_event", story.adverse_event))
    if story.stop:
        events.append((story.stop[0], 18, "stop", story.stop[1]))
    for days, hour, kind, detail in sorted(events, key=lambda e: (-e[0], e[1])):
        prescription.refresh_from_db()
        if kind == "dose":
            prescription_services.administration_record(
                user=clinician,
                prescription=prescription,
                administered_at=_at(days, hour),
                dose_mg=Decimal(100),
                route="SC",
            )
        elif kind == "lab":
            prescription_services.lab_result_record(
                user=clinician,
                prescription=prescription,
                test=detail[0],
                value=Decimal(detail[1]),
                upper_limit_normal=Decimal(40) if detail[0] != "anc" else None,
                collected_at=_at(days, hour),
            )
        elif kind == "adverse_event":
            prescription_services.adverse_event_record(
                user=clinician,
                prescription=prescription,
                category=detail[1],
                serious=detail[2],
                onset_date=rome_today() - timedelta(days=days),
                description="Demo: evento avverso registrato durante il ciclo.",
                reported_to_pharmacovigilance=detail[2],
            )
        else:
            prescription_services.prescription_stop(
                prescriber=prescriber, prescription=prescription, reason=detail, stopped_at=_at(days, hour)
            )
    prescription.refresh_from_db()
    first = prescription.first_dose_on
    for day, who_cps in story.outcomes.items():
        assessed_on = first + timedelta(days=day - 1)
        if assessed_on <= rome_today():
            prescription_services.outcome_record(
                prescriber=prescriber, prescription=prescription, day=day, who_cps=who_cps, assessed_on=assessed_on
            )
