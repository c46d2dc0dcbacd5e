"""python manage.py seed_synthetic --prescriptions N: realistic synthetic history in bulk (benchmarks, load tests).

What it writes, in chunks, with ``COPY`` on PostgreSQL (``bulk_create`` elsewhere):

- an organisation over all 21 regions: centres in proportion to each region's population, one hospital pharmacy
  for every three centres, a designation for each centre, a prescriber (authorised) and a nurse per centre, a
  pharmacist per pharmacy and an officer per region (usernames ``syn.*``, no usable password);
- ``N`` prescriptions spread over the last ``--months`` months, each for a new patient (a valid fiscal code,
  linked by its keyed pseudonym: ``syn_fiscal_code(serial)`` gives the clear code back for searches; the code,
  a fictitious name, ward, bed and admission number kept encrypted as a submission keeps them);
- about 12 % refused, spread over the criteria (verdicts computed by the rule engine once per profile);
- the eligible ones' courses as the services would have left them: completed (missed days and a few protocol
  deviations included), stopped (adverse event, worsening, death, discharge, refusal), cancelled before any
  dose, and recent ones awaiting dispensing, dispensed or in course; adverse events, ANC results, day-14 and
  day-28 outcomes;
- the audit trail of all of it: one hash chain per patient and per prescription, each event computed as
  ``registry.audit`` computes it (so ``verify_audit`` passes) and marked ``"seeded": true`` in its changes.

Refuses to run with ``DEBUG`` off unless ``--force`` (it is test data, never for a real registry).
"""

import random
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from stdnum.it.codicefiscale import calc_check_digit

from prescriptions import eligibility
from prescriptions.api.eligibility_serializers import EligibilityCheckSerializer
from prescriptions.assessment import to_assessment
from prescriptions.course.regimen import regimen_of
from prescriptions.models import (
    Administration,
    AdverseEvent,
    CriterionOutcome,
    Dispensation,
    DoseInterval,
    LabResult,
    Outcome,
    Prescription,
    PrescriptionStatus,
    TocilizumabShortage,
)
from registry.audit import compute_hash, to_audit_json
from registry.audit_actions import AuditAction
from registry.calendar import REGISTRY_TIME_ZONE, rome_today
from registry.models import (
    AuditEvent,
    Centre,
    CentreDesignation,
    Patient,
    Pharmacy,
    PrescriberAuthorisation,
    Region,
    Role,
    StaffProfile,
)
from registry.patient_crypto import admission_number_index, encrypt_identity, family_name_index
from registry.pseudonym import pseudonymise

# Resident population (millions, ISTAT 1 January 2024): centres and prescriptions follow it.
POPULATION = {
    "010": 4.25,
    "020": 0.12,
    "030": 10.02,
    "041": 0.54,
    "042": 0.55,
    "050": 4.85,
    "060": 1.19,
    "070": 1.51,
    "080": 4.45,
    "090": 3.66,
    "100": 0.86,
    "110": 1.49,
    "120": 5.72,
    "130": 1.27,
    "140": 0.29,
    "150": 5.59,
    "160": 3.91,
    "170": 0.54,
    "180": 1.84,
    "190": 4.79,
    "200": 1.57,
}
CENTRES_PER_MILLION = 1.5
CENTRE_PREFIX = "Synthetic centre"
PLACE_CODE = "Z404"  # fiscal codes of people born abroad (USA): never collides with the demo's or the tests'
_MONTHS = "ABCDEHLMPRST"
REFUSED_SHARE = 0.12

BASE_ASSESSMENT = {
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
# Why requests are refused, with their weights (a refusal can fail several criteria).
REFUSAL_PROFILES = [
    (30, {"pao2_mmhg": 45, "fio2": 0.30, "respiratory_support": "cpap"}),
    (20, {"supar_ng_ml": 5.1}),
    (12, {"respiratory_support": "cpap"}),
    (8, {"pao2_mmhg": 50, "fio2": 0.30}),
    (6, {"anc_10e9_l": 1.1}),
    (5, {"hospitalised": False}),
    (5, {"sars_cov_2_confirmed": False}),
    (4, {"alt_x_uln": 6.0}),
    (4, {"known_hypersensitivity": True}),
    (3, {"creatinine_clearance_ml_min": 20}),
    (3, {"supar_ng_ml": 4.0, "anc_10e9_l": 1.2}),
]
STOP_REASONS = [
    (35, "clinical_worsening"),
    (20, "adverse_event"),
    (15, "death"),
    (20, "discharge"),
    (10, "patient_refusal"),
]
AE_CATEGORIES = [
    (45, "injection_site_reaction"),
    (15, "neutropenia"),
    (15, "serious_infection"),
    (10, "hepatic"),
    (5, "hypersensitivity"),
    (10, "other"),
]
WHO_CPS_DAY28 = [(30, 0), (25, 1), (15, 2), (10, 3), (7, 4), (4, 5), (2, 6), (1, 7), (1, 8), (1, 9), (4, 10)]


SYN_FAMILY_NAMES = ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco")
SYN_GIVEN_NAMES = {
    "M": ("Giuseppe", "Giovanni", "Antonio", "Mario", "Luigi", "Francesco", "Angelo", "Vincenzo"),
    "F": ("Maria", "Anna", "Giuseppina", "Rosa", "Angela", "Giovanna", "Teresa", "Lucia"),
}


def _syn_identity(serial: int, fiscal_code: str, sex: str, *, patient_id, centre_id) -> dict:
    """The synthetic patient's identity as the submission stores it: encrypted, with its keyed indexes.

    Chosen from the serial, not the seed's random stream, so the rest of the history is the same as without it.
    """
    family_name = SYN_FAMILY_NAMES[serial % len(SYN_FAMILY_NAMES)]
    given_names = SYN_GIVEN_NAMES[sex]
    admission_number = f"SYN{serial:09d}"
    values = {
        "fiscal_code": fiscal_code,
        "family_name": family_name,
        "given_name": given_names[(serial // len(SYN_FAMILY_NAMES)) % len(given_names)],
        "ward": "Medicina",
        "bed": str(1 + serial % 30),
        "admission_number": admission_number,
        "centre": str(centre_id),
    }
    return {
        "identity_ciphertext": encrypt_identity(values, patient_id=patient_id),
        "family_name_index": family_name_index(family_name),
        "admission_number_index": admission_number_index(admission_number),
    }


def syn_fiscal_code(serial: int, birth_date: date, sex: str) -> str:
    """The valid fiscal code of synthetic patient ``serial`` (stored only as its pseudonym)."""
    n, letters = serial, ""
    for _ in range(6):
        n, r = divmod(n, 26)
        letters += chr(ord("A") + r)
    day = birth_date.day + (40 if sex == "F" else 0)
    body = f"{letters[::-1]}{birth_date.year % 100:02d}{_MONTHS[birth_date.month - 1]}{day:02d}{PLACE_CODE}"
    return body + calc_check_digit(body)


def _weighted(rng: random.Random, table):
    return rng.choices([value for _, value in table], weights=[weight for weight, _ in table])[0]


def _rome(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=REGISTRY_TIME_ZONE).astimezone(UTC)


class Writer:
    """Rows as dicts of column attnames, written per model: COPY on PostgreSQL, bulk_create elsewhere."""

    def __init__(self):
        self.rows: dict[type, list[dict]] = {}
        self.written: dict[str, int] = {}

    def add(self, model, **row):
        self.rows.setdefault(model, []).append(row)

    def flush(self):
        for model, rows in self.rows.items():
            if not rows:
                continue
            if connection.vendor == "postgresql":
                self._copy(model, rows)
            else:
                model.objects.bulk_create([model(**row) for row in rows], batch_size=500)
            self.written[model.__name__] = self.written.get(model.__name__, 0) + len(rows)
        self.rows = {}

    @staticmethod
    def _copy(model, rows):
        from psycopg.types.json import Jsonb

        # A column the rows leave out gets the model's default, as bulk_create would give it (COPY would write
        # NULL: Django's defaults are not the database's); nullable ones are left out of the COPY.
        fallbacks = {}
        for f in model._meta.concrete_fields:
            if f.attname in rows[0]:
                continue
            if f.has_default():
                fallbacks[f.attname] = f.get_default()
            elif not f.null and f.empty_strings_allowed:
                fallbacks[f.attname] = ""
        if fallbacks:
            rows = [{**fallbacks, **row} for row in rows]
        fields = [f for f in model._meta.concrete_fields if f.attname in rows[0]]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        # Plain values go as they are (psycopg adapts them); only JSON needs wrapping.
        json_columns = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
        names = [f.attname for f in fields]
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    values = [row[name] for name in names]
                    for i in json_columns:
                        values[i] = Jsonb(values[i])
                    copy.write_row(values)


class Chain:
    """Audit events of one object, chained exactly as ``registry.audit.audit_record`` chains them."""

    def __init__(self, writer: Writer, object_type: str, object_id: str):
        self.writer, self.object_type, self.object_id = writer, object_type, object_id
        self.sequence, self.previous_hash = 0, ""

    def add(self, *, at: datetime, actor, action: str, changes: dict):
        self.sequence += 1
        stored = to_audit_json({**changes, "seeded": True})
        entry_hash = compute_hash(
            previous_hash=self.previous_hash,
            occurred_at=at,
            actor_id=actor.pk,
            actor_username=actor.username,
            action=str(action),
            object_type=self.object_type,
            object_id=self.object_id,
            sequence=self.sequence,
            changes=stored,
        )
        self.writer.add(
            AuditEvent,
            occurred_at=at,
            actor_id=actor.pk,
            actor_username=actor.username,
            action=str(action),
            object_type=self.object_type,
            object_id=self.object_id,
            sequence=self.sequence,
            changes=stored,
            previous_hash=self.previous_hash,
            entry_hash=entry_hash,
        )
        self.previous_hash = entry_hash


class Command(BaseCommand):
    help = "Bulk-seed realistic synthetic prescriptions (all regions, courses, events, audit trail)."

    def add_arguments(self, parser):
        parser.add_argument("--prescriptions", type=int, required=True, help="how many prescriptions to add")
        parser.add_argument("--months", type=int, default=24, help="spread over the last M months (default 24)")
        parser.add_argument("--seed", type=int, default=648, help="random seed (default 648)")
        parser.add_argument("--chunk", type=int, default=2000, help="prescriptions per transaction")
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off")
        parser.add_argument(
            "--first-serial",
            type=int,
            default=None,
            help="number the new patients from this serial on (default: the patients already there), so that a "
            "second process can seed the same database at the same time, e.g. --first-serial 5000000",
        )

    def handle(  # noqa: PLR0913 - the command's options
        self,
        *args,
        prescriptions: int,
        months: int,
        seed: int,
        chunk: int,
        force: bool,
        first_serial: int | None = None,
        **options,
    ):
        if not settings.DEBUG and not force:
            raise CommandError("seed_synthetic writes test data: refused with DEBUG off (--force).")
        if prescriptions < 0:
            raise CommandError("--prescriptions must be at least 0.")
        if first_serial is not None and first_serial < 0:
            raise CommandError("--first-serial must be at least 0.")
        started = time.monotonic()
        start = Patient.objects.count() if first_serial is None else first_serial
        self.rng = random.Random(seed + start)
        self.today = rome_today()
        self.first_day = self.today - timedelta(days=months * 30)
        with transaction.atomic():
            self.organisation()
            self.profiles()
        self.serial = start
        done = 0
        totals: dict[str, int] = {}
        while done < prescriptions:
            size = min(chunk, prescriptions - done)
            writer = Writer()
            with transaction.atomic():
                for _ in range(size):
                    self.prescription(writer)
                writer.flush()
            for name, count in writer.written.items():
                totals[name] = totals.get(name, 0) + count
            done += size
            if prescriptions >= 50_000 and done % 50_000 < chunk:
                self.stdout.write(f"  {done} prescriptions ({time.monotonic() - started:.0f} s)")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        summary = ", ".join(f"{count} {name}" for name, count in sorted(totals.items()))
        self.stdout.write(
            self.style.SUCCESS(f"Seeded {prescriptions} prescriptions in {time.monotonic() - started:.1f} s: {summary}")
        )

    # --- The organisation -----------------------------------------------------------------------------

    def organisation(self):
        User = get_user_model()
        self.centres: dict[str, list[Centre]] = {}
        self.prescriber_of, self.nurse_of, self.pharmacist_of = {}, {}, {}
        password = make_password(None)
        valid_from = self.first_day - timedelta(days=1)
        existing = {c.name: c for c in Centre.objects.filter(name__startswith=CENTRE_PREFIX)}
        admin = User.objects.filter(is_superuser=True).first() or User.objects.create(
            username="syn.admin", password=password, is_superuser=True, is_staff=True
        )
        if not TocilizumabShortage.objects.filter(starts_on__lte=self.first_day, ends_on__isnull=True).exists():
            TocilizumabShortage.objects.create(
                starts_on=min(self.first_day, date(2021, 10, 5)), aifa_reference="Synthetic shortage (seed_synthetic)"
            )
        for region in Region.objects.all():
            count = max(1, round(POPULATION.get(region.code, 1.0) * CENTRES_PER_MILLION))
            names = [f"{CENTRE_PREFIX} {region.code}-{i + 1:02d}" for i in range(count)]
            pharmacies = []
            for p in range((count + 2) // 3):
                pharmacy, _ = Pharmacy.objects.get_or_create(
                    region=region, name=f"Synthetic pharmacy {region.code}-{p + 1:02d}"
                )
                pharmacies.append(pharmacy)
                self.pharmacist_of[pharmacy.pk] = self._user(
                    f"syn.pharmacist.{region.code}-{p + 1:02d}", password, role=Role.PHARMACIST, pharmacy=pharmacy
                )
            self._user(f"syn.officer.{region.code}", password, role=Role.REGIONAL_OFFICER, region=region)
            centres = []
            for i, name in enumerate(names):
                centre = existing.get(name) or Centre.objects.create(
                    region=region, name=name, pharmacy=pharmacies[i // 3]
                )
                if not centre.designations.exists():
                    CentreDesignation.objects.create(
                        centre=centre, valid_from=valid_from, act_reference="Synthetic", designated_by=admin
                    )
                label = f"{region.code}-{i + 1:02d}"
                prescriber = self._user(f"syn.prescriber.{label}", password, role=Role.PRESCRIBER)
                if not PrescriberAuthorisation.objects.filter(prescriber=prescriber, centre=centre).exists():
                    PrescriberAuthorisation.objects.create(
                        prescriber=prescriber, centre=centre, valid_from=valid_from, granted_by=admin
                    )
                self.prescriber_of[centre.pk] = prescriber
                self.nurse_of[centre.pk] = self._user(f"syn.nurse.{label}", password, role=Role.NURSE, centre=centre)
                centres.append(centre)
            self.centres[region.code] = centres
        self.region_codes = list(self.centres)
        self.region_weights = [POPULATION.get(code, 1.0) for code in self.region_codes]

    @staticmethod
    def _user(username, password, *, role, **place):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create(username=username, password=password)
            StaffProfile.objects.create(user=user, role=role, **place)
        return user

    def profiles(self):
        """The verdicts, computed once by the rule engine: the eligible profile and each refusal profile."""
        shortages = tuple(
            eligibility.ShortagePeriod(starts_on=s.starts_on, ends_on=s.ends_on, reference=s.aifa_reference)
            for s in TocilizumabShortage.objects.order_by("starts_on")
        )
        assessed_at = _rome(self.today - timedelta(days=1), 10)

        def verdict(overrides):
            body = {
                **BASE_ASSESSMENT,
                **overrides,
                "assessed_at": assessed_at.isoformat(),
                "patient": {"birth_date": "1960-05-01", "sex": "M", "weight_kg": 80},
            }
            serializer = EligibilityCheckSerializer(data=body, context={"now": timezone.now()})
            serializer.is_valid(raise_exception=True)
            assessment = to_assessment(serializer.validated_data, default_assessed_at=assessed_at)
            result = eligibility.evaluate(
                assessment, criteria=eligibility.criteria_in_force(assessed_at), shortages=shortages
            )
            record = {**BASE_ASSESSMENT, **overrides}
            return result.as_dict(), record, list(result.failed_codes)

        self.eligible_profile = verdict({})
        if not self.eligible_profile[0]["eligible"]:
            raise CommandError("The base synthetic assessment is not eligible: check the criteria and shortages.")
        self.refusal_profiles = []
        for weight, overrides in REFUSAL_PROFILES:
            profile = verdict(overrides)
            if not profile[0]["eligible"]:
                self.refusal_profiles.append((weight, profile))

    # --- One prescription and its course ------------------------------------------------------------

    def prescription(self, w: Writer):  # noqa: C901, PLR0912, PLR0915 - one story, told in order
        rng = self.rng
        region = rng.choices(self.region_codes, weights=self.region_weights)[0]
        centres = self.centres[region]
        # A few large centres take more patients than the others.
        centre = (
            centres[min(int(rng.paretovariate(1.5)) - 1, len(centres) - 1)]
            if rng.random() < 0.5
            else rng.choice(centres)
        )
        prescriber, nurse = self.prescriber_of[centre.pk], self.nurse_of[centre.pk]
        pharmacist = self.pharmacist_of[centre.pharmacy_id]
        span = (self.today - self.first_day).days
        day = self.first_day + timedelta(days=min(span, int(span * rng.random() ** 0.8)))
        prescribed_at = _rome(day, rng.randint(7, 20), rng.randint(0, 59))
        registered_at = prescribed_at + timedelta(minutes=rng.randint(1, 90))
        if day == self.today:
            prescribed_at = min(prescribed_at, timezone.now() - timedelta(minutes=5))
            registered_at = prescribed_at
        age = (self.today - day).days

        sex = rng.choice("MF")
        birth = date(rng.randint(1930, 2003), rng.randint(1, 12), rng.randint(1, 28))
        self.serial += 1
        fiscal_code = syn_fiscal_code(self.serial, birth, sex)
        patient = Patient(pseudonym=pseudonymise(fiscal_code), birth_date=birth, sex=sex)
        w.add(
            Patient,
            id=patient.id,
            pseudonym=patient.pseudonym,
            birth_date=birth,
            sex=sex,
            created_at=registered_at,
            **_syn_identity(self.serial, fiscal_code, sex, patient_id=patient.id, centre_id=centre.pk),
        )
        Chain(w, "registry.patient", str(patient.id)).add(
            at=registered_at,
            actor=prescriber,
            action=AuditAction.PATIENT_CREATE,
            changes={"birth_date": birth, "sex": sex},
        )

        refused = rng.random() < REFUSED_SHARE
        verdict, record, failed = _weighted(rng, self.refusal_profiles) if refused else self.eligible_profile
        p = Prescription(patient=patient, centre=centre, prescriber=prescriber)
        row = {
            "id": p.id,
            "patient_id": patient.id,
            "centre_id": centre.pk,
            "prescriber_id": prescriber.pk,
            "status": PrescriptionStatus.REJECTED if refused else PrescriptionStatus.AWAITING_DISPENSING,
            "prescribed_at": prescribed_at,
            "registered_at": registered_at,
            "criteria_version": verdict["criteria_version"],
            "eligible": not refused,
            "eligibility": verdict,
            "assessment": {**record, "assessed_at": prescribed_at.isoformat()},
            "pao2_fio2_ratio": Decimal(str(verdict["pao2_fio2_ratio"])).quantize(Decimal("0.01")),
            "weight_kg": Decimal(rng.randint(50, 110)),
            "consent_given_by": "patient" if rng.random() < 0.93 else "legal_representative",
            "consent_date": day,
            "syringes_dispensed": 0,
            "doses_administered": 0,
            "first_dose_on": None,
            "last_dose_on": None,
            "stopped_at": None,
            "stop_reason": "",
            "stop_note": "",
            "stopped_by_id": None,
            "dispensing_refusal_reason": "",
        }
        for result in verdict["results"]:
            w.add(CriterionOutcome, prescription_id=p.id, code=result["code"], outcome=result["outcome"])
        chain = Chain(w, "prescriptions.prescription", str(p.id))
        chain.add(
            at=registered_at,
            actor=prescriber,
            action=AuditAction.PRESCRIPTION_SUBMIT,
            changes={
                "status": row["status"],
                "centre": centre.pk,
                "patient": patient.id,
                "prescribed_at": prescribed_at,
                "criteria_version": row["criteria_version"],
                "failed_criteria": failed,
                "consent_given_by": row["consent_given_by"],
            },
        )
        if not refused:
            self.course(w, chain, row, day=day, age=age, prescriber=prescriber, nurse=nurse, pharmacist=pharmacist)
        w.add(Prescription, **row)

    def course(self, w, chain, row, *, day, age, prescriber, nurse, pharmacist):  # noqa: C901, PLR0912, PLR0915
        rng = self.rng
        finished = age >= 14
        pid = row["id"]

        def stop(at: datetime, reason: str, status: str):
            row.update(status=status, stopped_at=at, stop_reason=reason, stopped_by_id=prescriber.pk)
            chain.add(
                at=at,
                actor=prescriber,
                action=AuditAction.PRESCRIPTION_STOP,
                changes={
                    "status": [PrescriptionStatus.DISPENSED, status],
                    "reason": reason,
                    "note": "",
                    "stopped_at": at,
                },
            )

        if (finished and rng.random() < 0.04) or (age == 0 and rng.random() < 0.5):
            if finished:
                stop(
                    _rome(day + timedelta(days=1), 9),
                    rng.choice(["discharge", "other", "patient_refusal"]),
                    "cancelled",
                )
            return
        # The pharmacy dispenses the same or the next day: a whole course's syringes (one a dose of the criteria
        # version's regimen), sometimes in two lots.
        doses = regimen_of(row["criteria_version"], DoseInterval.EVERY_24_H).doses
        dispensed_on = day + timedelta(days=rng.choice([0, 0, 0, 1]) if age else 0)
        lots = [doses] if rng.random() < 0.9 else [doses // 2, doses - doses // 2]
        for n, syringes in enumerate(lots):
            at = _rome(dispensed_on + timedelta(days=n * 4), 8, rng.randint(0, 59))
            if at > timezone.now():
                break
            did = Dispensation().id
            lot = f"SYN{rng.randint(1000, 9999)}"
            expiry = dispensed_on + timedelta(days=365)
            w.add(
                Dispensation,
                id=did,
                prescription_id=pid,
                syringes=syringes,
                lot_number=lot,
                expiry_date=expiry,
                recorded_by_id=pharmacist.pk,
                recorded_at=at,
                entered_in_error_at=None,
                entered_in_error_reason="",
            )
            row["syringes_dispensed"] += syringes
            row["status"] = PrescriptionStatus.DISPENSED if not row["doses_administered"] else row["status"]
            chain.add(
                at=at,
                actor=pharmacist,
                action=AuditAction.PRESCRIPTION_DISPENSE,
                changes={"dispensation": did, "syringes": syringes, "lot_number": lot, "expiry_date": expiry},
            )
        if row["syringes_dispensed"] == 0:
            return
        # How far this course goes: recent courses are still running.
        plan = doses
        stop_reason = None
        if finished and rng.random() < 0.14:
            plan, stop_reason = rng.randint(1, doses - 1), _weighted(rng, STOP_REASONS)
        first = dispensed_on + timedelta(days=rng.choice([0, 0, 1]))
        on, given, course_day, last = first, 0, 1, None
        while given < plan and on < self.today and given < row["syringes_dispensed"]:
            if given and rng.random() < 0.05:
                on += timedelta(days=1)  # a missed day
                course_day += 1
                continue
            deviation = rng.random() < 0.02
            dose, route = (Decimal("200.0"), "SC") if deviation and rng.random() < 0.5 else (Decimal("100.0"), "SC")
            if deviation and dose == Decimal("100.0"):
                route = "IV"
            at = _rome(on, 9, rng.randint(0, 59))
            aid = Administration().id
            w.add(
                Administration,
                id=aid,
                prescription_id=pid,
                administered_at=at,
                administered_on=on,
                course_day=course_day,
                dose_mg=dose,
                route=route,
                protocol_deviation=deviation,
                recorded_by_id=nurse.pk,
                recorded_at=at,
                entered_in_error_at=None,
                entered_in_error_reason="",
            )
            given += 1
            last = on
            chain.add(
                at=at,
                actor=nurse,
                action=AuditAction.PRESCRIPTION_ADMINISTER,
                changes={
                    "administration": aid,
                    "administered_at": at,
                    "dose_mg": str(dose),
                    "route": route,
                    "protocol_deviation": deviation,
                    "status": [row["status"], PrescriptionStatus.IN_COURSE],
                },
            )
            row["status"] = PrescriptionStatus.IN_COURSE
            if given == 3 and rng.random() < 0.3:
                self.lab_result(w, chain, pid, on, nurse)
            on += timedelta(days=1)
            course_day += 1
        if given:
            row.update(doses_administered=given, first_dose_on=first, last_dose_on=last)
        if given == doses:
            row["status"] = PrescriptionStatus.COMPLETED
        elif stop_reason and given:
            if stop_reason == "adverse_event" or rng.random() < 0.03:
                self.adverse_event(w, chain, pid, last, nurse, serious=stop_reason == "adverse_event")
            stop(_rome(last, 18), stop_reason, PrescriptionStatus.STOPPED)
        elif finished and given and row["status"] == PrescriptionStatus.IN_COURSE:
            stop(_rome(last, 18), "discharge", PrescriptionStatus.STOPPED)
        if given and rng.random() < 0.04:
            self.adverse_event(w, chain, pid, first + timedelta(days=rng.randint(0, given - 1)), nurse, serious=False)
        if not given:
            return
        died = row["stop_reason"] == "death"
        for outcome_day, share in ((14, 0.6), (28, 0.88)):
            assessed_on = first + timedelta(days=outcome_day - 1)
            if assessed_on >= self.today or rng.random() >= share:
                continue
            who_cps = 10 if died else _weighted(rng, WHO_CPS_DAY28)
            at = _rome(assessed_on, 12)
            oid = Outcome().id
            w.add(
                Outcome,
                id=oid,
                prescription_id=pid,
                day=outcome_day,
                who_cps=who_cps,
                assessed_on=assessed_on,
                recorded_by_id=prescriber.pk,
                recorded_at=at,
                entered_in_error_at=None,
                entered_in_error_reason="",
            )
            chain.add(
                at=at,
                actor=prescriber,
                action=AuditAction.PRESCRIPTION_OUTCOME,
                changes={"outcome": oid, "day": outcome_day, "who_cps": who_cps, "assessed_on": assessed_on},
            )
            died = died or who_cps == 10

    def lab_result(self, w, chain, pid, on, nurse):
        rid = LabResult().id
        value = Decimal(str(round(self.rng.uniform(0.8, 6.0), 2)))
        at = _rome(on, 7)
        w.add(
            LabResult,
            id=rid,
            prescription_id=pid,
            test="anc",
            value=value,
            upper_limit_normal=None,
            collected_at=at,
            recorded_by_id=nurse.pk,
            recorded_at=at,
            entered_in_error_at=None,
            entered_in_error_reason="",
        )
        chain.add(
            at=at,
            actor=nurse,
            action=AuditAction.PRESCRIPTION_LAB_RESULT,
            changes={
                "lab_result": rid,
                "test": "anc",
                "value": str(value),
                "upper_limit_normal": None,
                "collected_at": at,
            },
        )

    def adverse_event(self, w, chain, pid, onset, nurse, *, serious):
        eid = AdverseEvent().id
        category = _weighted(self.rng, AE_CATEGORIES)
        at = _rome(onset, 16)
        reported = serious or self.rng.random() < 0.4
        w.add(
            AdverseEvent,
            id=eid,
            prescription_id=pid,
            category=category,
            serious=serious,
            onset_date=onset,
            description="Synthetic adverse event",
            reported_to_pharmacovigilance=reported,
            recorded_by_id=nurse.pk,
            recorded_at=at,
            entered_in_error_at=None,
            entered_in_error_reason="",
        )
        chain.add(
            at=at,
            actor=nurse,
            action=AuditAction.PRESCRIPTION_ADVERSE_EVENT,
            changes={
                "adverse_event": eid,
                "category": category,
                "serious": serious,
                "onset_date": onset,
                "reported_to_pharmacovigilance": reported,
            },
        )
