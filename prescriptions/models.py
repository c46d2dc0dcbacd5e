"""Prescriptions of anakinra under L.648 and what follows them."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class TocilizumabShortage(models.Model):
    """A period in which AIFA records tocilizumab as in shortage.

    Determina AIFA 114586/2021 lists anakinra "nel caso di carenza del medicinale
    tocilizumab": the TOCILIZUMAB_SHORTAGE criterion needs a period covering the
    assessment date. Managed by the national role.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to (included)"), null=True, blank=True)
    aifa_reference = models.CharField(_("AIFA reference"), max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("tocilizumab shortage")
        verbose_name_plural = _("tocilizumab shortages")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="shortage_period_ordered",
            )
        ]

    def __str__(self):
        return f"{self.starts_on}–{self.ends_on or '…'} ({self.aifa_reference})"
