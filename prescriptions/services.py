"""Writes of the prescriptions domain; each atomic, each with its audit event."""

from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _

from registry.audit import audit_record, diff
from registry.errors import InvalidInput
from registry.models import Role
from registry.permissions import ensure_role

from .models import TocilizumabShortage


def _check_shortage_period(starts_on: date, ends_on: date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise InvalidInput({"ends_on": _("The end of the period cannot come before its start.")})


@transaction.atomic
def shortage_record(
    *, actor, starts_on: date, ends_on: date | None = None, aifa_reference: str
) -> TocilizumabShortage:
    """The national role records a tocilizumab shortage period (Determina AIFA 114586/2021)."""
    ensure_role(actor, Role.NATIONAL, Role.ADMINISTRATOR)
    _check_shortage_period(starts_on, ends_on)
    shortage = TocilizumabShortage.objects.create(
        starts_on=starts_on, ends_on=ends_on, aifa_reference=aifa_reference
    )
    audit_record(
        actor=actor,
        action="shortage.record",
        obj=shortage,
        changes={"starts_on": starts_on, "ends_on": ends_on, "aifa_reference": aifa_reference},
    )
    return shortage


@transaction.atomic
def shortage_update(
    *, actor, shortage: TocilizumabShortage, starts_on: date, ends_on: date | None, aifa_reference: str
) -> TocilizumabShortage:
    ensure_role(actor, Role.NATIONAL, Role.ADMINISTRATOR)
    _check_shortage_period(starts_on, ends_on)
    shortage = TocilizumabShortage.objects.select_for_update().get(pk=shortage.pk)
    fields = ["starts_on", "ends_on", "aifa_reference"]
    before = {field: getattr(shortage, field) for field in fields}
    after = {"starts_on": starts_on, "ends_on": ends_on, "aifa_reference": aifa_reference}
    for field, value in after.items():
        setattr(shortage, field, value)
    shortage.save(update_fields=fields)
    audit_record(actor=actor, action="shortage.update", obj=shortage, changes=diff(before, after))
    return shortage
