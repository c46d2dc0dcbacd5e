"""Which catalogued medicines still count as concomitant on the assessment date.

A medicine counts while ongoing and until its washout window has passed since its last dose (DOMAIN.md,
"Washout"): on board means ``assessed_at < last_dose_at + washout``, so the instant the window closes it no
longer counts. A window of N days is N × 24 hours of elapsed time, whatever the clocks did in between
(daylight saving) and whatever zone each moment was written in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from .catalogue import Catalogue, CatalogueMatch
from .types import Assessment, ConcomitantMedication


class ExposureStatus(StrEnum):
    ONGOING = "ongoing"
    UNDATED = "undated"  # neither ongoing nor a last dose given: counted, prudently, as ongoing
    INSIDE_WINDOW = "inside_window"
    OUTSIDE_WINDOW = "outside_window"


@dataclass(frozen=True)
class Exposure:
    medication: ConcomitantMedication
    match: CatalogueMatch
    status: ExposureStatus
    window_ends_at: datetime | None

    @property
    def counts(self) -> bool:
        return self.status is not ExposureStatus.OUTSIDE_WINDOW


def exposure_of(medication: ConcomitantMedication, match: CatalogueMatch, assessed_at: datetime) -> Exposure:
    if medication.ongoing:
        return Exposure(medication, match, ExposureStatus.ONGOING, None)
    if medication.last_dose_at is None:
        return Exposure(medication, match, ExposureStatus.UNDATED, None)
    # In UTC: Python adds a timedelta to a zoned datetime on the wall clock, not in elapsed time.
    window_ends_at = medication.last_dose_at.astimezone(UTC) + timedelta(days=match.washout_days)
    status = ExposureStatus.INSIDE_WINDOW if assessed_at < window_ends_at else ExposureStatus.OUTSIDE_WINDOW
    return Exposure(medication, match, status, window_ends_at)


@dataclass(frozen=True)
class MedicationReview:
    """The concomitant medications sorted once per evaluation: exposures to catalogued ones, and the rest."""

    exposures: tuple[Exposure, ...]
    not_in_catalogue: tuple[ConcomitantMedication, ...]

    def for_criterion(self, criterion: str) -> tuple[Exposure, ...]:
        return tuple(exposure for exposure in self.exposures if exposure.match.drug_class.criterion == criterion)


def review_medications(assessment: Assessment, catalogue: Catalogue) -> MedicationReview:
    exposures: list[Exposure] = []
    not_in_catalogue: list[ConcomitantMedication] = []
    for medication in assessment.concomitant_medications:
        matches = catalogue.identify(medication)
        if not matches:
            not_in_catalogue.append(medication)
        exposures.extend(exposure_of(medication, match, assessment.assessed_at) for match in matches)
    return MedicationReview(tuple(exposures), tuple(not_in_catalogue))
