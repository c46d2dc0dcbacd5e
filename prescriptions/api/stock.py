"""HTTP API of the pharmacies' stock under ``/api/v1/stock/`` (docs/api.md "Stock"). Thin: parse, call one
service or selector, render. Dispensing from a lot stays ``POST /prescriptions/{id}/dispensations/``."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.errors import InvalidInput, NotFound
from registry.models import Pharmacy

from ..stock import selectors, services
from ..stock.models import Lot, StockMovement, StockTransfer, SyringePrice, WriteOffReason
from .eligibility_serializers import CalendarDateField, StrictDecimalField

LOT_NUMBER = serializers.RegexField(
    r"^[A-Za-z0-9][A-Za-z0-9\-/. ]{0,39}$",
    max_length=40,
    error_messages={"invalid": _("A lot number is 1–40 letters, digits, '-', '/', '.' or spaces.")},
)


# --- Output ---------------------------------------------------------------------------------------------------


class LotSerializer(serializers.ModelSerializer):
    pharmacy = serializers.CharField(source="pharmacy_id")

    class Meta:
        model = Lot
        fields = ["id", "pharmacy", "lot_number", "expiry_date", "on_hand"]


class MovementSerializer(serializers.ModelSerializer):
    lot = serializers.CharField(source="lot_id")
    lot_number = serializers.CharField(source="lot.lot_number")
    recorded_by = serializers.CharField(source="recorded_by.username")
    dispensation = serializers.CharField(source="dispensation_id", allow_null=True)
    prescription = serializers.CharField(source="prescription_id", allow_null=True)
    transfer = serializers.CharField(source="transfer_id", allow_null=True)

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "lot",
            "lot_number",
            "kind",
            "syringes",
            "on_hand_after",
            "reason",
            "write_off_reason",
            "supplier_document",
            "unit_price",
            "dispensation",
            "prescription",
            "transfer",
            "recorded_by",
            "recorded_at",
        ]


class TransferSerializer(serializers.ModelSerializer):
    from_pharmacy = serializers.CharField(source="from_pharmacy_id")
    to_pharmacy = serializers.CharField(source="to_pharmacy_id")
    from_pharmacy_name = serializers.CharField(source="from_pharmacy.name")
    to_pharmacy_name = serializers.CharField(source="to_pharmacy.name")
    lot = serializers.CharField(source="lot_id", allow_null=True)
    # Plain text in the schema: an enum here would rename the reports' own "status" enum.
    status = serializers.CharField(help_text="requested · approved · shipped · received · rejected")

    class Meta:
        model = StockTransfer
        fields = [
            "id",
            "from_pharmacy",
            "from_pharmacy_name",
            "to_pharmacy",
            "to_pharmacy_name",
            "syringes",
            "lot",
            "status",
            "note",
            "requested_at",
            "approved_at",
            "shipped_at",
            "received_at",
        ]


class PriceSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyringePrice
        fields = ["id", "valid_from", "valid_to", "price_eur", "aifa_reference"]


# --- Input ----------------------------------------------------------------------------------------------------


class _LotRef(serializers.Serializer):
    lot = serializers.CharField(required=False, max_length=64, help_text="the lot's id (or give lot_number)")
    lot_number = serializers.CharField(required=False, max_length=40)

    def validate(self, attrs):
        if not attrs.get("lot") and not attrs.get("lot_number"):
            raise serializers.ValidationError({"lot": [_("Name the lot (its id or its lot number).")]})
        return attrs


class ReceiptInput(serializers.Serializer):
    lot_number = LOT_NUMBER
    expiry_date = CalendarDateField()
    syringes = serializers.IntegerField(min_value=1, max_value=100_000)
    supplier_document = serializers.CharField(max_length=100)
    unit_price = StrictDecimalField(max_digits=10, decimal_places=4, min_value=0, required=False, allow_null=True)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReturnInput(serializers.Serializer):
    lot = serializers.CharField(required=False, max_length=64)
    lot_number = serializers.CharField(required=False, max_length=40)
    syringes = serializers.IntegerField(min_value=1, max_value=100_000)
    prescription = serializers.UUIDField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class WriteOffInput(_LotRef):
    syringes = serializers.IntegerField(min_value=1, max_value=100_000, required=False, allow_null=True)
    reason = serializers.ChoiceField(choices=WriteOffReason.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class AdjustmentInput(_LotRef):
    counted = serializers.IntegerField(min_value=0, max_value=100_000)
    reason = serializers.CharField(max_length=500)


class TransferInput(serializers.Serializer):
    from_pharmacy = serializers.UUIDField()
    to_pharmacy = serializers.UUIDField()
    syringes = serializers.IntegerField(min_value=1, max_value=100_000)
    lot = serializers.UUIDField(required=False, allow_null=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ShipInput(serializers.Serializer):
    lot = serializers.CharField(required=False, max_length=64, allow_null=True)


class SettingInput(serializers.Serializer):
    keeps_stock = serializers.BooleanField()
    cover_threshold_days = serializers.IntegerField(min_value=1, max_value=365, required=False, allow_null=True)


class PriceInput(serializers.Serializer):
    valid_from = CalendarDateField()
    valid_to = CalendarDateField(required=False, allow_null=True)
    price_eur = StrictDecimalField(max_digits=10, decimal_places=4, min_value=0)
    aifa_reference = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class SpendingFilter(serializers.Serializer):
    period_start = CalendarDateField()
    period_end = CalendarDateField()
    region = serializers.CharField(max_length=3, required=False, allow_blank=True)

    def validate(self, attrs):
        if attrs["period_end"] < attrs["period_start"]:
            raise serializers.ValidationError({"period_end": [_("The end comes after the start.")]})
        return attrs


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _created(movement) -> Response:
    return Response(MovementSerializer(movement).data, status=status.HTTP_201_CREATED)


# --- The pharmacy ---------------------------------------------------------------------------------------------


class LotListView(APIView):
    """The pharmacist's lots, first expiry first; ``suggested_lot`` is the one to dispense from (FEFO)."""

    @extend_schema(
        operation_id="stock_lots_list",
        parameters=[OpenApiParameter("include_empty", OpenApiTypes.BOOL, required=False)],
        responses=OpenApiTypes.OBJECT,  # documented in docs/api.md
    )
    def get(self, request):
        pharmacy = selectors.pharmacy_of(request.user)
        setting = selectors.setting_of(pharmacy)
        include_empty = request.query_params.get("include_empty") in ("1", "true")
        lots = list(selectors.lots_held(pharmacy_id=pharmacy.pk, include_empty=include_empty))
        fefo = selectors.fefo_lots(pharmacy_id=pharmacy.pk)
        return Response(
            {
                "pharmacy": str(pharmacy.pk),
                "pharmacy_name": pharmacy.name,
                "keeps_stock": bool(setting and setting.keeps_stock),
                "suggested_lot": str(fefo[0].pk) if fefo else None,
                "lots": LotSerializer(lots, many=True).data,
            }
        )


class LotDetailView(APIView):
    @extend_schema(responses=LotSerializer)
    def get(self, request, lot_id):
        lot, movements = selectors.movements_of(user=request.user, lot_id=lot_id)
        body = LotSerializer(lot).data
        body["movements"] = MovementSerializer(movements, many=True).data
        return Response(body)


class ReceiptView(APIView):
    @extend_schema(request=ReceiptInput, responses={201: MovementSerializer})
    def post(self, request):
        services.stock_pharmacy(request.user)  # 403 / 409 before 400
        return _created(services.stock_receive(pharmacist=request.user, **_valid(ReceiptInput, request.data)))


class ReturnView(APIView):
    @extend_schema(request=ReturnInput, responses={201: MovementSerializer})
    def post(self, request):
        services.stock_pharmacy(request.user)  # 403 / 409 before 400
        data = _valid(ReturnInput, request.data)
        return _created(
            services.stock_return(
                pharmacist=request.user,
                lot_id=data.get("lot"),
                lot_number=data.get("lot_number"),
                syringes=data["syringes"],
                prescription_id=data.get("prescription"),
                reason=data["reason"],
            )
        )


class WriteOffView(APIView):
    @extend_schema(request=WriteOffInput, responses={201: MovementSerializer})
    def post(self, request):
        services.stock_pharmacy(request.user)  # 403 / 409 before 400
        data = _valid(WriteOffInput, request.data)
        return _created(
            services.stock_write_off(
                pharmacist=request.user,
                lot_id=data.get("lot"),
                lot_number=data.get("lot_number"),
                syringes=data.get("syringes"),
                reason=data["reason"],
                note=data["note"],
            )
        )


class AdjustmentView(APIView):
    @extend_schema(request=AdjustmentInput, responses={201: MovementSerializer})
    def post(self, request):
        services.stock_pharmacy(request.user)  # 403 / 409 before 400
        data = _valid(AdjustmentInput, request.data)
        return _created(
            services.stock_adjust(
                pharmacist=request.user,
                lot_id=data.get("lot"),
                lot_number=data.get("lot_number"),
                counted=data["counted"],
                reason=data["reason"],
            )
        )


# --- Transfers ------------------------------------------------------------------------------------------------


class TransferListView(APIView):
    @extend_schema(responses=TransferSerializer(many=True))
    def get(self, request):
        return Response(TransferSerializer(selectors.transfers_for(user=request.user)[:200], many=True).data)

    @extend_schema(request=TransferInput, responses={201: TransferSerializer})
    def post(self, request):
        data = _valid(TransferInput, request.data)
        transfer = services.stock_transfer_request(
            user=request.user,
            from_pharmacy_id=data["from_pharmacy"],
            to_pharmacy_id=data["to_pharmacy"],
            syringes=data["syringes"],
            lot_id=data.get("lot"),
            note=data["note"],
        )
        return Response(TransferSerializer(transfer).data, status=status.HTTP_201_CREATED)


class TransferStepView(APIView):
    """approve / reject (the Region's officer), ship (the sender), receive (the receiver)."""

    step = ""

    @extend_schema(request=ShipInput, responses={200: TransferSerializer})
    def post(self, request, transfer_id):
        selectors.transfer_for(user=request.user, transfer_id=transfer_id)  # 404 before anything else
        match self.step:
            case "approve" | "reject":
                transfer = services.stock_transfer_decide(
                    officer=request.user, transfer_id=transfer_id, approve=self.step == "approve"
                )
            case "ship":
                data = _valid(ShipInput, request.data)
                transfer = services.stock_transfer_ship(
                    pharmacist=request.user, transfer_id=transfer_id, lot_id=data.get("lot")
                )
            case _:
                transfer = services.stock_transfer_receive(pharmacist=request.user, transfer_id=transfer_id)
        transfer = selectors.transfer_for(user=request.user, transfer_id=transfer.pk)
        return Response(TransferSerializer(transfer).data)


# --- The Region, the settings, the prices, the spending -------------------------------------------------------


def regional_body(view) -> dict:
    def days(value):
        return None if value is None else str(value)

    return {
        "region": view.region.code,
        "on_hand": view.on_hand,
        "expiring_within_30_days": view.expiring_30,
        "expiring_within_60_days": view.expiring_60,
        "in_transit": view.in_transit,
        "pharmacies": [
            {
                "pharmacy": str(row.pharmacy.pk),
                "name": row.pharmacy.name,
                "on_hand": row.demand.on_hand,
                "committed": row.demand.committed,
                "recent_doses": row.demand.recent_doses,
                "days_of_cover": days(row.days_of_cover),
                "threshold_days": row.demand.threshold_days,
                "short": row.short,
                "expiring_within_30_days": row.expiring_30,
                "expiring_within_60_days": row.expiring_60,
                "expired": row.expired,
                "lots": LotSerializer(row.lots, many=True).data,
            }
            for row in view.pharmacies
        ],
        "suggested_transfers": [
            {
                "from_pharmacy": str(s.from_pharmacy_id),
                "to_pharmacy": str(s.to_pharmacy_id),
                "lot": str(s.lot_id),
                "lot_number": s.lot_number,
                "expiry_date": s.expiry_date.isoformat(),
                "syringes": s.syringes,
            }
            for s, _sender, _receiver in view.suggestions
        ],
        "open_transfers": TransferSerializer(view.open_transfers, many=True).data,
        "pharmacies_not_keeping_stock": [{"pharmacy": str(p.pk), "name": p.name} for p in view.not_keeping],
    }


class RegionalStockView(APIView):
    """A Region's stock by pharmacy and lot, expiring soon, days of cover, suggested and open transfers."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, region_code):
        return Response(regional_body(selectors.regional_stock(user=request.user, region_code=region_code)))


class PharmacySettingView(APIView):
    @extend_schema(request=SettingInput, responses=SettingInput)
    def put(self, request, pharmacy_id):
        pharmacy = Pharmacy.objects.filter(pk=pharmacy_id).first()
        if pharmacy is None:
            raise NotFound()
        data = _valid(SettingInput, request.data)
        setting = services.stock_setting_update(
            user=request.user,
            pharmacy=pharmacy,
            keeps_stock=data["keeps_stock"],
            cover_threshold_days=data.get("cover_threshold_days"),
        )
        return Response({"keeps_stock": setting.keeps_stock, "cover_threshold_days": setting.cover_threshold_days})


class PriceListView(APIView):
    @extend_schema(responses=PriceSerializer(many=True))
    def get(self, request):
        return Response(PriceSerializer(selectors.syringe_prices(), many=True).data)

    @extend_schema(request=PriceInput, responses={201: PriceSerializer})
    def post(self, request):
        services.ensure_may_set_price(request.user)
        price = services.syringe_price_record(user=request.user, **_valid(PriceInput, request.data))
        return Response(PriceSerializer(price).data, status=status.HTTP_201_CREATED)


class SpendingView(APIView):
    """L.648 spending in a period (Rome days, both included), by centre and Region, net of returns."""

    @extend_schema(parameters=[SpendingFilter], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        selectors.ensure_may_read_spending(request.user)  # 403 before the filter's 400
        data = _valid(SpendingFilter, request.query_params)
        if (data["period_end"] - data["period_start"]).days > 3660:
            raise InvalidInput({"period_end": _("At most ten years at a time.")})
        return Response(
            selectors.spending_report(
                user=request.user,
                first=data["period_start"],
                last=data["period_end"],
                region_code=data.get("region") or None,
            )
        )


urlpatterns = [
    path("stock/lots/", LotListView.as_view(), name="api-stock-lots"),
    path("stock/lots/<uuid:lot_id>/", LotDetailView.as_view(), name="api-stock-lot"),
    path("stock/receipts/", ReceiptView.as_view(), name="api-stock-receipts"),
    path("stock/returns/", ReturnView.as_view(), name="api-stock-returns"),
    path("stock/write-offs/", WriteOffView.as_view(), name="api-stock-write-offs"),
    path("stock/adjustments/", AdjustmentView.as_view(), name="api-stock-adjustments"),
    path("stock/transfers/", TransferListView.as_view(), name="api-stock-transfers"),
    *(
        path(
            f"stock/transfers/<uuid:transfer_id>/{step}/",
            TransferStepView.as_view(step=step),
            name=f"api-stock-transfer-{step}",
        )
        for step in ("approve", "reject", "ship", "receive")
    ),
    path("stock/regions/<str:region_code>/", RegionalStockView.as_view(), name="api-stock-region"),
    path("stock/pharmacies/<uuid:pharmacy_id>/setting/", PharmacySettingView.as_view(), name="api-stock-setting"),
    path("stock/prices/", PriceListView.as_view(), name="api-stock-prices"),
    path("stock/spending/", SpendingView.as_view(), name="api-stock-spending"),
]
