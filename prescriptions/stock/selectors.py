"""Reads of the stock, scoped to the user: a pharmacist their pharmacy, an officer their Region, the national
role and the administrator any Region (stock and spending are aggregates, never patient data).

The regional view is a fixed handful of queries whatever the Region's size (tests hold it to that).
"""

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from django.conf import settings
from django.db.models import F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from registry.calendar import REGISTRY_TIME_ZONE, day_bounds, day_start, rome_today
from registry.errors import NotFound, PermissionDenied
from registry.models import Centre, Pharmacy, Region, Role
from registry.permissions import actor_for, centre_condition, ensure_role

from ..course.regimen import course_doses_expression
from ..models import ACTIVE_STATUSES, Dispensation, Prescription, PrescriptionStatus
from . import cover, spending
from .models import Lot, MovementKind, PharmacyStockSetting, StockMovement, StockTransfer, SyringePrice, TransferStatus


def threshold_of(setting: PharmacyStockSetting | None) -> int:
    if setting is not None and setting.cover_threshold_days is not None:
        return setting.cover_threshold_days
    return settings.STOCK_COVER_THRESHOLD_DAYS


# --- The pharmacist's pharmacy ----------------------------------------------------------------------------------


def pharmacy_of(user) -> Pharmacy:
    """The pharmacist's pharmacy (PermissionDenied for anyone else), with its stock setting read along."""
    actor = actor_for(user)
    if actor.role != Role.PHARMACIST:
        raise PermissionDenied(_("Only a pharmacist works on a pharmacy's stock."))
    pharmacy = Pharmacy.objects.select_related("stock_setting", "region").get(pk=actor.pharmacy_id)
    return pharmacy


def setting_of(pharmacy: Pharmacy) -> PharmacyStockSetting | None:
    try:
        return pharmacy.stock_setting
    except PharmacyStockSetting.DoesNotExist:
        return None


def lots_held(*, pharmacy_id, include_empty: bool = False):
    lots = Lot.objects.filter(pharmacy_id=pharmacy_id).order_by("expiry_date", "lot_number")
    return lots if include_empty else lots.filter(on_hand__gt=0)


def fefo_lots(*, pharmacy_id, today: date | None = None) -> list[Lot]:
    """Lots that may be dispensed, first expiry first out: the first is the one to suggest."""
    today = today or rome_today()
    return list(lots_held(pharmacy_id=pharmacy_id).filter(expiry_date__gte=today))


def lots_to_ship(transfer, *, today: date | None = None) -> list[Lot]:
    """The sender's lots that can ship the whole transfer, unexpired, first expiry first (the first suggested)."""
    return [
        lot for lot in fefo_lots(pharmacy_id=transfer.from_pharmacy_id, today=today) if lot.on_hand >= transfer.syringes
    ]


def dispense_initial(prescription) -> dict:
    """For the dispensing form of a pharmacy keeping stock: its lots, first expiry first (the suggested one
    preselected); nothing for a pharmacy that does not."""
    pharmacy_id = prescription.centre.pharmacy_id
    if not PharmacyStockSetting.objects.filter(pharmacy_id=pharmacy_id, keeps_stock=True).exists():
        return {}
    lots = fefo_lots(pharmacy_id=pharmacy_id)
    choices = [
        (
            str(lot.pk),
            _("%(lot)s · expires %(expiry)s · %(n)d on hand")
            % {"lot": lot.lot_number, "expiry": date_format(lot.expiry_date, "SHORT_DATE_FORMAT"), "n": lot.on_hand},
        )
        for lot in lots
    ]
    return {"stock_lots": choices, "lot": choices[0][0] if choices else ""}


def lot_for(*, user, lot_id) -> Lot:
    """One lot of the caller's pharmacy (or of the officer's Region); NotFound otherwise."""
    actor = actor_for(user)
    lots = Lot.objects.select_related("pharmacy")
    if actor.role == Role.PHARMACIST:
        lots = lots.filter(pharmacy_id=actor.pharmacy_id)
    elif actor.role == Role.REGIONAL_OFFICER:
        lots = lots.filter(pharmacy__region_id=actor.region_id)
    elif not actor.sees_every_region:
        raise NotFound()
    try:
        return lots.get(pk=uuid.UUID(str(lot_id)))
    except (Lot.DoesNotExist, ValueError):
        raise NotFound() from None


def movements_of(*, user, lot_id, limit: int = 200):
    lot = lot_for(user=user, lot_id=lot_id)
    return lot, list(lot.movements.select_related("recorded_by").order_by("-recorded_at", "-id")[:limit])


def recent_movements_query(*, pharmacy_id):
    """The pharmacy's movements, newest first."""
    return (
        StockMovement.objects.filter(pharmacy_id=pharmacy_id)
        .select_related("lot", "recorded_by")
        .order_by("-recorded_at", "-id")
    )


def lot_movements_query(lot: Lot):
    """One lot's movements, newest first (walks ``stock_movement_by_lot``)."""
    return lot.movements.select_related("recorded_by").order_by("-recorded_at", "-id")


def region_pharmacies_keeping(pharmacy: Pharmacy) -> list[Pharmacy]:
    """The other pharmacies of ``pharmacy``'s Region that keep their stock (where a pharmacist asks a transfer from)."""
    return list(
        Pharmacy.objects.filter(region_id=pharmacy.region_id, stock_setting__keeps_stock=True)
        .exclude(pk=pharmacy.pk)
        .order_by("name")
    )


def recent_movements(*, pharmacy_id, limit: int = 30):
    return list(recent_movements_query(pharmacy_id=pharmacy_id)[:limit])


def transfers_for(*, user, open_only: bool = False):
    """Transfers the user takes part in: a pharmacist's (to or from their pharmacy), an officer's Region's."""
    actor = actor_for(user)
    transfers = StockTransfer.objects.select_related("from_pharmacy", "to_pharmacy", "lot")
    if actor.role == Role.PHARMACIST:
        transfers = transfers.filter(Q(from_pharmacy_id=actor.pharmacy_id) | Q(to_pharmacy_id=actor.pharmacy_id))
    elif actor.role == Role.REGIONAL_OFFICER:
        transfers = transfers.filter(from_pharmacy__region_id=actor.region_id)
    elif not actor.sees_every_region:
        return StockTransfer.objects.none()
    if open_only:
        transfers = transfers.exclude(status__in=[TransferStatus.RECEIVED, TransferStatus.REJECTED])
    return transfers.order_by("-requested_at")


def transfer_for(*, user, transfer_id) -> StockTransfer:
    transfer = transfers_for(user=user).filter(pk=transfer_id).first()
    if transfer is None:
        raise NotFound()
    return transfer


# --- Demand and cover -------------------------------------------------------------------------------------------


def demands(pharmacy_ids: list, *, now=None, with_lots: bool = True) -> dict:
    """``{pharmacy_id: cover.PharmacyDemand}`` for these pharmacies, in four queries."""
    now = now or timezone.now()
    today = rome_today(now)
    settings_by = {s.pharmacy_id: s for s in PharmacyStockSetting.objects.filter(pharmacy_id__in=pharmacy_ids)}
    lots: dict = {pk: [] for pk in pharmacy_ids}
    for lot in Lot.objects.filter(pharmacy_id__in=pharmacy_ids, on_hand__gt=0).order_by("expiry_date", "lot_number"):
        lots[lot.pharmacy_id].append(cover.LotHolding(lot.pk, lot.lot_number, lot.expiry_date, lot.on_hand))
    owed = dict(
        Prescription.objects.filter(status__in=ACTIVE_STATUSES, centre__pharmacy_id__in=pharmacy_ids)
        .values("centre__pharmacy_id")
        .annotate(owed=Sum(course_doses_expression() - F("syringes_dispensed")))
        .values_list("centre__pharmacy_id", "owed")
    )
    since = day_start(today - timedelta(days=cover.RECENT_DAYS - 1))
    recent = dict(
        Prescription.objects.filter(centre__pharmacy_id__in=pharmacy_ids, eligible=True, prescribed_at__gte=since)
        .exclude(status=PrescriptionStatus.REJECTED)
        .values("centre__pharmacy_id")
        .annotate(doses=Sum(course_doses_expression()))
        .values_list("centre__pharmacy_id", "doses")
    )
    return {
        pk: cover.PharmacyDemand(
            pharmacy_id=pk,
            on_hand=sum(lot.on_hand for lot in lots[pk] if lot.expiry_date >= today),
            committed=max(owed.get(pk) or 0, 0),
            recent_doses=recent.get(pk) or 0,
            threshold_days=threshold_of(settings_by.get(pk)),
            lots=tuple(lots[pk]) if with_lots else (),
        )
        for pk in pharmacy_ids
    }


def cover_of(demand: cover.PharmacyDemand):
    return cover.days_of_cover(on_hand=demand.on_hand, committed=demand.committed, recent_doses=demand.recent_doses)


@dataclass
class PharmacyStock:
    pharmacy: Pharmacy
    demand: cover.PharmacyDemand
    days_of_cover: object
    short: bool
    lots: list = field(default_factory=list)
    expiring_30: int = 0
    expiring_60: int = 0
    expired: int = 0


@dataclass
class RegionalStock:
    region: Region
    today: date
    pharmacies: list[PharmacyStock]
    suggestions: list
    open_transfers: list
    in_transit: int
    not_keeping: list

    @property
    def on_hand(self) -> int:
        return sum(p.demand.on_hand for p in self.pharmacies)

    @property
    def expiring_30(self) -> int:
        return sum(p.expiring_30 for p in self.pharmacies)

    @property
    def expiring_60(self) -> int:
        return sum(p.expiring_60 for p in self.pharmacies)


def region_for(user, region_code: str | None = None) -> Region:
    """The Region whose stock ``user`` reads: an officer's own; the national role or the administrator any."""
    actor = actor_for(user)
    if actor.role == Role.REGIONAL_OFFICER:
        if region_code not in (None, "", actor.region_id):
            raise NotFound()
        return Region.objects.get(pk=actor.region_id)
    if actor.sees_every_region:
        region = Region.objects.filter(pk=region_code).first() if region_code else None
        if region is None:
            raise NotFound()
        return region
    raise PermissionDenied(_("Only the Region's officer and the national monitoring read a Region's stock."))


def may_manage(user, view: "RegionalStock") -> bool:
    """Whether ``user`` approves transfers and switches pharmacies in the Region shown (its officer, an admin)."""
    actor = actor_for(user)
    return actor.is_admin or (actor.role == Role.REGIONAL_OFFICER and actor.region_id == view.region.pk)


def regional_stock(*, user, region_code: str | None = None, now=None) -> RegionalStock:
    """The Region's stock by pharmacy and lot, what expires within 30 and 60 days, each pharmacy's days of cover,
    the suggested transfers and the transfers under way."""
    now = now or timezone.now()
    today = rome_today(now)
    region = region_for(user, region_code)
    pharmacies = list(Pharmacy.objects.filter(region=region).select_related("stock_setting").order_by("name"))
    keeping = [p for p in pharmacies if (s := setting_of(p)) is not None and s.keeps_stock]
    by_id = demands([p.pk for p in keeping], now=now)
    lots: dict = {p.pk: [] for p in keeping}
    for lot in Lot.objects.filter(pharmacy__in=keeping, on_hand__gt=0).order_by("expiry_date", "lot_number"):
        lots[lot.pharmacy_id].append(lot)
    soon, later = (today + timedelta(days=days) for days in settings.STOCK_EXPIRY_WARNING_DAYS)
    rows = []
    for pharmacy in keeping:
        demand = by_id[pharmacy.pk]
        days = cover_of(demand)
        held = lots[pharmacy.pk]
        rows.append(
            PharmacyStock(
                pharmacy=pharmacy,
                demand=demand,
                days_of_cover=days,
                short=days is not None and days < demand.threshold_days,
                lots=held,
                expiring_30=sum(lot.on_hand for lot in held if today <= lot.expiry_date <= soon),
                expiring_60=sum(lot.on_hand for lot in held if today <= lot.expiry_date <= later),
                expired=sum(lot.on_hand for lot in held if lot.expiry_date < today),
            )
        )
    transfers = list(
        StockTransfer.objects.filter(from_pharmacy__region=region)
        .exclude(status__in=[TransferStatus.RECEIVED, TransferStatus.REJECTED])
        .select_related("from_pharmacy", "to_pharmacy", "lot")
        .order_by("-requested_at")
    )
    names = {p.pk: p for p in pharmacies}
    incoming: dict = {}
    outgoing: dict = {}
    for transfer in transfers:  # under way: what they bring is not suggested again, what they take not offered
        incoming[transfer.to_pharmacy_id] = incoming.get(transfer.to_pharmacy_id, 0) + transfer.syringes
        if transfer.status != TransferStatus.SHIPPED:  # a shipped one has left the sender's stock already
            outgoing[transfer.from_pharmacy_id] = outgoing.get(transfer.from_pharmacy_id, 0) + transfer.syringes
    under_way = [
        replace(demand, incoming=incoming.get(pk, 0), outgoing=outgoing.get(pk, 0)) for pk, demand in by_id.items()
    ]
    suggestions = [
        (suggestion, names[suggestion.from_pharmacy_id], names[suggestion.to_pharmacy_id])
        for suggestion in cover.suggest_transfers(under_way, today=today)
    ]
    return RegionalStock(
        region=region,
        today=today,
        pharmacies=rows,
        suggestions=suggestions,
        open_transfers=transfers,
        in_transit=sum(t.syringes for t in transfers if t.status == TransferStatus.SHIPPED),
        not_keeping=[p for p in pharmacies if p not in keeping],
    )


# --- Spending -----------------------------------------------------------------------------------------------------


def syringe_prices():
    """The prices per syringe AIFA set, oldest period first (public to every signed-in user)."""
    return SyringePrice.objects.order_by("valid_from")


def price_periods() -> list[spending.PricePeriod]:
    return [spending.PricePeriod(p.valid_from, p.valid_to, p.price_eur) for p in syringe_prices()]


def spending_lines(*, first: date, last: date, centre_filter: Q | None = None, key: str = "prescription__centre_id"):
    """The syringes dispensed (live dispensations, every pharmacy) and returned (stock returns naming a course) on
    the Rome days ``first``..``last``, by ``key`` and day: two grouped queries."""
    start, end = day_bounds(first, last)
    rome_day = TruncDate("recorded_at", tzinfo=REGISTRY_TIME_ZONE)
    dispensed = Dispensation.objects.filter(
        entered_in_error_at__isnull=True, recorded_at__gte=start, recorded_at__lt=end
    )
    returned = StockMovement.objects.filter(
        kind=MovementKind.RETURN, prescription__isnull=False, recorded_at__gte=start, recorded_at__lt=end
    )
    if centre_filter is not None:
        dispensed, returned = dispensed.filter(centre_filter), returned.filter(centre_filter)
    lines = []
    for rows, sign in ((dispensed, 1), (returned, -1)):
        grouped = rows.annotate(day=rome_day).values(key, "day").annotate(n=Sum("syringes")).order_by()
        lines += [spending.SpendingLine(row[key], row["day"], sign * row["n"]) for row in grouped]
    return lines


def ensure_may_read_spending(user):
    """The roles docs/api.md lists for the spending (403 for nurses and prescribers); the caller's actor."""
    return ensure_role(user, Role.REGIONAL_OFFICER, Role.NATIONAL, Role.ADMINISTRATOR, Role.PHARMACIST)


def spending_report(*, user, first: date, last: date, region_code: str | None = None) -> dict:
    """Spending by centre and in all, for the caller's scope (and ``region_code``, when given): the Region's officer
    their Region, a pharmacist their centres, AIFA and the administrator any (403 for anyone else; 404 for a Region
    outside the caller's)."""
    actor = ensure_may_read_spending(user)
    if actor.sees_every_region:
        condition = None
    else:
        condition = centre_condition(user, through="prescription__centre__")
        own_region = (
            actor.region_id
            if actor.role == Role.REGIONAL_OFFICER
            else Pharmacy.objects.filter(pk=actor.pharmacy_id).values_list("region_id", flat=True).first()
        )
        if region_code and region_code != own_region:
            raise NotFound()
    if region_code:
        region_condition = Q(prescription__centre__region_id=region_code)
        condition = region_condition if condition is None else condition & region_condition
    by_centre = spending.spending_by(spending_lines(first=first, last=last, centre_filter=condition), price_periods())
    centres = {c.pk: c for c in Centre.objects.filter(pk__in=list(by_centre)).select_related("region")}
    by_region: dict = {}
    for pk, amount in by_centre.items():
        by_region.setdefault(centres[pk].region_id, []).append(amount)
    return {
        "period_start": first.isoformat(),
        "period_end": last.isoformat(),
        "total": spending.total_of(by_centre.values()).as_dict(),
        "by_region": [
            {"region": code, **spending.total_of(amounts).as_dict()} for code, amounts in sorted(by_region.items())
        ],
        "by_centre": [
            {"centre": str(pk), "centre_name": centres[pk].name, "region": centres[pk].region_id, **amount.as_dict()}
            for pk, amount in sorted(by_centre.items(), key=lambda item: (centres[item[0]].name, str(item[0])))
        ],
    }


def spending_of_prescriptions(prescriptions) -> dict:
    """The spending of a cohort of prescriptions (a queryset, as the monitoring report selects them by
    ``prescribed_at``): their live dispensations less their returns, whenever they happened, each at the price of
    its Rome day; ``{"total": {...}, "by_centre": {centre id: {...}}}``. Three queries, for ``reports.metrics``."""
    rome_day = TruncDate("recorded_at", tzinfo=REGISTRY_TIME_ZONE)
    ids = prescriptions.order_by().values("pk")
    dispensed = Dispensation.objects.filter(entered_in_error_at__isnull=True, prescription__in=ids)
    returned = StockMovement.objects.filter(kind=MovementKind.RETURN, prescription__in=ids)
    lines = []
    for rows, sign in ((dispensed, 1), (returned, -1)):
        grouped = (
            rows.annotate(day=rome_day).values("prescription__centre_id", "day").annotate(n=Sum("syringes")).order_by()
        )
        lines += [spending.SpendingLine(row["prescription__centre_id"], row["day"], sign * row["n"]) for row in grouped]
    by_centre = spending.spending_by(lines, price_periods())
    return {
        "total": spending.total_of(by_centre.values()).as_dict(),
        "by_centre": {str(pk): amount.as_dict() for pk, amount in by_centre.items()},
    }


def spending_for_metrics(*, first: date, last: date, region_code: str | None = None) -> dict:
    """The ``spending`` block the monitoring report may show (unscoped: the report run is already scoped)."""
    condition = Q(prescription__centre__region_id=region_code) if region_code else None
    by_centre = spending.spending_by(spending_lines(first=first, last=last, centre_filter=condition), price_periods())
    return {
        "total": spending.total_of(by_centre.values()).as_dict(),
        "by_centre": {str(pk): amount.as_dict() for pk, amount in by_centre.items()},
    }
