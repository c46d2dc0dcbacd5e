"""Prescriptions of anakinra under L.648 and what follows them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import eligibility


class TocilizumabShortage(models.Model):
    """A period in which AIFA records tocilizumab as in shortage.

    Determina AIFA 114586/2021 lists anakinra "nel caso di carenza del medicinale
    tocilizumab": the TOCILIZUMAB_SHORTAGE criterion needs a period covering the
    assessment date. Managed by the national role.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to (included)"), null=True, blank=True)
    aifa_reference = models.CharField(_("AIFA reference"), max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("tocilizumab shortage")
        verbose_name_plural = _("tocilizumab shortages")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="shortage_period_ordered",
            )
        ]

    def __str__(self):
        return f"{self.starts_on}–{self.ends_on or '…'} ({self.aifa_reference})"


class PrescriptionStatus(models.TextChoices):
    REJECTED = "rejected", _("rejected")
    AWAITING_DISPENSING = "awaiting_dispensing", _("awaiting dispensing")
    DISPENSED = "dispensed", _("dispensed")
    IN_COURSE = "in_course", _("in course")
    COMPLETED = "completed", _("completed")
    STOPPED = "stopped", _("stopped")
    CANCELLED = "cancelled", _("cancelled")


# A patient has at most one prescription in these statuses (API: 409 ACTIVE_COURSE).
ACTIVE_STATUSES = (
    PrescriptionStatus.AWAITING_DISPENSING,
    PrescriptionStatus.DISPENSED,
    PrescriptionStatus.IN_COURSE,
)

# The database's ceiling on a course's doses and syringes (one syringe a dose): the most any shipped criteria
# version's regimen gives (its ``regimen`` / ``renal_regimen`` data). Each course's own count, window, dose and
# route are its version's, read through prescriptions.course.regimen; no copy of the regimen lives here.
MAX_COURSE_DOSES = max(
    regimen.doses
    for version in eligibility.SHIPPED_VERSIONS
    for regimen in (version.regimen, version.renal_regimen)
    if regimen is not None
)


class DoseInterval(models.IntegerChoices):
    EVERY_24_H = 24, _("every 24 h")
    EVERY_48_H = 48, _("every 48 h (severe renal impairment)")


class ConsentGivenBy(models.TextChoices):
    PATIENT = "patient", _("the patient")
    LEGAL_REPRESENTATIVE = "legal_representative", _("a legal representative")


class StopReason(models.TextChoices):
    ADVERSE_EVENT = "adverse_event", _("adverse event")
    CLINICAL_WORSENING = "clinical_worsening", _("clinical worsening")
    DISCHARGE = "discharge", _("discharge")
    DEATH = "death", _("death")
    PATIENT_REFUSAL = "patient_refusal", _("patient refusal")
    OTHER = "other", _("other")


class HoldReason(models.TextChoices):
    """Why the pharmacy keeps a waiting request on hold (API.md: ``hold.reason``)."""

    OUT_OF_STOCK = "out_of_stock", _("out of stock")
    AWAITED_DELIVERY = "awaited_delivery", _("delivery awaited")
    OTHER = "other", _("other")


class RefusalCategory(models.TextChoices):
    """Why the pharmacy refuses a request for good (API.md: ``refusal.category``); a refusal cancels it."""

    CLINICAL_OBJECTION = "clinical_objection", _("clinical objection")
    INCOMPLETE_DOCUMENTATION = "incomplete_documentation", _("incomplete documentation")
    NOT_REIMBURSABLE = "not_reimbursable", _("not reimbursable")
    OTHER = "other", _("other")


class SarsCov2TestType(models.TextChoices):
    MOLECULAR = "molecular", _("molecular (RT-PCR)")
    ANTIGEN = "antigen", _("antigen")


class VaccinationStatus(models.TextChoices):
    UNVACCINATED = "unvaccinated", _("not vaccinated")
    PARTIAL = "partial", _("primary cycle incomplete")
    COMPLETE = "complete", _("primary cycle complete")
    BOOSTED = "boosted", _("primary cycle and booster")
    UNKNOWN = "unknown", _("unknown")


class PregnancyStatus(models.TextChoices):
    NOT_APPLICABLE = "not_applicable", _("not applicable")
    NONE = "none", _("neither pregnant nor breastfeeding")
    PREGNANT = "pregnant", _("pregnant")
    BREASTFEEDING = "breastfeeding", _("breastfeeding")


# The statuses that raise the PREGNANCY_BREASTFEEDING warning of the eligibility check (Kineret SmPC 4.6).
PREGNANT_OR_BREASTFEEDING = frozenset({PregnancyStatus.PREGNANT, PregnancyStatus.BREASTFEEDING})

# The hyperinflammatory phase of COVID-19 in which anakinra was studied: days 6–13 of illness (day 1: the
# symptom onset's day). Outside it the page warns; it is no criterion of the listing.
ILLNESS_DAYS_HYPERINFLAMMATORY = (6, 13)

# The baseline's fields of a prescription (optional at submission; never judged by the engine).
BASELINE_FIELDS = (
    "symptom_onset_on",
    "sars_cov_2_test_on",
    "sars_cov_2_test_type",
    "vaccination_status",
    "pregnancy_status",
    "dexamethasone_dose_mg",
    "remdesivir",
    "active_serious_infection",
)


class Prescription(models.Model):
    """A request to treat one patient with one L.648 course, judged by the rule engine.

    The status changes only through ``prescriptions.services``. The counters
    ``syringes_dispensed`` and ``doses_administered`` are kept by the services under
    a row lock and bounded by constraints, so no race can store more than the rules allow.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="prescriptions")
    centre = models.ForeignKey("registry.Centre", on_delete=models.PROTECT, related_name="prescriptions")
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="prescriptions_written"
    )
    status = models.CharField(_("status"), max_length=24, choices=PrescriptionStatus.choices)
    prescribed_at = models.DateTimeField(_("prescribed at"))
    registered_at = models.DateTimeField(_("registered at"))

    # The verdict, as the engine gave it at submission.
    criteria_version = models.CharField(_("criteria version"), max_length=40)
    eligible = models.BooleanField(_("eligible"))
    eligibility = models.JSONField(_("eligibility verdict"))
    assessment = models.JSONField(_("assessment"))
    pao2_fio2_ratio = models.DecimalField(max_digits=8, decimal_places=2)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)

    consent_given_by = models.CharField(_("consent given by"), max_length=24, choices=ConsentGivenBy.choices)
    consent_date = models.DateField(_("consent date"))

    # The regimen REGIMEN_648 accepted: 100 mg SC every 24 h, or every 48 h with creatinine clearance < 30.
    dose_interval_hours = models.PositiveSmallIntegerField(
        _("dose interval (hours)"), choices=DoseInterval.choices, default=DoseInterval.EVERY_24_H
    )

    syringes_dispensed = models.PositiveSmallIntegerField(default=0)
    doses_administered = models.PositiveSmallIntegerField(default=0)
    first_dose_on = models.DateField(null=True, blank=True)
    last_dose_on = models.DateField(null=True, blank=True)

    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=24, choices=StopReason.choices, blank=True)
    stop_note = models.TextField(blank=True)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    dispensing_refusal_reason = models.TextField(blank=True)
    refusal_category = models.CharField(
        _("refusal category"), max_length=32, choices=RefusalCategory.choices, blank=True
    )

    # On hold at the pharmacy (a waiting request keeps waiting): set by ``dispensing_hold``, cleared by its release
    # or by a dispensation. ``hold_since`` is null when the request is not on hold.
    hold_reason = models.CharField(_("on hold because"), max_length=24, choices=HoldReason.choices, blank=True)
    hold_expected_on = models.DateField(_("expected on"), null=True, blank=True)
    hold_note = models.TextField(_("hold note"), blank=True)
    hold_since = models.DateTimeField(_("on hold since"), null=True, blank=True)

    # The baseline (issue 10): optional, given at submission, shown and exported; never judged by the engine.
    symptom_onset_on = models.DateField(_("symptom onset"), null=True, blank=True)
    sars_cov_2_test_on = models.DateField(_("SARS-CoV-2 test date"), null=True, blank=True)
    sars_cov_2_test_type = models.CharField(
        _("SARS-CoV-2 test type"), max_length=16, choices=SarsCov2TestType.choices, blank=True
    )
    vaccination_status = models.CharField(
        _("vaccination status"), max_length=16, choices=VaccinationStatus.choices, blank=True
    )
    pregnancy_status = models.CharField(
        _("pregnancy or breastfeeding"), max_length=16, choices=PregnancyStatus.choices, blank=True
    )
    # None: no dexamethasone (or not said).
    dexamethasone_dose_mg = models.DecimalField(
        _("dexamethasone (mg a day)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    remdesivir = models.BooleanField(_("remdesivir"), null=True, blank=True)
    active_serious_infection = models.BooleanField(
        _("active serious infection other than COVID-19"), null=True, blank=True
    )

    class Meta:
        ordering = ["-prescribed_at"]
        verbose_name = _("prescription")
        verbose_name_plural = _("prescriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status__in=[s.value for s in ACTIVE_STATUSES]),
                name="one_active_course_per_patient",
            ),
            models.CheckConstraint(
                condition=Q(syringes_dispensed__lte=MAX_COURSE_DOSES), name="syringes_within_course"
            ),
            models.CheckConstraint(
                condition=Q(doses_administered__lte=MAX_COURSE_DOSES)
                & Q(doses_administered__lte=models.F("syringes_dispensed")),
                name="doses_within_syringes",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in PrescriptionStatus]),
                name="prescription_status_known",
            ),
            # Only a request still waiting for its first syringes is on hold (a dispensation or a refusal ends it).
            models.CheckConstraint(
                condition=Q(hold_since__isnull=True) | Q(status=PrescriptionStatus.AWAITING_DISPENSING),
                name="hold_only_while_awaiting",
            ),
        ]
        indexes = [
            models.Index(fields=["centre", "status"], name="prescription_centre_status"),
            # A period's prescriptions (the reports' cohort, the date filters) with their centre and patient, the
            # columns that never change: the monitoring figures read a period's records through it without
            # reading the prescriptions themselves (index-only), and updates stay HOT (issue 17).
            models.Index(fields=["prescribed_at"], include=["id", "centre", "patient"], name="prescription_period"),
            # The lists (prescriptions.selectors): newest first, keyset-paginated on (prescribed_at, id), for
            # everyone (officers: joined to their region's centres) and for one centre's staff.
            models.Index(fields=["-prescribed_at", "-id"], name="prescription_newest"),
            models.Index(fields=["centre", "-prescribed_at", "-id"], name="prescription_centre_newest"),
        ]

    def __str__(self):
        return f"{_('prescription')} {str(self.pk)[:8]} ({self.get_status_display()})"

    @property
    def on_hold(self) -> bool:
        return self.hold_since is not None

    @property
    def syringes_left(self) -> int:
        return self.syringes_dispensed - self.doses_administered

    @property
    def day_of_illness(self) -> int | None:
        """The day of illness on the prescription's Rome day (day 1: the symptom onset's day)."""
        if self.symptom_onset_on is None:
            return None
        from registry.calendar import rome_date

        return (rome_date(self.prescribed_at) - self.symptom_onset_on).days + 1


class CriterionOutcome(models.Model):
    """One criterion's outcome at submission, kept as rows so monitoring counts refusals in the database."""

    prescription = models.ForeignKey(Prescription, on_delete=models.CASCADE, related_name="criterion_outcomes")
    code = models.CharField(max_length=40)
    outcome = models.CharField(max_length=8)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prescription", "code"], name="one_outcome_per_criterion"),
        ]
        indexes = [
            models.Index(fields=["code", "outcome"], name="criterion_code_outcome"),
            # The refusals by criterion (``reports.metrics``): the failed ones of the cohort's prescriptions, a
            # small partial index reached by prescription.
            models.Index(
                fields=["prescription"], include=["code"], condition=Q(outcome="fail"), name="criterion_failed_by_rx"
            ),
        ]

    def __str__(self):
        return f"{self.code}: {self.outcome}"


class ClinicalRecord(models.Model):
    """Something recorded on a prescription. Never edited once stored.

    A correction is a new record; the wrong one is marked entered-in-error with a
    reason (``entered_in_error_at``), and stays for the audit.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"))
    entered_in_error_at = models.DateTimeField(null=True, blank=True)
    entered_in_error_reason = models.TextField(blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{type(self).__name__} {self.pk}"

    @property
    def in_error(self) -> bool:
        return self.entered_in_error_at is not None


# The records the figures count (``reports.metrics``): live ones (not entered in error), reached by prescription.
# Each record table has a partial index by prescription over its live rows that includes the columns the
# monitoring figures read, so a month's figures are index-only scans of the cohort's records instead of reads of
# whole tables (issue 17). The plain index of the foreign key stays for the rest (the detail page, deletes).
LIVE = Q(entered_in_error_at__isnull=True)


class Dispensation(ClinicalRecord):
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="dispensations")
    syringes = models.PositiveSmallIntegerField(_("syringes"))
    lot_number = models.CharField(_("lot number"), max_length=40)
    expiry_date = models.DateField(_("expiry date"))

    class Meta:
        ordering = ["recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(syringes__gte=1) & Q(syringes__lte=MAX_COURSE_DOSES),
                name="dispensation_syringes_range",
            )
        ]
        indexes = [
            models.Index(fields=["prescription"], include=["syringes"], condition=LIVE, name="dispensation_live_by_rx")
        ]

    def __str__(self):
        return f"{self.syringes} × lot {self.lot_number}"


class Route(models.TextChoices):
    SC = "SC", _("subcutaneous")
    IV = "IV", _("intravenous")
    IM = "IM", _("intramuscular")
    OTHER = "other", _("other")


class Administration(ClinicalRecord):
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="administrations")
    administered_at = models.DateTimeField(_("administered at"))
    administered_on = models.DateField(_("Rome calendar day"))
    course_day = models.PositiveSmallIntegerField(_("day of the course"))
    dose_mg = models.DecimalField(_("dose (mg)"), max_digits=6, decimal_places=1)
    route = models.CharField(_("route"), max_length=8, choices=Route.choices)
    protocol_deviation = models.BooleanField(default=False)

    class Meta:
        ordering = ["administered_at"]
        constraints = [
            # One dose per Rome calendar day (API: 409 DOSE_ALREADY_GIVEN_TODAY).
            models.UniqueConstraint(
                fields=["prescription", "administered_on"],
                condition=Q(entered_in_error_at__isnull=True),
                name="one_dose_per_day",
            )
        ]
        indexes = [
            models.Index(
                fields=["prescription", "administered_on"],
                include=["course_day", "protocol_deviation"],
                condition=LIVE,
                name="administration_live_by_rx",
            )
        ]

    def __str__(self):
        return f"{self.administered_on} {self.dose_mg} mg {self.route}"


class AdverseEventCategory(models.TextChoices):
    NEUTROPENIA = "neutropenia", _("neutropenia")
    SERIOUS_INFECTION = "serious_infection", _("serious infection")
    HEPATIC = "hepatic", _("hepatic event")
    INJECTION_SITE_REACTION = "injection_site_reaction", _("injection-site reaction")
    HYPERSENSITIVITY = "hypersensitivity", _("hypersensitivity")
    OTHER = "other", _("other")


class Causality(models.TextChoices):
    """WHO-UMC causality categories."""

    CERTAIN = "certain", _("certain")
    PROBABLE = "probable", _("probable / likely")
    POSSIBLE = "possible", _("possible")
    UNLIKELY = "unlikely", _("unlikely")
    CONDITIONAL = "conditional", _("conditional / unclassified")
    UNASSESSABLE = "unassessable", _("unassessable / unclassifiable")


class AdverseEventOutcome(models.TextChoices):
    """The outcome of a reaction, as the ICH E2B individual case safety report codes it."""

    RECOVERED = "recovered", _("recovered / resolved")
    RECOVERING = "recovering", _("recovering / resolving")
    NOT_RECOVERED = "not_recovered", _("not recovered / not resolved")
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae", _("recovered with sequelae")
    FATAL = "fatal", _("fatal")
    UNKNOWN = "unknown", _("unknown")


# MedDRA's forms (ASCII digits only: ``\d`` would take any script's digits).
MEDDRA_CODE_PATTERN = r"^[0-9]{8}$"
MEDDRA_VERSION_PATTERN = r"^[0-9]{1,2}\.[01]$"


class AdverseEvent(ClinicalRecord):
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="adverse_events")
    category = models.CharField(_("category"), max_length=32, choices=AdverseEventCategory.choices)
    serious = models.BooleanField(_("serious"))
    onset_date = models.DateField(_("onset"))
    description = models.TextField(_("description"))
    reported_to_pharmacovigilance = models.BooleanField(_("reported to pharmacovigilance"))
    meddra_preferred_term = models.CharField(_("MedDRA preferred term"), max_length=200, blank=True)
    # The MedDRA lowest level term's code (8 digits) and the MedDRA version it comes from ("27.1"), as the
    # clinician records them: MedDRA is licensed, the registry ships no dictionary (E2B(R3) E.i.2.1a/b).
    meddra_code = models.CharField(_("MedDRA code (LLT)"), max_length=8, blank=True)
    meddra_version = models.CharField(_("MedDRA version"), max_length=5, blank=True)
    causality = models.CharField(_("causality"), max_length=16, choices=Causality.choices, blank=True)
    outcome = models.CharField(_("outcome"), max_length=32, choices=AdverseEventOutcome.choices, blank=True)
    # The national pharmacovigilance network's report (Rete Nazionale di Farmacovigilanza), once reported.
    pharmacovigilance_report_number = models.CharField(_("pharmacovigilance report number"), max_length=40, blank=True)
    pharmacovigilance_report_date = models.DateField(_("pharmacovigilance report date"), null=True, blank=True)

    class Meta:
        ordering = ["onset_date", "recorded_at"]
        indexes = [
            models.Index(
                fields=["prescription"],
                include=["category", "serious"],
                condition=LIVE,
                name="adverse_event_live_by_rx",
            )
        ]

    def __str__(self):
        return f"{self.get_category_display()} ({self.onset_date})"


class LabTest(models.TextChoices):
    ANC = "anc", _("absolute neutrophil count (×10⁹/L)")
    ALT = "alt", _("ALT")
    AST = "ast", _("AST")


class LabResult(ClinicalRecord):
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="lab_results")
    test = models.CharField(_("test"), max_length=8, choices=LabTest.choices)
    value = models.DecimalField(_("value"), max_digits=9, decimal_places=3)
    upper_limit_normal = models.DecimalField(
        _("upper limit of normal"), max_digits=9, decimal_places=3, null=True, blank=True
    )
    collected_at = models.DateTimeField(_("collected at"))

    class Meta:
        ordering = ["collected_at"]

    def __str__(self):
        return f"{self.test} {self.value}"


class Outcome(ClinicalRecord):
    """WHO Clinical Progression Scale at day 14 or 28 of the course (SAVE-MORE's primary endpoint at 28)."""

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="outcomes")
    day = models.PositiveSmallIntegerField(_("day"), choices=[(14, "14"), (28, "28")])
    who_cps = models.PositiveSmallIntegerField(_("WHO-CPS"))
    assessed_on = models.DateField(_("assessed on"))
    # By this day of the course (None: not said). Severe respiratory failure: PaO2/FiO2 < 150, NIV or
    # mechanical ventilation (SAVE-MORE's key secondary endpoint).
    icu_admission = models.BooleanField(_("ICU admission by this day"), null=True, blank=True)
    severe_respiratory_failure = models.BooleanField(_("severe respiratory failure by this day"), null=True, blank=True)
    death_on = models.DateField(_("date of death"), null=True, blank=True)
    death_cause = models.CharField(_("cause of death"), max_length=300, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["prescription", "day"],
                condition=Q(entered_in_error_at__isnull=True),
                name="one_outcome_per_day",
            ),
            models.CheckConstraint(condition=Q(who_cps__lte=10), name="who_cps_range"),
        ]
        indexes = [
            models.Index(
                fields=["prescription", "day"],
                include=["who_cps", "icu_admission", "severe_respiratory_failure"],
                condition=LIVE,
                name="outcome_live_by_rx",
            )
        ]

    def __str__(self):
        return f"day {self.day}: WHO-CPS {self.who_cps}"


class ConcomitantMedicationRecord(ClinicalRecord):
    """A medicine started during the course, with what the catalogue recognised it as when recorded.

    The classification is kept as it was judged (by the catalogue of the prescription's criteria version), so
    a later catalogue never rewrites what the clinicians were told.
    """

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="concomitant_medications")
    name = models.CharField(_("medicine"), max_length=200)
    atc_code = models.CharField(_("ATC code"), max_length=16, blank=True)
    started_on = models.DateField(_("started on"))
    dose = models.CharField(_("dose"), max_length=200, blank=True)
    # What the catalogue recognised: drug class keys and substances (empty: not recognised).
    drug_classes = models.JSONField(_("drug classes"), default=list)
    substances = models.JSONField(_("substances"), default=list)
    # An interleukin or JAK inhibitor: co-administration not allowed under L.648.
    il_jak_inhibitor = models.BooleanField(_("interleukin or JAK inhibitor"), default=False)
    confirmed_not_il_jak = models.BooleanField(_("confirmed neither interleukin nor JAK inhibitor"), default=False)

    class Meta:
        ordering = ["started_on", "recorded_at"]
        verbose_name = _("concomitant medication")
        verbose_name_plural = _("concomitant medications")
        indexes = [models.Index(fields=["prescription", "il_jak_inhibitor"], name="comedication_il_jak")]

    def __str__(self):
        return f"{self.name} ({self.started_on})"

    @property
    def recognised(self) -> bool:
        return bool(self.drug_classes)


class IdempotentRequest(models.Model):
    """A request made with an ``Idempotency-Key``: a retry returns the first response (docs/api.md)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")]

    def __str__(self):
        return self.key


class BulkExportStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class BulkExport(models.Model):
    """A FHIR Bulk Data ``$export`` (prescriptions/interop/bulk.py): a region's (an officer's) or the nation's
    (AIFA's) prescriptions as NDJSON files per resource type, pseudonymised, written by a Celery task."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"))
    request_url = models.CharField(max_length=1000)
    # None: the whole country (AIFA).
    region = models.ForeignKey(
        "registry.Region", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("region")
    )
    resource_types = models.JSONField(default=list)
    since = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=BulkExportStatus.choices, default=BulkExportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    transaction_time = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # [{"type", "name", "count", "sha256"}], in the order of capability.BULK_RESOURCE_TYPES.
    files = models.JSONField(default=list)

    class Meta:
        verbose_name = _("FHIR bulk export")
        verbose_name_plural = _("FHIR bulk exports")
        indexes = [models.Index(fields=["requested_by", "requested_at"], name="bulk_export_by_user")]

    def __str__(self):
        return f"$export {self.region_id or 'IT'} {self.requested_at:%Y-%m-%d %H:%M}"


# The stock of the pharmacies (issue 20): its own package, its models registered with this app.
from .stock.models import (  # noqa: E402, F401
    Lot,
    MovementKind,
    PharmacyStockSetting,
    StockMovement,
    StockTransfer,
    SyringePrice,
    TransferStatus,
    WriteOffReason,
)
