"""The organisation domain: regions, centres, pharmacies, staff, patients, audit trail.

Rows here are written only through ``registry.services`` (which also records the
audit event) and read through ``registry.selectors`` (which scope them to the user).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    """One of the 21 regions and autonomous provinces, keyed by its Ministry of Health code."""

    code = models.CharField(_("Ministry of Health code"), max_length=3, primary_key=True)
    name = models.CharField(_("name"), max_length=80, unique=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self):
        return f"{self.code} {self.name}"


class Pharmacy(models.Model):
    """A hospital pharmacy; it serves one or more centres (``Centre.pharmacy``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="pharmacies", verbose_name=_("region"))
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["region", "name"]
        verbose_name = _("hospital pharmacy")
        verbose_name_plural = _("hospital pharmacies")
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="pharmacy_unique_name_in_region")]

    def __str__(self):
        return self.name


class Centre(models.Model):
    """A hospital unit; it may prescribe only while a designation by its Region is in force."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="centres", verbose_name=_("region"))
    name = models.CharField(_("name"), max_length=200)
    pharmacy = models.ForeignKey(
        Pharmacy,
        on_delete=models.PROTECT,
        related_name="centres",
        null=True,
        blank=True,
        verbose_name=_("serving pharmacy"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["region", "name"]
        verbose_name = _("centre")
        verbose_name_plural = _("centres")
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="centre_unique_name_in_region")]

    def __str__(self):
        return self.name


class ValidityQuerySet(models.QuerySet):
    def valid_on(self, day):
        """Rows in force on ``day`` (``valid_to`` is the last day included; empty means open-ended)."""
        return self.filter(Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gte=day)))


class CentreDesignation(models.Model):
    """The Region's designation of a centre for the L.648 anakinra COVID-19 use (CTS 23/09/2021)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="designations", verbose_name=_("centre"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to (included)"), null=True, blank=True)
    act_reference = models.CharField(_("regional act"), max_length=200, blank=True)
    designated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("designated by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ValidityQuerySet.as_manager()

    class Meta:
        ordering = ["centre", "-valid_from"]
        verbose_name = _("centre designation")
        verbose_name_plural = _("centre designations")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="designation_period_ordered",
            )
        ]

    def __str__(self):
        return f"{self.centre} {self.valid_from}–{self.valid_to or '…'}"


class Role(models.TextChoices):
    PRESCRIBER = "prescriber", _("prescriber")
    PHARMACIST = "pharmacist", _("pharmacist")
    NURSE = "nurse", _("nurse")
    REGIONAL_OFFICER = "regional_officer", _("regional officer")
    NATIONAL = "national", _("national monitoring (AIFA)")
    ADMINISTRATOR = "administrator", _("administrator")


class StaffProfile(models.Model):
    """Who a user is in the registry: one role and the place it applies to.

    The role is mirrored in a Django group of the same name (see ``registry.services``);
    what the role may do at that place is decided in ``registry.permissions`` only.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    centre = models.ForeignKey(
        Centre,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("centre"),
    )
    pharmacy = models.ForeignKey(
        Pharmacy,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("pharmacy"),
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("region"),
    )

    # Whether this person's notifications are also e-mailed (to the user's address); the in-app ones always appear.
    email_notifications = models.BooleanField(_("e-mail my notifications"), default=True)

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")
        constraints = [
            # Each role names exactly the place it works at.
            models.CheckConstraint(
                condition=(
                    Q(role=Role.NURSE, centre__isnull=False, pharmacy__isnull=True, region__isnull=True)
                    | Q(role=Role.PRESCRIBER, pharmacy__isnull=True, region__isnull=True)
                    | Q(role=Role.PHARMACIST, pharmacy__isnull=False, centre__isnull=True, region__isnull=True)
                    | Q(
                        role=Role.REGIONAL_OFFICER,
                        region__isnull=False,
                        centre__isnull=True,
                        pharmacy__isnull=True,
                    )
                    | Q(
                        role__in=[Role.NATIONAL, Role.ADMINISTRATOR],
                        region__isnull=True,
                        centre__isnull=True,
                        pharmacy__isnull=True,
                    )
                ),
                name="staff_role_matches_place",
            )
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"


class PrescriberAuthorisation(models.Model):
    """A prescriber enabled at a centre for a period, granted by an officer of the centre's region."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="prescriber_authorisations",
        verbose_name=_("prescriber"),
    )
    centre = models.ForeignKey(
        Centre, on_delete=models.PROTECT, related_name="authorisations", verbose_name=_("centre")
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to (included)"), null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("granted by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ValidityQuerySet.as_manager()

    class Meta:
        ordering = ["prescriber", "-valid_from"]
        verbose_name = _("prescriber authorisation")
        verbose_name_plural = _("prescriber authorisations")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="authorisation_period_ordered",
            )
        ]

    def __str__(self):
        return f"{self.prescriber} @ {self.centre} {self.valid_from}–{self.valid_to or '…'}"


class Sex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


class Patient(models.Model):
    """A patient found and linked by a keyed pseudonym of the fiscal code.

    The fiscal code and the identifying data (names, ward, bed, admission number) are kept only encrypted, in
    ``identity_ciphertext`` (``registry.patient_crypto``; empty: not recorded yet, as for patients registered
    before it was kept). The two ``*_index`` columns are keyed HMACs for the exact search, never the values.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pseudonym = models.CharField(_("pseudonym"), max_length=64, unique=True, editable=False)
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    identity_ciphertext = models.TextField(_("identity (encrypted)"), blank=True, default="", editable=False)
    family_name_index = models.CharField(max_length=64, blank=True, default="", editable=False)
    admission_number_index = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        indexes = [
            models.Index(
                fields=["family_name_index"],
                name="patient_family_name_index",
                condition=~models.Q(family_name_index=""),
            ),
            models.Index(
                fields=["admission_number_index"],
                name="patient_admission_index",
                condition=~models.Q(admission_number_index=""),
            ),
        ]

    def __str__(self):
        return f"{_('patient')} {self.pseudonym[:12]}"


class AuditEvent(models.Model):
    """One append-only entry of the audit trail, chained to the previous entry of the same object.

    ``entry_hash`` covers every field and ``previous_hash``, so changing, removing or
    reordering an entry breaks the chain (``manage.py verify_audit``). Chains are per
    object: unrelated writes never wait on each other.
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_username = models.CharField(_("who"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=80)
    object_type = models.CharField(_("object type"), max_length=80)
    object_id = models.CharField(_("object id"), max_length=64)
    sequence = models.PositiveIntegerField(_("position in the object's chain"))
    changes = models.JSONField(_("what changed"), default=dict)
    previous_hash = models.CharField(_("hash of the previous event"), max_length=64, blank=True)
    entry_hash = models.CharField(_("hash of this event"), max_length=64, unique=True)

    class Meta:
        ordering = ["object_type", "object_id", "sequence"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        constraints = [
            # Two writers appending to one chain at once: one fails, the chain never forks.
            models.UniqueConstraint(fields=["object_type", "object_id", "sequence"], name="audit_chain_position"),
        ]
        indexes = [
            models.Index(fields=["occurred_at"], name="audit_occurred_at"),
            # The admin's list (newest first): filtered by action, searched by object id or username.
            models.Index(fields=["action", "-id"], name="audit_action_newest"),
            models.Index(fields=["object_id"], name="audit_object_id"),
            models.Index(fields=["actor_username"], name="audit_actor_username"),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.object_type}"


class AuditAnchor(models.Model):
    """A signed record of the audit chains' heads at one moment, kept outside the audited table.

    Each anchor lists the head (position and hash) of every chain that changed since the anchor before it and
    how many events the trail held up to ``last_event_id``; its ``signature`` (HMAC under ``AUDIT_HMAC_KEY``)
    covers all of that and the previous anchor's signature. ``verify_audit`` compares the trail with the
    anchors, so deleting the last events of a chain, a whole chain or the whole table is found even though
    what is left forms intact chains. Each anchor is also appended to a file under ``AUDIT_ANCHOR_DIR``.
    """

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(_("when"))
    last_event_id = models.BigIntegerField(_("last event anchored"))
    event_count = models.BigIntegerField(_("events up to the last one anchored"))
    heads = models.JSONField(_("chain heads"), default=dict)
    previous_signature = models.CharField(_("signature of the previous anchor"), max_length=64, blank=True)
    signature = models.CharField(_("signature"), max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("audit anchor")
        verbose_name_plural = _("audit anchors")
        constraints = [
            # Two anchor runs at once: one fails, the anchors never fork.
            models.UniqueConstraint(fields=["previous_signature"], name="audit_anchor_single_successor"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} #{self.last_event_id}"


class AccessKind(models.TextChoices):
    PRESCRIPTION_PAGE = "prescription.page", _("prescription page")
    PRESCRIPTION_API = "prescription.api", _("prescription (API)")
    PRESCRIPTION_FHIR = "prescription.fhir", _("prescription (FHIR export)")
    PRESCRIPTION_FORM_PDF = "prescription.form_pdf", _("prescription form (PDF)")
    DISPENSING_RECORD_PDF = "prescription.dispensing_pdf", _("dispensing record (PDF)")
    REPORT_FILE = "report.file", _("report file download")
    PATIENT_IDENTITY = "patient.identity", _("patient's identity shown")
    PATIENT_IDENTITY_REVEAL = "patient.reveal", _("patient's identity revealed (with a reason)")
    ADVERSE_EVENT_E2B = "adverse_event.e2b", _("adverse event (E2B(R3) report)")
    FHIR_BULK_FILE = "fhir.bulk_file", _("FHIR bulk export file download")


class AccessLog(models.Model):
    """Who read which patient record or per-patient file, and when: append-only and hash-chained per object.

    Written by ``registry.access_log`` from the views; ``region`` is the region the record belongs to (none for a
    whole-country file), so a regional officer sees their region's entries. Like the audit trail, the reads of
    one object form a chain (``sequence`` 1, 2, …): ``entry_hash`` is an HMAC under ``AUDIT_HMAC_KEY`` of every
    field and ``previous_hash``, so an edited or removed read breaks it (``manage.py verify_audit``), and
    ``AccessLogAnchor`` signs the chains' heads so that deleting the last reads of a chain is found too.
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    username = models.CharField(_("who"), max_length=150, blank=True)
    kind = models.CharField(_("kind"), max_length=32, choices=AccessKind.choices)
    object_type = models.CharField(_("object type"), max_length=80)
    object_id = models.CharField(_("object id"), max_length=64)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("region")
    )
    sequence = models.PositiveIntegerField(_("position in the object's chain"))
    previous_hash = models.CharField(_("hash of the previous read"), max_length=64, blank=True)
    entry_hash = models.CharField(_("hash of this read"), max_length=64)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("read access")
        verbose_name_plural = _("read accesses")
        constraints = [
            # Also the index of an object's reads (its chain head is read at every write).
            models.UniqueConstraint(fields=["object_type", "object_id", "sequence"], name="access_chain_position"),
        ]
        indexes = [models.Index(fields=["occurred_at"], name="access_occurred_at")]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.username} {self.get_kind_display()} {self.object_id}"


class AccessLogAnchor(models.Model):
    """A signed record of the read-access log's chain heads, as ``AuditAnchor`` is for the audit trail.

    The same fields and the same machinery (``registry.audit_anchors``): ``last_event_id`` and ``event_count``
    are the highest read-access id seen and how many reads existed up to it.
    """

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(_("when"))
    last_event_id = models.BigIntegerField(_("last read anchored"))
    event_count = models.BigIntegerField(_("reads up to the last one anchored"))
    heads = models.JSONField(_("chain heads"), default=dict)
    previous_signature = models.CharField(_("signature of the previous anchor"), max_length=64, blank=True)
    signature = models.CharField(_("signature"), max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("read-access anchor")
        verbose_name_plural = _("read-access anchors")
        constraints = [
            models.UniqueConstraint(fields=["previous_signature"], name="access_anchor_single_successor"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} #{self.last_event_id}"


from .auth.models import ApiToken  # noqa: E402,F401 - the registry app's model kept beside the sign-in code


class Notification(models.Model):
    """Something a person should know, shown in the top bar and, by their preference, e-mailed.

    Written only by ``registry.notifications.notify``. ``kind`` names an entry of
    ``registry.notifications.KINDS``; ``render_message`` there renders the text from ``params`` in the reader's
    language (so a notification never stores one language's text, and never the patient's identity).
    ``event_key`` names the event: the same person is never notified twice of one event (unique with
    ``recipient`` and ``kind``).
    ``prescription_id`` is a plain id, not a foreign key: this app sits below ``prescriptions``.
    """

    id = models.BigAutoField(primary_key=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    kind = models.CharField(_("kind"), max_length=40)
    event_key = models.CharField(_("event"), max_length=200)
    prescription_id = models.UUIDField(_("prescription"), null=True, blank=True)
    params = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "kind", "event_key"], name="notification_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_inbox"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.recipient} {self.kind}"


class PeriodLock(models.Model):
    """A region's calendar period whose data are signed and sent: no write dated inside it is accepted.

    Written only by ``registry.period_locks`` (a quarterly submission's approval sets it, its reopening lifts it);
    read by ``prescriptions.services._common.ensure_period_open``, the one check every write service makes. It
    lives here, below both apps, so that the prescriptions' services can read it without importing ``reports``.
    ``reference`` names what locked it (a plain text, not a foreign key: this app sits below ``reports``).
    """

    id = models.BigAutoField(primary_key=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="period_locks", verbose_name=_("region"))
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to (included)"))
    reference = models.CharField(_("locked by"), max_length=200)
    locked_at = models.DateTimeField(_("locked at"), default=timezone.now)

    class Meta:
        ordering = ["region", "period_start"]
        verbose_name = _("locked period")
        verbose_name_plural = _("locked periods")
        constraints = [
            models.UniqueConstraint(fields=["region", "period_start"], name="one_period_lock_per_region_start"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="period_lock_ordered"),
        ]
        indexes = [models.Index(fields=["region", "period_end"], name="period_lock_region_end")]

    def __str__(self):
        return f"{self.region_id} {self.period_start}–{self.period_end}"
