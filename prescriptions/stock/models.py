"""The rows of the stock: the pharmacy's setting, lots, every movement of a lot, transfers and the price in force.

``Lot.on_hand`` is the running balance, changed only by ``prescriptions.stock.services`` under a row lock, each
change written as a ``StockMovement`` (signed syringes, the balance after it); the database refuses a negative
balance whatever the code does.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class PharmacyStockSetting(models.Model):
    """Whether a pharmacy keeps its anakinra stock in the registry (off: it dispenses as before, lot typed by hand)."""

    pharmacy = models.OneToOneField(
        "registry.Pharmacy", on_delete=models.CASCADE, primary_key=True, related_name="stock_setting"
    )
    keeps_stock = models.BooleanField(_("keeps stock in the registry"), default=False)
    # None: the registry's default (settings.STOCK_COVER_THRESHOLD_DAYS).
    cover_threshold_days = models.PositiveSmallIntegerField(_("days of cover alert threshold"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("pharmacy stock setting")
        verbose_name_plural = _("pharmacy stock settings")

    def __str__(self):
        return f"{self.pharmacy_id}: {'stock' if self.keeps_stock else 'no stock'}"


class Lot(models.Model):
    """One manufacturer's lot as held by one pharmacy (a lot transferred elsewhere is a second row there)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pharmacy = models.ForeignKey("registry.Pharmacy", on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(_("lot number"), max_length=40)
    expiry_date = models.DateField(_("expiry date"))
    on_hand = models.IntegerField(_("syringes on hand"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["expiry_date", "lot_number"]
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        constraints = [
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_lot_on_hand_not_negative"),
            models.UniqueConstraint(fields=["pharmacy", "lot_number"], name="stock_lot_unique_in_pharmacy"),
        ]
        indexes = [models.Index(fields=["pharmacy", "expiry_date"], name="stock_lot_by_pharmacy_expiry")]

    def __str__(self):
        return f"{self.lot_number} ({self.expiry_date})"


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("receipt")
    DISPENSING = "dispensing", _("dispensing")
    RETURN = "return", _("return of unused syringes")
    WRITE_OFF = "write_off", _("write-off")
    ADJUSTMENT = "adjustment", _("counted adjustment")
    TRANSFER_OUT = "transfer_out", _("transfer out")
    TRANSFER_IN = "transfer_in", _("transfer in")


class WriteOffReason(models.TextChoices):
    EXPIRED = "expired", _("expired")
    DAMAGED = "damaged", _("damaged")
    OTHER = "other", _("other")


class StockMovement(models.Model):
    """One change of a lot's balance: signed ``syringes`` (+ in, − out) and the balance it left."""

    id = models.BigAutoField(primary_key=True)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    # The lot's pharmacy, copied: the pharmacy's newest movements are one index walk, not a join through its lots.
    pharmacy = models.ForeignKey(
        "registry.Pharmacy", on_delete=models.PROTECT, related_name="stock_movements", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=MovementKind.choices)
    syringes = models.IntegerField(_("syringes (+ in, − out)"))
    on_hand_after = models.IntegerField(_("on hand after"))
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    write_off_reason = models.CharField(max_length=16, choices=WriteOffReason.choices, blank=True)
    supplier_document = models.CharField(_("supplier document"), max_length=100, blank=True)
    unit_price = models.DecimalField(_("unit price (EUR)"), max_digits=10, decimal_places=4, null=True, blank=True)
    dispensation = models.OneToOneField(
        "prescriptions.Dispensation", on_delete=models.PROTECT, null=True, blank=True, related_name="stock_movement"
    )
    # A return names the prescription whose unused syringes came back (the spending is net of it, by centre).
    prescription = models.ForeignKey(
        "prescriptions.Prescription", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    transfer = models.ForeignKey(
        "prescriptions.StockTransfer", on_delete=models.PROTECT, null=True, blank=True, related_name="movements"
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        ordering = ["recorded_at", "id"]
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        constraints = [
            models.CheckConstraint(condition=~Q(syringes=0), name="stock_movement_not_zero"),
            models.CheckConstraint(condition=Q(on_hand_after__gte=0), name="stock_movement_balance_not_negative"),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["receipt", "return", "transfer_in"], syringes__gt=0)
                    | Q(kind__in=["dispensing", "write_off", "transfer_out"], syringes__lt=0)
                    | Q(kind="adjustment")
                ),
                name="stock_movement_sign_by_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["lot", "recorded_at"], name="stock_movement_by_lot"),
            models.Index(fields=["pharmacy", "recorded_at", "id"], name="stock_movement_by_pharmacy"),
            models.Index(fields=["kind", "recorded_at"], name="stock_movement_by_kind"),
        ]

    def __str__(self):
        return f"{self.kind} {self.syringes:+d} ({self.lot_id})"

    def save(self, *args, **kwargs):
        if self.pharmacy_id is None and self.lot_id is not None:
            self.pharmacy_id = self.lot.pharmacy_id
        super().save(*args, **kwargs)


class TransferStatus(models.TextChoices):
    REQUESTED = "requested", _("requested")
    APPROVED = "approved", _("approved")
    SHIPPED = "shipped", _("shipped")
    RECEIVED = "received", _("received")
    REJECTED = "rejected", _("rejected")


class StockTransfer(models.Model):
    """Syringes moved between two pharmacies of one Region: requested, approved by the Region, shipped (out of
    the sender's stock), received (into the receiver's). In transit they are counted in neither stock."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    from_pharmacy = models.ForeignKey("registry.Pharmacy", on_delete=models.PROTECT, related_name="transfers_out")
    to_pharmacy = models.ForeignKey("registry.Pharmacy", on_delete=models.PROTECT, related_name="transfers_in")
    syringes = models.PositiveIntegerField(_("syringes"))
    # The sender's lot: named at the request, or when shipping.
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="transfers")
    status = models.CharField(_("status"), max_length=12, choices=TransferStatus.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("stock transfer")
        verbose_name_plural = _("stock transfers")
        constraints = [
            models.CheckConstraint(condition=Q(syringes__gte=1), name="stock_transfer_syringes_positive"),
            models.CheckConstraint(
                condition=~Q(from_pharmacy=F("to_pharmacy")), name="stock_transfer_between_two_pharmacies"
            ),
        ]

    def __str__(self):
        return f"{self.syringes} {self.from_pharmacy_id}→{self.to_pharmacy_id} ({self.status})"


class SyringePrice(models.Model):
    """The price per syringe AIFA sets for the L.648 listing, in force from ``valid_from`` (to ``valid_to``,
    included; None: until further notice)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to (included)"), null=True, blank=True)
    price_eur = models.DecimalField(_("price per syringe (EUR)"), max_digits=10, decimal_places=4)
    aifa_reference = models.CharField(_("AIFA reference"), max_length=300, blank=True)

    class Meta:
        ordering = ["valid_from"]
        verbose_name = _("syringe price")
        verbose_name_plural = _("syringe prices")
        constraints = [
            models.CheckConstraint(condition=Q(price_eur__gte=0), name="syringe_price_not_negative"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")), name="syringe_price_period"
            ),
        ]

    def __str__(self):
        return f"{self.price_eur} € {self.valid_from}–{self.valid_to or '…'}"
