"""Days of cover, suggested transfers and spending: the pure arithmetic, then the regional view and the notice."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from prescriptions import services
from prescriptions.models import Prescription
from prescriptions.stock import cover, selectors
from prescriptions.stock import services as stock
from prescriptions.stock.models import SyringePrice
from prescriptions.stock.spending import PricePeriod, SpendingLine, spending_by
from registry.models import CentreDesignation, Notification, PrescriberAuthorisation
from registry.notifications import render_message

from . import factories as f
from .stock_support import MILANO_PHARMACY, keep_stock, receive, second_pharmacy

TODAY = date(2026, 3, 1)


@pytest.mark.parametrize(
    ("on_hand", "committed", "recent", "expected"),
    [
        (28, 0, 14, Decimal("28.0")),  # one dose a day lately: 28 days
        (28, 10, 14, Decimal("18.0")),  # 10 owed to running courses first
        (10, 10, 14, Decimal("0")),  # all owed
        (5, 10, 14, Decimal("0")),  # owed more than held
        (30, 0, 0, None),  # no new course lately: no expected use
        (10, 0, 42, Decimal("3.3")),  # three doses a day
        (0, 0, 0, None),  # nothing held, nothing owed, no new course: no expected use, not 0 days
        (10, 10, 0, Decimal("0")),  # all owed, even without new courses lately
        (5, 10, 0, Decimal("0")),  # owed more than held, even without new courses
    ],
)
def test_days_of_cover(on_hand, committed, recent, expected):
    assert cover.days_of_cover(on_hand=on_hand, committed=committed, recent_doses=recent) == expected


@given(on_hand=st.integers(0, 10_000), committed=st.integers(0, 10_000), recent=st.integers(0, 10_000))
def test_cover_never_negative_and_more_stock_never_less_cover(on_hand, committed, recent):
    days = cover.days_of_cover(on_hand=on_hand, committed=committed, recent_doses=recent)
    more = cover.days_of_cover(on_hand=on_hand + 1, committed=committed, recent_doses=recent)
    assert days is None or days >= 0
    if days is not None and more is not None:
        assert more >= days


def lot(pk, expiry_days, on_hand):
    return cover.LotHolding(pk, pk, TODAY + timedelta(days=expiry_days), on_hand)


def test_suggested_transfer_goes_from_the_expiring_surplus_to_the_short_pharmacy():
    short = cover.PharmacyDemand("short", on_hand=2, committed=0, recent_doses=28, threshold_days=7)  # 1 day
    rich = cover.PharmacyDemand(
        "rich",
        on_hand=100,
        committed=0,
        recent_doses=0,
        threshold_days=7,
        lots=(lot("late", 300, 50), lot("soon", 20, 40), lot("gone", -1, 10)),
    )
    suggestions = cover.suggest_transfers([short, rich], today=TODAY)
    # The short pharmacy wants 14 days at 2 a day (28) and holds 2: 26 syringes, from the lot expiring soonest.
    assert [(s.from_pharmacy_id, s.to_pharmacy_id, s.lot_id, s.syringes) for s in suggestions] == [
        ("rich", "short", "soon", 26)
    ]


def test_no_suggestion_when_nobody_is_short_or_nobody_spares():
    fine = cover.PharmacyDemand("fine", on_hand=100, committed=0, recent_doses=14, threshold_days=7)
    short = cover.PharmacyDemand("short", on_hand=0, committed=0, recent_doses=14, threshold_days=7)
    assert cover.suggest_transfers([fine], today=TODAY) == []
    assert cover.suggest_transfers([short], today=TODAY) == []


def test_spending_is_net_of_returns_at_the_price_of_the_day():
    prices = [
        PricePeriod(date(2026, 1, 1), date(2026, 1, 31), Decimal("150")),
        PricePeriod(date(2026, 2, 1), None, Decimal("140")),
    ]
    lines = [
        SpendingLine("milano", date(2026, 1, 10), 10),
        SpendingLine("milano", date(2026, 2, 2), 10),
        SpendingLine("milano", date(2026, 2, 5), -4),
        SpendingLine("roma", date(2025, 12, 31), 3),  # before any price
    ]
    totals = spending_by(lines, prices)
    assert totals["milano"].as_dict() == {
        "syringes_dispensed": 20,
        "syringes_returned": 4,
        "net_syringes": 16,
        "amount_eur": "2340.00",
        "unpriced_syringes": 0,
    }
    assert totals["roma"].unpriced_syringes == 3 and totals["roma"].amount_eur == 0


# --- On the database --------------------------------------------------------------------------------------------


def test_regional_stock_shows_lots_expiry_cover_and_a_suggestion(demo, django_assert_max_num_queries):
    keep_stock(demo)
    bergamo, bergamo_pharmacist = second_pharmacy(demo)
    milano_pharmacist = demo["pharmacist.milano"]
    receive(milano_pharmacist, lot_number="M-SOON", syringes=40, days=20)
    receive(milano_pharmacist, lot_number="M-LATER", syringes=30, days=50)
    receive(bergamo_pharmacist, lot_number="B-1", syringes=2, days=300)
    bergamo_centre = f.centre()
    bergamo_centre.pk = None
    bergamo_centre.name = "Ospedale Bergamo"
    bergamo_centre.pharmacy = bergamo
    bergamo_centre.save()
    # A course prescribed today at a centre Bergamo serves: 10 owed, 10 doses of recent use.
    for model, extra in ((CentreDesignation, {"designated_by": demo["admin"]}), (PrescriberAuthorisation, {})):
        original = model.objects.filter(centre=f.centre()).first()
        original.pk = None
        original.centre = bergamo_centre
        for name, value in extra.items():
            setattr(original, name, value)
        original.save()
    f.submit(demo["prescriber.milano"], centre_obj=bergamo_centre)

    with django_assert_max_num_queries(10):
        view = selectors.regional_stock(user=demo["officer.lombardia"])
    rows = {row.pharmacy.name: row for row in view.pharmacies}
    assert rows[MILANO_PHARMACY].demand.on_hand == 70
    assert rows[MILANO_PHARMACY].expiring_30 == 40 and rows[MILANO_PHARMACY].expiring_60 == 70
    assert rows[MILANO_PHARMACY].days_of_cover is None
    assert rows[bergamo.name].days_of_cover == 0 and rows[bergamo.name].short
    [(suggestion, sender, receiver)] = view.suggestions
    assert (sender.name, receiver.name, suggestion.lot_number) == (MILANO_PHARMACY, bergamo.name, "M-SOON")
    assert view.expiring_30 == 40

    with CaptureQueriesContext(connection) as small:
        selectors.regional_stock(user=demo["officer.lombardia"])
    for i in range(5):
        receive(bergamo_pharmacist, lot_number=f"B-extra-{i}", syringes=1, days=100 + i)
    with CaptureQueriesContext(connection) as larger:
        selectors.regional_stock(user=demo["officer.lombardia"])
    assert len(small) > 0 and len(larger) == len(small)


def test_a_pharmacy_below_its_threshold_tells_its_pharmacists_and_the_officer_once_a_day(demo):
    keep_stock(demo, threshold=7)
    pharmacist = demo["pharmacist.milano"]
    lot = receive(pharmacist, syringes=12).lot
    f.prescription_at(demo, "awaiting_dispensing")  # 10 owed and 10 doses of recent use: 2 left, 2.8 days
    stock.stock_write_off(pharmacist=pharmacist, lot_id=lot.pk, syringes=1, reason="damaged")
    stock.stock_write_off(pharmacist=pharmacist, lot_id=lot.pk, syringes=1, reason="damaged")
    told = Notification.objects.filter(kind="stock_cover_low")
    assert sorted(n.recipient.username for n in told) == ["officer.lombardia", "pharmacist.milano"]
    assert told.first().params["pharmacy"] == MILANO_PHARMACY


def test_spending_report_by_centre_net_of_returns(demo):
    keep_stock(demo)
    pharmacist = demo["pharmacist.milano"]
    SyringePrice.objects.create(valid_from=date(2020, 1, 1), price_eur=Decimal("100"))
    lot = receive(pharmacist, syringes=20).lot
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    services.dispensation_record(pharmacist=pharmacist, prescription=prescription, syringes=10, lot=str(lot.pk))
    services.prescription_stop(prescriber=demo["prescriber.milano"], prescription=prescription, reason="discharge")
    stock.stock_return(pharmacist=pharmacist, syringes=4, prescription_id=prescription.pk)
    today = f.today()

    report = selectors.spending_report(user=demo["officer.lombardia"], first=today, last=today)

    expected = {
        "syringes_dispensed": 10,
        "syringes_returned": 4,
        "net_syringes": 6,
        "amount_eur": "600.00",
        "unpriced_syringes": 0,
    }
    assert report["total"] == expected
    assert report["by_region"] == [{"region": "030", **expected}]
    assert [row["centre_name"] for row in report["by_centre"]] == [prescription.centre.name]
    assert selectors.spending_report(user=demo["officer.lazio"], first=today, last=today)["by_centre"] == []
    yesterday = today - timedelta(days=1)
    assert selectors.spending_report(user=demo["aifa"], first=yesterday, last=yesterday)["by_centre"] == []


def test_spending_of_a_cohort_follows_its_prescriptions_whenever_dispensed(demo):
    keep_stock(demo)
    pharmacist = demo["pharmacist.milano"]
    SyringePrice.objects.create(valid_from=date(2020, 1, 1), price_eur=Decimal("100"))
    lot = receive(pharmacist, syringes=20).lot
    prescription = f.prescription_at(demo, "awaiting_dispensing")
    services.dispensation_record(pharmacist=pharmacist, prescription=prescription, syringes=10, lot=str(lot.pk))
    services.prescription_stop(prescriber=demo["prescriber.milano"], prescription=prescription, reason="discharge")
    stock.stock_return(pharmacist=pharmacist, syringes=3, prescription_id=prescription.pk)
    other = f.prescription_at(demo, "awaiting_dispensing", code=f.fiscal_code(serial=5))  # not in the cohort

    block = selectors.spending_of_prescriptions(Prescription.objects.exclude(pk=other.pk))

    assert block["total"]["net_syringes"] == 7 and block["total"]["amount_eur"] == "700.00"
    assert list(block["by_centre"]) == [str(prescription.centre_id)]


demand_strategy = st.builds(
    lambda pk, on_hand, committed, recent, threshold, lots: cover.PharmacyDemand(
        pk, on_hand, committed, recent, threshold, tuple(lot(f"{pk}-{i}", days, n) for i, (days, n) in enumerate(lots))
    ),
    st.sampled_from(["a", "b", "c", "d"]),
    st.integers(0, 500),
    st.integers(0, 200),
    st.integers(0, 300),
    st.integers(1, 30),
    st.lists(st.tuples(st.integers(-10, 400), st.integers(0, 100)), max_size=4),
)


@given(st.lists(demand_strategy, max_size=4, unique_by=lambda d: d.pharmacy_id))
def test_suggestions_never_move_more_than_a_lot_holds_nor_from_a_short_pharmacy(demands):
    suggestions = cover.suggest_transfers(demands, today=TODAY)
    by_id = {d.pharmacy_id: d for d in demands}
    taken: dict = {}
    for s in suggestions:
        assert s.syringes > 0 and s.from_pharmacy_id != s.to_pharmacy_id
        assert not cover.is_short(by_id[s.from_pharmacy_id]) and cover.is_short(by_id[s.to_pharmacy_id])
        assert s.expiry_date >= TODAY
        taken[s.lot_id] = taken.get(s.lot_id, 0) + s.syringes
    held = {holding.lot_id: holding.on_hand for d in demands for holding in d.lots}
    assert all(taken[lot_id] <= held[lot_id] for lot_id in taken)


def test_the_hourly_task_tells_about_a_short_pharmacy_once_a_day(demo):
    from django.conf import settings

    from prescriptions.tasks import check_stock_cover
    from registry.celery import app

    assert settings.CELERY_BEAT_SCHEDULE["stock-cover-check"]["task"] in app.tasks
    keep_stock(demo, threshold=7)
    receive(demo["pharmacist.milano"], syringes=11)
    assert check_stock_cover() == 0  # no recent course: no expected use
    f.prescription_at(demo, "awaiting_dispensing", prescribed_days_ago=1)  # 10 owed, 10 doses lately: 1.4 days
    assert check_stock_cover() == 1
    check_stock_cover()
    assert Notification.objects.filter(kind="stock_cover_low").count() == 2  # the pharmacist and the officer, once


def test_a_pharmacy_with_no_stock_and_no_demand_is_not_short(demo):
    keep_stock(demo)
    view = selectors.regional_stock(user=demo["officer.lombardia"])
    [row] = view.pharmacies
    assert row.days_of_cover is None and not row.short


def test_the_notice_writes_the_days_with_the_readers_decimal_mark(demo):
    keep_stock(demo, threshold=7)
    pharmacist = demo["pharmacist.milano"]
    lot = receive(pharmacist, syringes=13).lot
    f.prescription_at(demo, "awaiting_dispensing", prescribed_days_ago=1)  # 10 owed, 10 doses lately
    stock.stock_write_off(pharmacist=pharmacist, lot_id=lot.pk, syringes=1, reason="damaged")  # 2 left: 2.8 days
    notification = Notification.objects.filter(kind="stock_cover_low").first()
    with translation.override("it"):
        assert "2,8 giorni" in render_message(notification), render_message(notification)
    with translation.override("en"):
        assert "2.8 days" in render_message(notification), render_message(notification)


def test_a_lot_that_would_expire_before_its_pharmacy_uses_it_is_offered_even_without_a_surplus():
    # One syringe a day, 14 on hand: exactly twice its threshold of 7 days, so no surplus. But its lot "soon"
    # expires in 4 days: by then it uses 5 of its 10 syringes, the other 5 would be written off.
    keeper = cover.PharmacyDemand(
        "keeper",
        on_hand=14,
        committed=0,
        recent_doses=14,
        threshold_days=7,
        lots=(lot("soon", 4, 10), lot("late", 200, 4)),
    )
    short = cover.PharmacyDemand("short", on_hand=0, committed=0, recent_doses=28, threshold_days=7)
    suggestions = cover.suggest_transfers([keeper, short], today=TODAY)
    assert [(s.from_pharmacy_id, s.to_pharmacy_id, s.lot_id, s.syringes) for s in suggestions] == [
        ("keeper", "short", "soon", 5)
    ]
    assert cover.expiring_unused(keeper, today=TODAY) == {"soon": 5}


def test_owed_syringes_are_used_first_when_counting_what_expires_unused():
    busy = cover.PharmacyDemand(
        "busy", on_hand=10, committed=8, recent_doses=0, threshold_days=7, lots=(lot("soon", 4, 10),)
    )
    idle = cover.PharmacyDemand(
        "idle", on_hand=6, committed=0, recent_doses=0, threshold_days=7, lots=(lot("a", 30, 6),)
    )
    assert cover.expiring_unused(busy, today=TODAY) == {"soon": 2}
    assert cover.expiring_unused(idle, today=TODAY) == {"a": 6}


def test_transfers_under_way_are_counted_so_a_shortage_is_not_suggested_twice():
    short = cover.PharmacyDemand("short", on_hand=2, committed=0, recent_doses=28, threshold_days=7)
    rich = cover.PharmacyDemand(
        "rich",
        on_hand=90,
        committed=0,
        recent_doses=0,
        threshold_days=7,
        lots=(lot("soon", 20, 40), lot("late", 300, 50)),
    )
    [first] = cover.suggest_transfers([short, rich], today=TODAY)
    assert first.syringes == 26
    # The 26 asked for and not yet received: nothing more to suggest.
    covered = cover.PharmacyDemand("short", on_hand=2, committed=0, recent_doses=28, threshold_days=7, incoming=26)
    assert cover.suggest_transfers([covered, rich], today=TODAY) == []
    # Half of it under way: the rest is suggested.
    half = cover.PharmacyDemand("short", on_hand=2, committed=0, recent_doses=28, threshold_days=7, incoming=13)
    assert [s.syringes for s in cover.suggest_transfers([half, rich], today=TODAY)] == [13]
    # A sender's syringes promised elsewhere (requested, not yet shipped) are not offered again.
    promised = cover.PharmacyDemand(
        "rich",
        on_hand=90,
        committed=0,
        recent_doses=0,
        threshold_days=7,
        lots=(lot("soon", 20, 40), lot("late", 300, 50)),
        outgoing=85,
    )
    assert [s.syringes for s in cover.suggest_transfers([short, promised], today=TODAY)] == [5]


def test_the_regional_view_does_not_suggest_again_a_transfer_already_requested(demo):
    keep_stock(demo)
    bergamo, bergamo_pharmacist = second_pharmacy(demo)
    receive(demo["pharmacist.milano"], lot_number="M-SOON", syringes=40, days=20)
    receive(bergamo_pharmacist, lot_number="B-1", syringes=2, days=300)
    bergamo_centre = f.centre()
    bergamo_centre.pk = None
    bergamo_centre.name = "Ospedale Bergamo"
    bergamo_centre.pharmacy = bergamo
    bergamo_centre.save()
    for model, extra in ((CentreDesignation, {"designated_by": demo["admin"]}), (PrescriberAuthorisation, {})):
        original = model.objects.filter(centre=f.centre()).first()
        original.pk = None
        original.centre = bergamo_centre
        for name, value in extra.items():
            setattr(original, name, value)
        original.save()
    f.submit(demo["prescriber.milano"], centre_obj=bergamo_centre)
    [(suggestion, sender, receiver)] = selectors.regional_stock(user=demo["officer.lombardia"]).suggestions
    stock.stock_transfer_request(
        user=demo["officer.lombardia"],
        from_pharmacy_id=sender.pk,
        to_pharmacy_id=receiver.pk,
        syringes=suggestion.syringes,
        lot_id=suggestion.lot_id,
    )
    assert selectors.regional_stock(user=demo["officer.lombardia"]).suggestions == []
