"""Medicines started during the course: recorded, classified by the catalogue, and alerted when not allowed.

The catalogue is the one of the criteria version the prescription was judged by (``versions/*.json``): the same
names, brands and ATC codes that the submission's NO_IL_OR_JAK_INHIBITOR criterion reads. An interleukin or JAK
inhibitor started during an L.648 course is a co-administration the listing does not allow (CTS 23/09/2021):
the record stands, and the prescription carries the blocking alert ``COMEDICATION_IL_JAK`` until the course is
stopped or the record is marked entered in error.
"""

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.calendar import rome_date
from registry.errors import InvalidInput
from registry.formats import long_date

from .. import eligibility, events, notices
from ..course import workflow
from ..course.alerts import comedication_alert
from ..eligibility.catalogue import normalise_atc
from ..models import ConcomitantMedicationRecord, Prescription, PrescriptionStatus
from ..permissions import ensure_may
from ._common import _lock, ensure_prescription_period_open

IL_JAK_CRITERION = eligibility.CriterionCode.NO_IL_OR_JAK_INHIBITOR


@dataclass(frozen=True)
class Classification:
    """What the catalogue recognised a medicine as: its drug classes and substances (empty: not recognised)."""

    drug_classes: tuple[str, ...]
    substances: tuple[str, ...]
    il_jak_inhibitor: bool

    @property
    def recognised(self) -> bool:
        return bool(self.drug_classes)


def comedication_classify(*, criteria_version: str, name: str, atc_code: str = "") -> Classification:
    """The catalogue's reading of a medicine, by name, brand or ATC code (a code in a blocking class's ATC
    prefix blocks even when the catalogue names no substance for it)."""
    catalogue = eligibility.criteria_version(criteria_version).catalogue
    matches = catalogue.identify(eligibility.ConcomitantMedication(name=name or None, atc_code=atc_code or None))
    drug_classes = tuple(dict.fromkeys(match.drug_class.key for match in matches))
    substances = tuple(dict.fromkeys(match.substance.name for match in matches if match.substance is not None))
    il_jak = any(match.drug_class.criterion == IL_JAK_CRITERION for match in matches)
    return Classification(drug_classes=drug_classes, substances=substances, il_jak_inhibitor=il_jak)


def course_last_day(prescription: Prescription) -> date | None:
    """The last Rome day of an ended course (the 10th dose's, or the stop's); None while it runs."""
    if prescription.status == PrescriptionStatus.COMPLETED:
        return prescription.last_dose_on
    if prescription.stopped_at is not None:
        return rome_date(prescription.stopped_at)
    return None


@transaction.atomic
def concomitant_medication_record(
    *,
    user,
    prescription: Prescription,
    name: str,
    started_on: date,
    atc_code: str = "",
    dose: str = "",
    confirmed_not_il_jak: bool = False,
) -> ConcomitantMedicationRecord:
    """Record a medicine started during the course, as the catalogue classifies it (audited).

    400 when it started in the future, before the prescription (it belongs to the assessment's concomitant
    medications) or after the course ended, or when an interleukin or JAK inhibitor is "confirmed" not to be one.
    """
    prescription = _lock(prescription)
    now = timezone.now()
    ensure_may(user, prescription, workflow.COMEDICATION, today=rome_date(now))
    workflow.require_status(prescription, workflow.COMEDICATION)
    name, atc_code, dose = name.strip(), normalise_atc(atc_code), dose.strip()
    if started_on > rome_date(now):
        raise InvalidInput({"started_on": _("A medicine cannot be started in the future.")})
    if started_on < rome_date(prescription.prescribed_at):
        raise InvalidInput(
            {
                "started_on": _(
                    "Started before the prescription: it belongs to the assessment's concomitant medications."
                )
            }
        )
    last_day = course_last_day(prescription)
    if last_day is not None and started_on > last_day:
        raise InvalidInput(
            {
                "started_on": _("The course ended on %(day)s: this medicine was not started during it.")
                % {"day": long_date(last_day)}
            }
        )
    ensure_prescription_period_open(prescription, started_on)
    classification = comedication_classify(criteria_version=prescription.criteria_version, name=name, atc_code=atc_code)
    if confirmed_not_il_jak and classification.il_jak_inhibitor:
        raise InvalidInput(
            {
                "confirmed_not_il_jak": _(
                    "The catalogue recognises this medicine as an interleukin or JAK inhibitor: it cannot be "
                    "confirmed otherwise."
                )
            }
        )
    record = ConcomitantMedicationRecord.objects.create(
        prescription=prescription,
        name=name,
        atc_code=atc_code,
        started_on=started_on,
        dose=dose,
        drug_classes=list(classification.drug_classes),
        substances=list(classification.substances),
        il_jak_inhibitor=classification.il_jak_inhibitor,
        # A recognised medicine needs no confirmation; only an unrecognised one keeps it.
        confirmed_not_il_jak=confirmed_not_il_jak and not classification.recognised,
        recorded_by=user,
        recorded_at=now,
    )
    events.concomitant_medication_recorded(user, prescription, record)
    notices.blocking_alert(prescription, comedication_alert(record), record_key=f"concomitant_medication:{record.pk}")
    return record
