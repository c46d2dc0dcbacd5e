"""Shared set-up of the stock tests: a pharmacy switched to stock, a second pharmacy of the Region, a delivery."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model

from prescriptions.stock import services as stock
from registry.models import Pharmacy, Role, StaffProfile

from . import factories as f

MILANO_PHARMACY = "Farmacia Ospedaliera Demo Milano"


def keep_stock(demo, pharmacy: Pharmacy | None = None, *, threshold: int | None = None):
    """Switch the pharmacy (default: Milano's) to stock in the registry, as the Lombardia officer does."""
    pharmacy = pharmacy or Pharmacy.objects.get(name=MILANO_PHARMACY)
    return stock.stock_setting_update(
        user=demo["officer.lombardia"], pharmacy=pharmacy, keeps_stock=True, cover_threshold_days=threshold
    )


def receive(pharmacist, *, lot_number="A123", syringes=20, days=200, price="152.00"):
    return stock.stock_receive(
        pharmacist=pharmacist,
        lot_number=lot_number,
        expiry_date=f.today() + timedelta(days=days),
        syringes=syringes,
        supplier_document="DDT 2026/881",
        unit_price=Decimal(price),
    )


def second_pharmacy(demo, name="Farmacia Ospedaliera Bergamo"):
    """Another Lombardia pharmacy with its own pharmacist (``pharmacist.bergamo``), keeping stock."""
    milano = Pharmacy.objects.get(name=MILANO_PHARMACY)
    pharmacy, _ = Pharmacy.objects.get_or_create(region_id=milano.region_id, name=name)
    user, created = get_user_model().objects.get_or_create(username="pharmacist.bergamo")
    if created:
        user.set_password("demo-password-648")
        user.save()
        StaffProfile.objects.create(user=user, role=Role.PHARMACIST, pharmacy=pharmacy)
    keep_stock(demo, pharmacy)
    return pharmacy, user
