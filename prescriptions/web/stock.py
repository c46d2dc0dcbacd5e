"""Pages of the stock (issue 20): the pharmacy's lots and movements, the Region's stock and cover.

Every write is two steps: the form is checked by the API's input serializer and shown back as a summary to
confirm (nothing stored), then the confirmed post calls the same service as the API.
"""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from registry.calendar import rome_today
from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import Pharmacy, Region, Role
from registry.permissions import PermissionDenied, actor_for, ensure_manages_region, ensure_role

from ..api import stock as api
from ..stock import selectors, services
from ..stock.models import Lot, MovementKind, TransferStatus, WriteOffReason
from .views import page

# --- The operations -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    name: str
    title: str
    confirm: str
    serializer: type
    fields: tuple[str, ...]

    def perform(self, user, data):
        match self.name:
            case "receive":
                return services.stock_receive(pharmacist=user, **data)
            case "return":
                return services.stock_return(
                    pharmacist=user,
                    lot_id=data.get("lot"),
                    syringes=data["syringes"],
                    prescription_id=data.get("prescription"),
                    reason=data["reason"],
                )
            case "write_off":
                return services.stock_write_off(
                    pharmacist=user,
                    lot_id=data.get("lot"),
                    syringes=data.get("syringes"),
                    reason=data["reason"],
                    note=data["note"],
                )
            case "adjust":
                return services.stock_adjust(
                    pharmacist=user, lot_id=data.get("lot"), counted=data["counted"], reason=data["reason"]
                )
        raise NotFound()


OPERATIONS = {
    op.name: op
    for op in (
        Operation(
            "receive",
            gettext_lazy("Receive a delivery"),
            gettext_lazy("Confirm: record the delivery"),
            api.ReceiptInput,
            ("lot_number", "expiry_date", "syringes", "supplier_document", "unit_price", "reason"),
        ),
        Operation(
            "return",
            gettext_lazy("Return unused syringes"),
            gettext_lazy("Confirm: put the syringes back in stock"),
            api.ReturnInput,
            ("lot", "syringes", "prescription", "reason"),
        ),
        Operation(
            "write_off",
            gettext_lazy("Write off"),
            gettext_lazy("Confirm: write the syringes off"),
            api.WriteOffInput,
            ("lot", "syringes", "reason", "note"),
        ),
        Operation(
            "adjust",
            gettext_lazy("Counted adjustment"),
            gettext_lazy("Confirm: set the lot to the count"),
            api.AdjustmentInput,
            ("lot", "counted", "reason"),
        ),
    )
}

WRITE_OFF_REASONS = WriteOffReason.choices


def _posted(request: HttpRequest, fields) -> dict:
    data = {}
    for name in fields:
        value = request.POST.get(name, "").strip()
        if value:
            data[name] = value.replace(",", ".") if name == "unit_price" else value
    return data


def _messages_of(errors: dict) -> list[str]:
    out = []
    for field, messages_ in errors.items():
        if field == "code":
            continue
        for message in messages_ if isinstance(messages_, list) else [messages_]:
            out.append(f"{message}" if field in ("non_field_errors", "detail") else f"{_field_label(field)}: {message}")
    return out


FIELD_LABELS = {
    "lot": gettext_lazy("Lot"),
    "lot_number": gettext_lazy("Lot number"),
    "expiry_date": gettext_lazy("Expiry date"),
    "syringes": gettext_lazy("Syringes"),
    "supplier_document": gettext_lazy("Supplier document"),
    "unit_price": gettext_lazy("Unit price (EUR)"),
    "reason": gettext_lazy("Reason"),
    "note": gettext_lazy("Note"),
    "counted": gettext_lazy("Counted syringes"),
    "prescription": gettext_lazy("Prescription"),
    "from_pharmacy": gettext_lazy("From"),
    "valid_from": gettext_lazy("Valid from"),
    "valid_to": gettext_lazy("Valid to (included)"),
    "price_eur": gettext_lazy("Price per syringe (EUR)"),
    "aifa_reference": gettext_lazy("AIFA reference"),
    "cover_threshold_days": gettext_lazy("Days of cover alert threshold"),
    "to_pharmacy": gettext_lazy("To"),
}


def _field_label(field: str) -> str:
    return str(FIELD_LABELS.get(field, field))


def _pharmacy_context(request, *, errors=None, values=None) -> dict:
    pharmacy = selectors.pharmacy_of(request.user)
    setting = selectors.setting_of(pharmacy)
    keeps = bool(setting and setting.keeps_stock)
    context = {"pharmacy": pharmacy, "keeps_stock": keeps, "errors": errors or {}, "values": values or {}}
    if keeps:
        lots = list(selectors.lots_held(pharmacy_id=pharmacy.pk))
        fefo = selectors.fefo_lots(pharmacy_id=pharmacy.pk)
        today = rome_today()
        context.update(
            lots=lots,
            lot_choices=list(selectors.lots_held(pharmacy_id=pharmacy.pk, include_empty=True)),
            suggested=fefo[0] if fefo else None,
            today=today,
            soon=today + timedelta(days=30),
            movements=selectors.recent_movements(pharmacy_id=pharmacy.pk),
            transfers=list(selectors.transfers_for(user=request.user, open_only=True)),
            region_pharmacies=selectors.region_pharmacies_keeping(pharmacy),
            write_off_reasons=WRITE_OFF_REASONS,
            operations=OPERATIONS,
            kinds=dict(MovementKind.choices),
        )
    return context


@page
@require_GET
def pharmacy_stock(request):
    """The pharmacist's stock: lots first expiry first, the FEFO suggestion, the forms, the latest movements."""
    return render(request, "stock/pharmacy.html", _pharmacy_context(request))


def _operation_page(request, op: Operation):
    pharmacy = services.stock_pharmacy(request.user)  # 403 / 409 before reading the form
    posted = _posted(request, op.fields)
    serializer = op.serializer(data=posted)
    if not serializer.is_valid():
        return _back(request, op, _messages_of(serializer.errors), posted)
    data = serializer.validated_data
    # What would be refused after the confirmation (an expired delivery, a write-off past the lot) is said now.
    refusal = services.stock_operation_refusal(pharmacy_id=pharmacy.pk, operation=op.name, data=data)
    if isinstance(refusal, InvalidInput):
        return _back(request, op, _messages_of(refusal.errors), posted)
    if isinstance(refusal, Conflict):
        return _back(request, op, [refusal.detail], posted, status=409)
    if request.POST.get("confirmed") != "yes":
        return render(
            request,
            "stock/confirm.html",
            {
                "title": op.title,
                "button": op.confirm,
                "action": reverse("prescriptions:stock:operation", kwargs={"name": op.name}),
                "cancel": reverse("prescriptions:stock:pharmacy"),
                # The values as the serializer read them (a date, a decimal), written as the reader writes them.
                "summary": [
                    (_field_label(name), _shown(name, data.get(name, value), pharmacy_id=pharmacy.pk))
                    for name, value in posted.items()
                ],
                "hidden": posted,
                "danger": op.name in ("write_off", "adjust"),
            },
        )
    try:
        movement = op.perform(request.user, data)
    except InvalidInput as exc:
        return _back(request, op, _messages_of(exc.errors), posted)
    except Conflict as exc:
        return _back(request, op, [exc.detail], posted, status=409)
    messages.success(
        request,
        _("%(kind)s recorded: lot %(lot)s now holds %(n)d syringes.")
        % {
            "kind": MovementKind(movement.kind).label.capitalize(),
            "lot": movement.lot.lot_number,
            "n": movement.on_hand_after,
        },
    )
    return redirect("prescriptions:stock:pharmacy")


def _shown(name: str, value, *, pharmacy_id=None) -> str:
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, Decimal):
        return number_format(value, 2, use_l10n=True)
    if name == "reason" and value in WriteOffReason.values:
        return str(WriteOffReason(value).label)
    if name == "lot":
        lots = Lot.objects.filter(pharmacy_id=pharmacy_id) if pharmacy_id else Lot.objects.none()
        value = str(value)
        lot = lots.filter(pk=value).only("lot_number").first() if _is_uuid(value) else None
        return lot.lot_number if lot else value
    return "" if value is None else str(value)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _back(request, op: Operation, errors: list[str], values: dict, status: int = 400):
    context = _pharmacy_context(request, errors={op.name: errors}, values={op.name: values})
    return render(request, "stock/pharmacy.html", context, status=status)


@page
@require_POST
def operation(request, name):
    op = OPERATIONS.get(name)
    if op is None:
        raise NotFound()
    return _operation_page(request, op)


# --- Transfers ------------------------------------------------------------------------------------------------------

TRANSFER_STEPS = {
    "approve": (gettext_lazy("Approve the transfer"), gettext_lazy("Confirm: approve")),
    "reject": (gettext_lazy("Reject the transfer"), gettext_lazy("Confirm: reject")),
    "ship": (gettext_lazy("Ship the transfer"), gettext_lazy("Confirm: the syringes leave our stock")),
    "receive": (gettext_lazy("Receive the transfer"), gettext_lazy("Confirm: the syringes enter our stock")),
}


def _back_to(request) -> str:
    if actor_for(request.user).role == Role.PHARMACIST:
        return reverse("prescriptions:stock:pharmacy")
    return reverse("prescriptions:stock:region")


def _ensure_may_step(user, transfer, step: str) -> None:
    if step in ("approve", "reject"):
        ensure_manages_region(user, transfer.from_pharmacy.region_id)
        return
    actor = ensure_role(user, Role.PHARMACIST)
    pharmacy_id = transfer.from_pharmacy_id if step == "ship" else transfer.to_pharmacy_id
    if actor.pharmacy_id != pharmacy_id:
        raise PermissionDenied(_("Only the pharmacy the step belongs to takes it."))


def _lot_number(transfer) -> str:
    return transfer.lot.lot_number if transfer.lot else "—"


def _ship_lots(transfer) -> list[tuple[str, str]]:
    """``selectors.lots_to_ship`` as the confirmation's choices: (id, label)."""
    return [
        (
            str(lot.pk),
            _("%(lot)s · expires %(expiry)s · %(n)d on hand")
            % {"lot": lot.lot_number, "expiry": date_format(lot.expiry_date, "SHORT_DATE_FORMAT"), "n": lot.on_hand},
        )
        for lot in selectors.lots_to_ship(transfer)
    ]


def _posted_lot(request, lot_choices):
    """The lot chosen on the confirmation (one of those offered), or None: the transfer's own, or refused for want
    of one by the service (said next to "Lot")."""
    if not lot_choices:
        return None
    chosen = request.POST.get("lot", "")
    return chosen if chosen in {pk for pk, _label in lot_choices} else None


@page
@require_POST
def transfer_step(request, transfer_id, step):
    if step not in TRANSFER_STEPS:
        raise NotFound()
    transfer = selectors.transfer_for(user=request.user, transfer_id=transfer_id)
    _ensure_may_step(request.user, transfer, step)  # 403 before the confirmation
    title, button = TRANSFER_STEPS[step]
    back = _back_to(request)
    # A transfer asked without a lot (the asker holds none of the sender's) is shipped from a lot the sender
    # chooses: those holding enough, first expiry first, the first chosen.
    lot_choices = _ship_lots(transfer) if step == "ship" and transfer.lot_id is None else None
    if request.POST.get("confirmed") != "yes":
        return render(
            request,
            "stock/confirm.html",
            {
                "title": title,
                "button": button,
                "action": reverse("prescriptions:stock:transfer", kwargs={"transfer_id": transfer.pk, "step": step}),
                "cancel": back,
                "summary": [
                    (_("From"), transfer.from_pharmacy.name),
                    (_("To"), transfer.to_pharmacy.name),
                    (_("Syringes"), transfer.syringes),
                    *([] if lot_choices is not None else [(_("Lot"), _lot_number(transfer))]),
                ],
                "hidden": {},
                "lot_choices": lot_choices,
                "danger": step == "reject",
            },
        )
    try:
        match step:
            case "approve" | "reject":
                services.stock_transfer_decide(officer=request.user, transfer_id=transfer.pk, approve=step == "approve")
            case "ship":
                services.stock_transfer_ship(
                    pharmacist=request.user, transfer_id=transfer.pk, lot_id=_posted_lot(request, lot_choices)
                )
            case "receive":
                services.stock_transfer_receive(pharmacist=request.user, transfer_id=transfer.pk)
    except (InvalidInput, Conflict) as exc:
        detail = exc.detail if isinstance(exc, Conflict) else "; ".join(_messages_of(exc.errors))
        messages.error(request, detail)
        return redirect(back)
    transfer.refresh_from_db()
    messages.success(request, _("Transfer %(status)s.") % {"status": TransferStatus(transfer.status).label})
    return redirect(back)


@page
@require_POST
def transfer_request(request):
    ensure_role(request.user, Role.PHARMACIST, Role.REGIONAL_OFFICER, Role.ADMINISTRATOR)
    posted = _posted(request, ("from_pharmacy", "to_pharmacy", "syringes", "lot", "note"))
    serializer = api.TransferInput(data=posted)
    if not serializer.is_valid():
        messages.error(request, "; ".join(_messages_of(serializer.errors)))
        return redirect(_back_to(request))
    data = serializer.validated_data
    if request.POST.get("confirmed") != "yes":
        names = {p.pk: p.name for p in Pharmacy.objects.filter(pk__in=[data["from_pharmacy"], data["to_pharmacy"]])}
        return render(
            request,
            "stock/confirm.html",
            {
                "title": _("Request a transfer"),
                "button": _("Confirm: request the transfer"),
                "action": reverse("prescriptions:stock:transfer_request"),
                "cancel": _back_to(request),
                "summary": [
                    (_("From"), names.get(data["from_pharmacy"], "?")),
                    (_("To"), names.get(data["to_pharmacy"], "?")),
                    (_("Syringes"), data["syringes"]),
                    (_("Lot"), _shown("lot", posted.get("lot", "")) or "—"),
                ],
                "hidden": posted,
                "danger": False,
            },
        )
    try:
        services.stock_transfer_request(
            user=request.user,
            from_pharmacy_id=data["from_pharmacy"],
            to_pharmacy_id=data["to_pharmacy"],
            syringes=data["syringes"],
            lot_id=data.get("lot"),
            note=data["note"],
        )
    except (InvalidInput, Conflict) as exc:
        detail = exc.detail if isinstance(exc, Conflict) else "; ".join(_messages_of(exc.errors))
        messages.error(request, detail)
    else:
        messages.success(request, _("Transfer requested: the Region's officer approves it."))
    return redirect(_back_to(request))


# --- The Region -----------------------------------------------------------------------------------------------------


@page
@require_GET
def regional_stock(request):
    """The Region's stock for its officer (AIFA and administrators choose a Region first): by pharmacy and lot, expiring
    soon, days of cover, suggested and open transfers."""
    region_code = request.GET.get("region") or None
    actor = actor_for(request.user)
    if region_code is None and actor.sees_every_region:
        return render(request, "stock/region_choose.html", {"regions": Region.objects.order_by("name")})
    view = selectors.regional_stock(user=request.user, region_code=region_code)
    return render(request, "stock/region.html", {"view": view, "may_act": selectors.may_manage(request.user, view)})


@page
@require_POST
def pharmacy_switch(request, pharmacy_id):
    """The officer switches a pharmacy's stock keeping on or off and sets its cover threshold (empty: the
    registry's default), after a confirmation."""
    pharmacy = Pharmacy.objects.filter(pk=pharmacy_id).select_related("stock_setting").first()
    if pharmacy is None:
        raise NotFound()
    ensure_manages_region(request.user, pharmacy.region_id)  # 403 before the confirmation
    keeps = request.POST.get("keeps_stock") == "yes"
    setting = selectors.setting_of(pharmacy)
    posted = {"keeps_stock": keeps}
    if "cover_threshold_days" in request.POST:
        posted["cover_threshold_days"] = request.POST["cover_threshold_days"].strip() or None
    else:  # the plain "switch on" button keeps the threshold set before
        posted["cover_threshold_days"] = setting.cover_threshold_days if setting else None
    serializer = api.SettingInput(data=posted)
    if not serializer.is_valid():
        messages.error(request, "; ".join(_messages_of(serializer.errors)))
        return redirect("prescriptions:stock:region")
    threshold = serializer.validated_data.get("cover_threshold_days")
    if request.POST.get("confirmed") != "yes":
        return render(
            request,
            "stock/confirm.html",
            {
                "title": _("Keep the stock in the registry") if keeps else _("Stop keeping the stock in the registry"),
                "button": _("Confirm"),
                "action": reverse("prescriptions:stock:switch", kwargs={"pharmacy_id": pharmacy.pk}),
                "cancel": reverse("prescriptions:stock:region"),
                "summary": [
                    (_("Pharmacy"), pharmacy.name),
                    (_("Keeps its stock in the registry"), _("yes") if keeps else _("no")),
                    (
                        _("Days of cover alert threshold"),
                        threshold
                        if threshold is not None
                        else _("the registry's default (%(days)d days)")
                        % {"days": settings.STOCK_COVER_THRESHOLD_DAYS},
                    ),
                ],
                "hidden": {
                    "keeps_stock": "yes" if keeps else "no",
                    "cover_threshold_days": "" if threshold is None else threshold,
                },
                "danger": not keeps,
            },
        )
    services.stock_setting_update(
        user=request.user, pharmacy=pharmacy, keeps_stock=keeps, cover_threshold_days=threshold
    )
    messages.success(request, _("%(pharmacy)s updated.") % {"pharmacy": pharmacy.name})
    return redirect("prescriptions:stock:region")


# --- A lot's history ------------------------------------------------------------------------------------------------

LOT_HISTORY_PAGE = 50


@page
@require_GET
def lot_history(request, lot_id):
    """Every movement of one lot, newest first, a page at a time (the pharmacist's lots, the officer's Region's)."""
    lot = selectors.lot_for(user=request.user, lot_id=lot_id)
    paginator = Paginator(selectors.lot_movements_query(lot), LOT_HISTORY_PAGE)
    movements = paginator.get_page(request.GET.get("page"))
    return render(request, "stock/lot.html", {"lot": lot, "movements": movements})


# --- The price per syringe --------------------------------------------------------------------------------------------


@page
@require_GET
def prices(request):
    """The prices per syringe AIFA set, by validity period; AIFA and administrators add one."""
    return render(request, "stock/prices.html", _prices_context(request))


def _prices_context(request, *, errors=None, values=None) -> dict:
    actor = actor_for(request.user)
    return {
        "prices": list(selectors.syringe_prices().reverse()),
        "may_set": actor.sees_every_region,
        "errors": errors or [],
        "values": values or {},
    }


@page
@require_POST
def price_record(request):
    services.ensure_may_set_price(request.user)  # 403 before the confirmation
    posted = _posted(request, ("valid_from", "valid_to", "price_eur", "aifa_reference"))
    if "price_eur" in posted:
        posted["price_eur"] = posted["price_eur"].replace(",", ".")
    serializer = api.PriceInput(data=posted)
    if not serializer.is_valid():
        context = _prices_context(request, errors=_messages_of(serializer.errors), values=posted)
        return render(request, "stock/prices.html", context, status=400)
    data = serializer.validated_data
    if request.POST.get("confirmed") != "yes":
        return render(
            request,
            "stock/confirm.html",
            {
                "title": _("Set the price per syringe"),
                "button": _("Confirm: set the price"),
                "action": reverse("prescriptions:stock:price_record"),
                "cancel": reverse("prescriptions:stock:prices"),
                "summary": [
                    (_("Valid from"), date_format(data["valid_from"], "SHORT_DATE_FORMAT")),
                    (
                        _("Valid to (included)"),
                        date_format(data["valid_to"], "SHORT_DATE_FORMAT") if data.get("valid_to") else "—",
                    ),
                    (_("Price per syringe (EUR)"), number_format(data["price_eur"], 2, use_l10n=True)),
                    (_("AIFA reference"), data["aifa_reference"] or "—"),
                ],
                "hidden": posted,
                "danger": False,
            },
        )
    try:
        services.syringe_price_record(user=request.user, **data)
    except InvalidInput as exc:
        context = _prices_context(request, errors=_messages_of(exc.errors), values=posted)
        return render(request, "stock/prices.html", context, status=400)
    messages.success(request, _("Price per syringe recorded."))
    return redirect("prescriptions:stock:prices")


urlpatterns = [
    path("", pharmacy_stock, name="pharmacy"),
    path("operations/<str:name>/", operation, name="operation"),
    path("region/", regional_stock, name="region"),
    path("transfers/", transfer_request, name="transfer_request"),
    path("transfers/<uuid:transfer_id>/<str:step>/", transfer_step, name="transfer"),
    path("pharmacies/<uuid:pharmacy_id>/switch/", pharmacy_switch, name="switch"),
    path("lots/<uuid:lot_id>/", lot_history, name="lot"),
    path("prices/", prices, name="prices"),
    path("prices/new/", price_record, name="price_record"),
]
