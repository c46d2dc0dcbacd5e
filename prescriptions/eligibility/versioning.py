"""Criteria versions: each listing's thresholds, regimen and catalogue, as data tied to its legal act.

AIFA revises listings, so every verdict names the version it was judged by (DOMAIN.md, "Criteria change over
time"). A version is one JSON file in ``versions/``; adding one needs no change to the rules' code. The shipped
files are loaded and checked once, at import: a malformed file or two versions in force on the same day stop
the registry from starting rather than judging a patient by the wrong rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType

from .calendar import rome_date
from .catalogue import AtcCodeRecognition, Catalogue, DrugClass, Substance, normalise_atc
from .types import ALL_CRITERION_CODES, Pneumonia, Regimen, RespiratorySupport

VERSIONS_DIR = Path(__file__).resolve().parent / "versions"


class NoCriteriaInForce(ValueError):
    """No criteria version is in force on the date asked about (for instance before the listing began)."""


class InvalidCriteriaVersion(ValueError):
    """A criteria version's data is inconsistent, or versions overlap."""


@dataclass(frozen=True)
class Thresholds:
    adult_age_years: int
    # CTS 23/09/2021 "pO2/FiO2>150": strictly above.
    pao2_fio2_above_mmhg: Decimal
    # CTS 23/09/2021 "suPAR ≥ 6ng/ml": the threshold itself passes.
    supar_at_least_ng_ml: Decimal
    # Kineret SmPC: do not start below 1.5 ×10⁹/L.
    anc_at_least_10e9_l: Decimal
    # Warn below this clearance (Kineret SmPC / US label).
    creatinine_clearance_below_ml_min: Decimal
    # Warn at or above this multiple of the upper limit of normal (Kineret SmPC).
    liver_enzymes_at_least_x_uln: Decimal


@dataclass(frozen=True)
class CriteriaVersion:
    identifier: str
    legal_act: str
    valid_from: date
    valid_to: date | None  # last day in force, included; None while in force
    thresholds: Thresholds
    pneumonia_eligible: tuple[str, ...]
    respiratory_support_allowed: tuple[str, ...]
    regimen: Regimen
    requires_tocilizumab_shortage: bool
    listed_substance: str
    catalogue: Catalogue
    sources: Mapping[str, str] = field(hash=False)
    # Also accepted when creatinine clearance is below ``thresholds.creatinine_clearance_below_ml_min``
    # (Kineret SmPC: 100 mg every other day in severe renal impairment); None: no such alternative.
    renal_regimen: Regimen | None = None

    def accepted_regimens(self, creatinine_clearance_ml_min: Decimal | None) -> tuple[Regimen, ...]:
        """The regimens REGIMEN_648 accepts for a patient with this clearance (None: not measured)."""
        renal = (
            self.renal_regimen is not None
            and creatinine_clearance_ml_min is not None
            and creatinine_clearance_ml_min < self.thresholds.creatinine_clearance_below_ml_min
        )
        return (self.regimen, self.renal_regimen) if renal and self.renal_regimen else (self.regimen,)

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def source(self, code: str) -> str:
        return self.sources[code]

    def validate(self) -> None:
        """Raise ``InvalidCriteriaVersion`` unless the version can judge every criterion."""
        problems = []
        if self.valid_to is not None and self.valid_to < self.valid_from:
            problems.append("valid_to is before valid_from")
        missing = [code for code in ALL_CRITERION_CODES if not self.sources.get(code)]
        if missing:
            problems.append(f"no source for {', '.join(missing)}")
        unknown = set(self.sources) - set(ALL_CRITERION_CODES)
        if unknown:
            problems.append(f"sources for unknown codes {', '.join(sorted(unknown))}")
        if not set(self.pneumonia_eligible) <= set(Pneumonia):
            problems.append("pneumonia_eligible names an unknown severity")
        if not set(self.respiratory_support_allowed) <= set(RespiratorySupport):
            problems.append("respiratory_support_allowed names an unknown support")
        for drug_class in self.catalogue.drug_classes:
            if drug_class.criterion is not None and drug_class.criterion not in ALL_CRITERION_CODES:
                problems.append(f"drug class {drug_class.key} is judged by unknown code {drug_class.criterion}")
        try:
            self.catalogue.validate()
            self.catalogue.substance(self.listed_substance)
        except KeyError:
            problems.append(f"the listed substance {self.listed_substance!r} is not in the catalogue")
        except ValueError as error:
            problems.append(str(error))
        if problems:
            raise InvalidCriteriaVersion(f"{self.identifier}: {'; '.join(problems)}")


def validate_versions(versions: Sequence[CriteriaVersion]) -> tuple[CriteriaVersion, ...]:
    """Check each version and that no two are in force on the same day; return them oldest first."""
    ordered = tuple(sorted(versions, key=lambda version: version.valid_from))
    identifiers = [version.identifier for version in ordered]
    if len(set(identifiers)) != len(identifiers):
        raise InvalidCriteriaVersion(f"duplicate criteria version identifiers: {identifiers}")
    for version in ordered:
        version.validate()
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.valid_to is None or earlier.valid_to >= later.valid_from:
            raise InvalidCriteriaVersion(
                f"{earlier.identifier} ({earlier.valid_from} to {earlier.valid_to or 'open'}) overlaps "
                f"{later.identifier} (from {later.valid_from})"
            )
    return ordered


def criteria_in_force(moment: datetime | date, versions: Sequence[CriteriaVersion] | None = None) -> CriteriaVersion:
    """The version in force on the Rome calendar date of ``moment`` (an aware datetime, or a date).

    Raises ``NoCriteriaInForce`` when none is. ``versions`` defaults to the shipped ones; any other set is
    checked for overlaps first.
    """
    if isinstance(moment, datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("moment must be a timezone-aware datetime")
        day = rome_date(moment)
    else:
        day = moment
    candidates = SHIPPED_VERSIONS if versions is None else validate_versions(versions)
    for version in candidates:
        if version.in_force_on(day):
            return version
    raise NoCriteriaInForce(f"no eligibility criteria version is in force on {day.isoformat()}")


def criteria_version(identifier: str, versions: Sequence[CriteriaVersion] | None = None) -> CriteriaVersion:
    """The version with this identifier, for re-evaluating a stored verdict by the rules it was judged by."""
    for version in SHIPPED_VERSIONS if versions is None else versions:
        if version.identifier == identifier:
            return version
    raise KeyError(identifier)


# -- loading ------------------------------------------------------------------------------------------------


def _decimal(value: object, where: str) -> Decimal:
    # Thresholds are written as strings ("1.5") so that no float ever stands between the file and the rule.
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidCriteriaVersion(f"{where}: write decimals as strings, got {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation as error:
        raise InvalidCriteriaVersion(f"{where}: not a decimal: {value!r}") from error
    if not number.is_finite():
        raise InvalidCriteriaVersion(f"{where}: not a finite decimal: {value!r}")
    return number


def _date(value: object, where: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise InvalidCriteriaVersion(f"{where}: not a YYYY-MM-DD date: {value!r}") from error


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(value) for value in values)


def _regimen(regimen: Mapping, where: str) -> Regimen:
    return Regimen(
        dose_mg=_decimal(regimen["dose_mg"], f"{where}.dose_mg"),
        route=str(regimen["route"]).upper(),
        interval_hours=int(regimen["interval_hours"]),
        duration_days=int(regimen["duration_days"]),
    )


def _atc_code_recognition(data: Mapping | None) -> AtcCodeRecognition | None:
    if not data:
        return None
    return AtcCodeRecognition(
        drug_class=str(data["class"]),
        ambiguous_prefixes=tuple(normalise_atc(prefix) for prefix in data.get("ambiguous_prefixes", ())),
    )


def parse_version(data: Mapping) -> CriteriaVersion:
    """Build a ``CriteriaVersion`` from the JSON shape of ``versions/*.json`` (unchecked; see ``validate``)."""
    identifier = data.get("identifier", "?")
    try:
        thresholds = data["thresholds"]
        regimen = data["regimen"]
        catalogue = data["catalogue"]
        valid_from = _date(data["valid_from"], f"{identifier}.valid_from")
        if valid_from is None:
            raise InvalidCriteriaVersion(f"{identifier}: valid_from is required")
        return CriteriaVersion(
            identifier=str(data["identifier"]),
            legal_act=str(data["legal_act"]),
            valid_from=valid_from,
            valid_to=_date(data.get("valid_to"), f"{identifier}.valid_to"),
            thresholds=Thresholds(
                adult_age_years=int(thresholds["adult_age_years"]),
                pao2_fio2_above_mmhg=_decimal(thresholds["pao2_fio2_above_mmhg"], "pao2_fio2_above_mmhg"),
                supar_at_least_ng_ml=_decimal(thresholds["supar_at_least_ng_ml"], "supar_at_least_ng_ml"),
                anc_at_least_10e9_l=_decimal(thresholds["anc_at_least_10e9_l"], "anc_at_least_10e9_l"),
                creatinine_clearance_below_ml_min=_decimal(
                    thresholds["creatinine_clearance_below_ml_min"], "creatinine_clearance_below_ml_min"
                ),
                liver_enzymes_at_least_x_uln=_decimal(
                    thresholds["liver_enzymes_at_least_x_uln"], "liver_enzymes_at_least_x_uln"
                ),
            ),
            pneumonia_eligible=_strings(data["pneumonia_eligible"]),
            respiratory_support_allowed=_strings(data["respiratory_support_allowed"]),
            regimen=_regimen(regimen, "regimen"),
            renal_regimen=_regimen(data["renal_regimen"], "renal_regimen") if data.get("renal_regimen") else None,
            requires_tocilizumab_shortage=bool(data["requires_tocilizumab_shortage"]),
            listed_substance=str(data["listed_substance"]),
            catalogue=Catalogue(
                drug_classes=tuple(
                    DrugClass(
                        key=str(item["key"]),
                        criterion=item.get("criterion"),
                        atc_prefixes=tuple(normalise_atc(prefix) for prefix in item.get("atc_prefixes", ())),
                        default_washout_days=int(item["default_washout_days"]),
                        note=str(item.get("note", "")),
                        topical=bool(item.get("topical", False)),
                    )
                    for item in catalogue["drug_classes"]
                ),
                substances=tuple(
                    Substance(
                        name=str(item["name"]),
                        drug_class=str(item["class"]),
                        atc_codes=_strings(item["atc_codes"]),
                        synonyms=_strings(item.get("synonyms", ())),
                        brands=_strings(item.get("brands", ())),
                        washout_days=None if item.get("washout_days") is None else int(item["washout_days"]),
                        note=str(item.get("note", "")),
                        washout_source=str(item.get("washout_source", "")),
                        topical_form_of=item.get("topical_form_of"),
                    )
                    for item in catalogue["substances"]
                ),
                atc_code_recognition=_atc_code_recognition(catalogue.get("atc_code_recognition")),
                topical_words=_strings(catalogue.get("topical_words", ())),
            ),
            sources=MappingProxyType({str(code): str(source) for code, source in data["sources"].items()}),
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, InvalidCriteriaVersion):
            raise
        raise InvalidCriteriaVersion(f"{identifier}: malformed criteria version: {error!r}") from error


def load_versions(directory: Path = VERSIONS_DIR) -> tuple[CriteriaVersion, ...]:
    """Every ``*.json`` version in ``directory``, checked, oldest first."""
    versions = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise InvalidCriteriaVersion(f"{path.name}: {error}") from error
        version = parse_version(data)
        if path.stem != version.identifier:
            raise InvalidCriteriaVersion(f"{path.name} holds version {version.identifier}")
        versions.append(version)
    if not versions:
        raise InvalidCriteriaVersion(f"no criteria versions in {directory}")
    return validate_versions(versions)


SHIPPED_VERSIONS: tuple[CriteriaVersion, ...] = load_versions()
