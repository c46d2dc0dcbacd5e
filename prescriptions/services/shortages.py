"""The tocilizumab shortage periods (Determina AIFA 114586/2021), recorded by the national role."""

from datetime import date

from django.db import transaction

from registry.services import check_period

from .. import events
from ..models import TocilizumabShortage
from ..permissions import ensure_may_record_shortage

SHORTAGE_FIELDS = ("starts_on", "ends_on", "aifa_reference")


@transaction.atomic
def shortage_record(*, actor, starts_on: date, ends_on: date | None = None, aifa_reference: str) -> TocilizumabShortage:
    """The national role records a tocilizumab shortage period (Determina AIFA 114586/2021)."""
    ensure_may_record_shortage(actor)
    check_period(starts_on, ends_on, end_field="ends_on")
    shortage = TocilizumabShortage.objects.create(starts_on=starts_on, ends_on=ends_on, aifa_reference=aifa_reference)
    events.shortage_recorded(actor, shortage)
    return shortage


@transaction.atomic
def shortage_update(
    *, actor, shortage: TocilizumabShortage, starts_on: date, ends_on: date | None, aifa_reference: str
) -> TocilizumabShortage:
    ensure_may_record_shortage(actor)
    check_period(starts_on, ends_on, end_field="ends_on")
    shortage = TocilizumabShortage.objects.select_for_update().get(pk=shortage.pk)
    before = events.snapshot(shortage, SHORTAGE_FIELDS)
    shortage.starts_on, shortage.ends_on, shortage.aifa_reference = starts_on, ends_on, aifa_reference
    shortage.save(update_fields=list(SHORTAGE_FIELDS))
    events.shortage_updated(actor, shortage, before=before)
    return shortage
