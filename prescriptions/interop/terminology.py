"""The registry's own FHIR code systems, published as ``CodeSystem`` resources at stable canonical URLs.

What has no standard code (the eligibility criteria, the alerts, the stop reasons, the adverse-event categories,
suPAR and the WHO-CPS observations) is coded in one of these systems. Each system's ``url`` is its canonical
URL, ``{FHIR_BASE_URL}/CodeSystem/{name}``, and the registry answers that URL with the resource (``GET
/fhir/CodeSystem/{name}``, prescriptions/api/interop.py), so a validator or a data warehouse can resolve every
code it meets. The concepts are read from the enums the registry itself judges by: a new criterion or alert is
published the day it ships, and a code is never removed (``content`` is ``complete``).

Pure: settings in, JSON-ready dicts out.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from django.conf import settings
from django.utils import translation

from ..codes import AlertCode
from ..eligibility.types import CriterionCode
from ..models import AdverseEventCategory, RefusalCategory, StopReason

CODE_SYSTEM_VERSION = "1.0.0"
PUBLISHER = "Registro 648 (anakinra, Law 648/96)"


def fhir_base() -> str:
    """The FHIR base URL the registry is reached at (``FHIR_BASE_URL``, without a trailing slash)."""
    return settings.FHIR_BASE_URL.rstrip("/")


def canonical(name: str) -> str:
    return f"{fhir_base()}/CodeSystem/{name}"


@dataclass(frozen=True)
class Concept:
    code: str
    display: str
    definition: str = ""


@dataclass(frozen=True)
class LocalCodeSystem:
    name: str  # the last segment of the canonical URL
    title: str
    description: str
    concepts: tuple[Concept, ...]


def _alert_concepts() -> tuple[Concept, ...]:
    displays = {
        AlertCode.MISSED_DOSE: "Missed dose",
        AlertCode.NEUTROPENIA: "Neutropenia (ANC below the threshold)",
        AlertCode.HEPATIC: "Liver enzymes above the threshold",
        AlertCode.PROTOCOL_DEVIATION: "Dose other than the regimen prescribed",
        AlertCode.OUTCOME_OVERDUE: "Outcome at day 14 or 28 overdue",
        AlertCode.COMEDICATION_IL_JAK: "Interleukin or JAK inhibitor started during the course",
        AlertCode.COMEDICATION_UNRECOGNISED: "Medicine started during the course not recognised",
        AlertCode.SERIOUS_INFECTION: "Serious infection during the course",
    }
    return tuple(
        Concept(code.value, displays.get(code, code.value.replace("_", " ").capitalize())) for code in AlertCode
    )


def _criterion_concepts() -> tuple[Concept, ...]:
    return tuple(Concept(code.value, code.value.replace("_", " ").capitalize()) for code in CriterionCode)


def _choices(choices) -> tuple[Concept, ...]:
    with translation.override("en"):
        return tuple(Concept(value, str(label)) for value, label in choices.choices)


def _observation_concepts() -> tuple[Concept, ...]:
    return (
        Concept("supar", "suPAR (soluble urokinase plasminogen activator receptor), plasma"),
        Concept("who-cps-day-14", "WHO Clinical Progression Scale at day 14"),
        Concept("who-cps-day-28", "WHO Clinical Progression Scale at day 28"),
        Concept("icu-admission", "ICU admission by that day of the course"),
        Concept(
            "severe-respiratory-failure",
            "Severe respiratory failure (PaO2/FiO2 < 150, NIV or ventilation) by that day of the course",
        ),
        Concept("sars-cov-2-test", "SARS-CoV-2 test of a type without a LOINC code"),
    )


def code_systems() -> dict[str, LocalCodeSystem]:
    systems = (
        LocalCodeSystem(
            "criterion",
            "Eligibility criteria",
            "The criteria of the AIFA listing (Determina 114586/2021) a request for anakinra is judged by.",
            _criterion_concepts(),
        ),
        LocalCodeSystem("alert", "Course alerts", "Alerts the registry raises during a course.", _alert_concepts()),
        LocalCodeSystem("stop-reason", "Stop reasons", "Why a course was stopped or cancelled.", _choices(StopReason)),
        LocalCodeSystem(
            "refusal-category",
            "Refusal categories",
            "Why a hospital pharmacy refused to dispense a request.",
            _choices(RefusalCategory),
        ),
        LocalCodeSystem(
            "adverse-event-category",
            "Adverse-event categories",
            "The categories of adverse event the registry follows for anakinra.",
            _choices(AdverseEventCategory),
        ),
        LocalCodeSystem(
            "observation",
            "Registry observations",
            "Observations with no LOINC code: suPAR, the WHO-CPS outcomes and their components.",
            _observation_concepts(),
        ),
    )
    return {system.name: system for system in systems}


def code_system_resource(system: LocalCodeSystem) -> dict:
    rows = "".join(f"<tr><td>{c.code}</td><td>{escape(c.display)}</td></tr>" for c in system.concepts)
    return {
        "resourceType": "CodeSystem",
        "id": system.name,
        "text": {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{escape(system.title)}: '
            f"{escape(system.description)}</p><table><tr><th>Code</th><th>Display</th></tr>{rows}</table></div>",
        },
        "url": canonical(system.name),
        "version": CODE_SYSTEM_VERSION,
        "name": "".join(part.capitalize() for part in system.name.split("-")),
        "title": system.title,
        "status": "active",
        "experimental": False,
        "publisher": PUBLISHER,
        "description": system.description,
        "caseSensitive": True,
        "content": "complete",
        "count": len(system.concepts),
        "concept": [
            {"code": c.code, "display": c.display, **({"definition": c.definition} if c.definition else {})}
            for c in system.concepts
        ],
    }
