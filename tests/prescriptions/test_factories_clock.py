"""The test factories work at any time of the Rome day: a prescription of today (``prescribed_days_ago=0``) was put at
06:00, in the future until then, and two quarter tests failed from midnight to 06:00 in Rome (CI at 23:12 UTC)."""

from datetime import datetime, time

import pytest
from django.utils import timezone

from prescriptions.models import PrescriptionStatus
from registry.calendar import REGISTRY_TIME_ZONE, rome_date, rome_today

from . import factories as f


@pytest.mark.parametrize("rome_clock", ["00:00:20", "01:10:00", "05:59:00", "06:30:00", "23:50:00"])
def test_a_prescription_of_today_is_made_at_any_hour(demo, monkeypatch, rome_clock):
    now = datetime.combine(rome_today(), time.fromisoformat(rome_clock), tzinfo=REGISTRY_TIME_ZONE)
    monkeypatch.setattr(timezone, "now", lambda: now)
    waiting = f.prescription_at(demo, PrescriptionStatus.AWAITING_DISPENSING, prescribed_days_ago=0)
    assert waiting.prescribed_at <= now and rome_date(waiting.prescribed_at) == now.date()
