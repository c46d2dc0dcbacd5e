"""What a quarter's data still lack before the officer approves them (the "incomplete" list of a submission).

Read-only, over the prescriptions the quarterly report counts (the region's, prescribed in the quarter, Rome days),
rejected requests aside. Each item names its code, the prescription and a message in the reader's language:

- ``WAITING_AT_PHARMACY``: still waiting at the pharmacy (never dispensed, not refused);
- ``COURSE_OPEN``: dispensed or under way: its course has not ended (completed, stopped or cancelled);
- ``DOSES_UNRECORDED``: the course ended as completed with fewer doses than its regimen's, none stopped it: the
  window closed on doses that were perhaps given and never recorded;
- ``OUTCOME_DAY28_MISSING``: treated, day 28 of the course is past, and no day-28 WHO-CPS is recorded.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from django.db.models import Exists, OuterRef
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from prescriptions.course.regimen import course_regimen
from prescriptions.models import Outcome, PrescriptionStatus
from registry.calendar import rome_date

from .metrics import cohort

# At most this many items are listed (a quarter that incomplete is far from ready; the count says how far).
MAX_ITEMS = 500


class IncompleteCode(StrEnum):
    OUTCOME_DAY28_MISSING = "OUTCOME_DAY28_MISSING"
    DOSES_UNRECORDED = "DOSES_UNRECORDED"
    COURSE_OPEN = "COURSE_OPEN"
    WAITING_AT_PHARMACY = "WAITING_AT_PHARMACY"


@dataclass(frozen=True)
class IncompleteItem:
    code: str
    prescription: str
    centre: str
    prescribed_on: date
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "prescription": self.prescription, "message": self.message}


def _day(day: date) -> str:
    return date_format(day, "SHORT_DATE_FORMAT")


def incomplete_items(*, region_code: str, period_start: date, period_end: date, today: date) -> list[IncompleteItem]:
    """The items still missing from the quarter's data, in centre and prescription order (at most ``MAX_ITEMS``)."""
    day28 = Outcome.objects.filter(prescription=OuterRef("pk"), day=28, entered_in_error_at__isnull=True)
    prescriptions = (
        cohort(region_code=region_code, period_start=period_start, period_end=period_end)
        .exclude(status=PrescriptionStatus.REJECTED)
        .annotate(has_day28=Exists(day28))
        .select_related("centre")
        .order_by("centre__name", "prescribed_at", "pk")
    )
    items: list[IncompleteItem] = []
    for prescription in prescriptions.iterator(chunk_size=500):
        for code, message in _missing(prescription, today=today):
            items.append(
                IncompleteItem(
                    code=code,
                    prescription=str(prescription.pk),
                    centre=prescription.centre.name,
                    prescribed_on=rome_date(prescription.prescribed_at),
                    message=message,
                )
            )
            if len(items) >= MAX_ITEMS:
                return items
    return items


def _missing(prescription, *, today: date) -> list[tuple[str, str]]:
    status = prescription.status
    if status == PrescriptionStatus.AWAITING_DISPENSING:
        return [(IncompleteCode.WAITING_AT_PHARMACY, _("Still waiting at the pharmacy: never dispensed."))]
    found = []
    if status in (PrescriptionStatus.DISPENSED, PrescriptionStatus.IN_COURSE):
        found.append((IncompleteCode.COURSE_OPEN, _("The course has not ended (neither completed nor stopped).")))
    if status == PrescriptionStatus.COMPLETED:
        doses = course_regimen(prescription).doses
        if prescription.doses_administered < doses:
            found.append(
                (
                    IncompleteCode.DOSES_UNRECORDED,
                    _("The course closed with %(given)d of %(doses)d doses recorded.")
                    % {"given": prescription.doses_administered, "doses": doses},
                )
            )
    if prescription.first_dose_on is not None and not prescription.has_day28:
        due = prescription.first_dose_on + timedelta(days=27)
        if due <= today:
            found.append(
                (
                    IncompleteCode.OUTCOME_DAY28_MISSING,
                    _("The day-28 outcome (due on %(day)s) is not recorded.") % {"day": _day(due)},
                )
            )
    return found
