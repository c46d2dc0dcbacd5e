"""What every service of the workflow shares: the row lock and the scoped fetch."""

from registry.errors import NotFound

from ..models import Prescription
from ..selectors import prescription_for_action


def _lock(prescription: Prescription) -> Prescription:
    """The prescription, locked for the transaction (always patient first, then prescription)."""
    # OF self: the joined centre row stays unlocked, so one patient's dose does not queue the centre's others.
    return Prescription.objects.select_for_update(of=("self",)).select_related("centre").get(pk=prescription.pk)


def prescription_for(*, user, prescription_id) -> Prescription:
    """The prescription if ``user`` may see it, else NotFound (404: never say it exists)."""
    prescription = prescription_for_action(user=user, prescription_id=prescription_id)
    if prescription is None:
        raise NotFound()
    return prescription
