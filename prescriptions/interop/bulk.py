"""FHIR Bulk Data Access (HL7 FHIR Bulk Data IG, system-level ``$export``) for regional data warehouses and AIFA.

The pattern: a kick-off (``GET /fhir/$export``, ``Prefer: respond-async``) answers 202 with a status URL in
``Content-Location``; polling that URL answers 202 with ``X-Progress`` while the export runs and 200 with the
manifest (``transactionTime``, ``request``, ``requiresAccessToken``, ``output``: one NDJSON file per resource
type, each line one R4 resource) once done; the files are downloaded with the same token.

Who and what:
* a regional officer exports their region's prescriptions, AIFA the nation's; nobody else (403). Only who asked
  polls and downloads (404 for anyone else).
* Pseudonymised, never an identity (DOMAIN.md): the bundles are built as for a regional officer (no name, no
  fiscal code). For a region, the Patient is identified by the registry's keyed pseudonym; for AIFA by the
  national pseudonym (the one of the quarterly file, ``national_pseudonym``), its ``id`` that pseudonym too and
  its birth date cut to the year.
* Each resource is exactly the one the prescription's FHIR bundle holds (prescriptions/interop/fhir.py), its
  references rewritten from the bundle's ``urn:uuid:`` to ``Type/id``, as NDJSON files hold them.
* ``_type`` limits the resource types; ``_since`` keeps the prescriptions registered, stopped or with a record
  written since then.

The kick-off is a service (``bulk_export_request``: checks, writes the job, audits, queues the task by its
registered name on commit); the task calls ``bulk_export_run``; reads are ``bulk_export_get``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.audit import audit_record
from registry.audit_actions import AuditAction
from registry.errors import InvalidInput
from registry.models import Role
from registry.permissions import PermissionDenied, actor_for
from registry.pseudonym import national_pseudonym

from ..models import (
    Administration,
    AdverseEvent,
    BulkExport,
    BulkExportStatus,
    ConcomitantMedicationRecord,
    Dispensation,
    LabResult,
    Outcome,
    Prescription,
)
from .capability import BULK_RESOURCE_TYPES
from .fhir import _narrative, prescription_bundle

logger = logging.getLogger(__name__)

NDJSON = "application/fhir+ndjson"
TASK = "prescriptions.tasks.generate_bulk_export"
NATIONAL_PSEUDONYM_SYSTEM = "urn:registro648:national-pseudonym"
BATCH = 200


# --- Kick-off and reads ---------------------------------------------------------------------------------------


def _scope(user) -> tuple[bool, str | None]:
    """(allowed, region code or None for the nation) of ``user``'s exports."""
    actor = actor_for(user)
    if actor.role == Role.REGIONAL_OFFICER and actor.region_id:
        return True, actor.region_id
    if actor.role == Role.NATIONAL:
        return True, None
    return False, None


def parse_types(raw: str | None) -> list[str]:
    if not raw:
        return list(BULK_RESOURCE_TYPES)
    types = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [name for name in types if name not in BULK_RESOURCE_TYPES]
    if unknown or not types:
        raise InvalidInput(
            {"_type": _("Unknown resource type: %(types)s. Allowed: %(allowed)s.")
             % {"types": ", ".join(unknown) or "''", "allowed": ", ".join(BULK_RESOURCE_TYPES)}}
        )  # fmt: skip
    return [name for name in BULK_RESOURCE_TYPES if name in types]


@transaction.atomic
def bulk_export_request(*, user, request_url: str, resource_types: list[str], since: datetime | None) -> BulkExport:
    """A regional officer's (their region) or AIFA's (the nation) bulk export, queued for the worker."""
    allowed, region = _scope(user)
    if not allowed:
        raise PermissionDenied(_("Bulk exports are for the regional officers (their region) and AIFA (the nation)."))
    now = timezone.now()
    if since is not None and since > now:
        raise InvalidInput({"_since": _("The moment cannot be in the future.")})
    export = BulkExport.objects.create(
        requested_by=user,
        requested_at=now,
        request_url=request_url[:1000],
        region_id=region,
        resource_types=resource_types,
        since=since,
    )
    audit_record(
        actor=user,
        action=AuditAction.FHIR_BULK_EXPORT,
        obj=export,
        created=True,
        changes={"region": region, "resource_types": resource_types, "since": since},
    )
    transaction.on_commit(lambda: _queue(str(export.pk)))
    return export


def _queue(export_id: str) -> None:
    """Send the task by its registered name. The broker unreachable is no 500 for a request already committed:
    the export stays queued (its status says so) until the purge removes it."""
    try:
        current_app.signature(TASK, args=[export_id]).delay()
    except Exception:  # noqa: BLE001 - kombu raises many kinds of connection error
        logger.exception("bulk export %s could not be queued", export_id)


def bulk_export_get(*, user, export_id) -> BulkExport | None:
    """The export, to the one who asked for it only."""
    return BulkExport.objects.filter(pk=export_id, requested_by=user).first()


@transaction.atomic
def bulk_export_delete(*, export: BulkExport) -> None:
    """Cancel (or clean up) an export: its files and its job go; a worker still on it finds nothing to finish."""
    for item in export.files:
        default_storage.delete(item["name"])
    audit_record(actor=export.requested_by, action=AuditAction.FHIR_BULK_EXPORT_DELETE, obj=export, changes={})
    export.delete()


def bulk_exports_purge(*, now: datetime | None = None) -> int:
    """Delete the exports (files and jobs) finished more than ``FHIR_BULK_EXPORT_TTL_HOURS`` ago, and those asked
    for more than twice that ago and never finished; how many went. Hourly (beat)."""
    now = now or timezone.now()
    ttl = timedelta(hours=settings.FHIR_BULK_EXPORT_TTL_HOURS)
    expired = BulkExport.objects.filter(Q(finished_at__lt=now - ttl) | Q(requested_at__lt=now - 2 * ttl))
    count = 0
    for export in expired:
        for item in export.files:
            default_storage.delete(item["name"])
        export.delete()
        count += 1
    return count


def file_path(export: BulkExport, resource_type: str) -> str:
    return f"fhir-bulk/{export.pk}/{resource_type}.ndjson"


# --- The work (Celery task) -----------------------------------------------------------------------------------


def _prescriptions(export: BulkExport):
    prescriptions = Prescription.objects.all()
    if export.region_id:
        prescriptions = prescriptions.filter(centre__region_id=export.region_id)
    if export.since is not None:
        since = export.since
        changed = Q(registered_at__gte=since) | Q(stopped_at__gte=since)
        for name in (
            "dispensations",
            "administrations",
            "adverse_events",
            "lab_results",
            "outcomes",
            "concomitant_medications",
        ):
            changed |= Q(**{f"{name}__recorded_at__gte": since}) | Q(**{f"{name}__entered_in_error_at__gte": since})
        prescriptions = prescriptions.filter(pk__in=Prescription.objects.filter(changed).values("pk"))
    return (
        prescriptions.select_related("centre", "patient", "prescriber")
        .prefetch_related(
            Prefetch("dispensations", queryset=Dispensation.objects.select_related("recorded_by")),
            Prefetch("administrations", queryset=Administration.objects.select_related("recorded_by")),
            Prefetch("adverse_events", queryset=AdverseEvent.objects.select_related("recorded_by")),
            Prefetch("lab_results", queryset=LabResult.objects.select_related("recorded_by")),
            Prefetch("outcomes", queryset=Outcome.objects.select_related("recorded_by")),
            Prefetch(
                "concomitant_medications", queryset=ConcomitantMedicationRecord.objects.select_related("recorded_by")
            ),
        )
        .order_by("prescribed_at", "pk")
    )


def bulk_resources(prescription, *, national: bool, now: datetime) -> list[dict]:
    """The resources of one prescription as a bulk file holds them: ``Type/id`` references, pseudonymised."""
    bundle = prescription_bundle(prescription, now=now)
    targets = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    resources = [entry["resource"] for entry in bundle["entry"]]
    if national:
        (patient,) = (r for r in resources if r["resourceType"] == "Patient")
        pseudonym = national_pseudonym(prescription.patient.pseudonym)
        patient["id"] = pseudonym
        patient["identifier"] = [{"system": NATIONAL_PSEUDONYM_SYSTEM, "value": pseudonym}]
        patient["birthDate"] = patient["birthDate"][:4]
        patient["text"] = _narrative({k: v for k, v in patient.items() if k != "text"})
    return [_relative(resource, targets) for resource in resources]


def _relative(value, targets: dict):
    """``{"reference": "urn:uuid:X", "type": T}`` → ``{"reference": "T/id"}`` everywhere in ``value``."""
    if isinstance(value, list):
        return [_relative(item, targets) for item in value]
    if not isinstance(value, dict):
        return value
    result = {key: _relative(item, targets) for key, item in value.items()}
    reference = result.get("reference")
    if isinstance(reference, str) and reference in targets:
        target = targets[reference]
        result["reference"] = f"{target['resourceType']}/{target['id']}"
    return result


def bulk_export_run(export_id: str) -> str:
    """Write the export's NDJSON files (one per resource type with any resource) and its manifest's facts."""
    with transaction.atomic():
        export = BulkExport.objects.select_for_update().filter(pk=export_id).first()
        if export is None or export.status in (BulkExportStatus.DONE, BulkExportStatus.FAILED):
            return "gone" if export is None else export.status
        export.status = BulkExportStatus.RUNNING
        export.transaction_time = timezone.now()
        export.progress = 0
        export.save(update_fields=["status", "transaction_time", "progress"])
    try:
        files = _write_files(export)
    except Exception as exc:  # noqa: BLE001 - any failure is the export's, told to who asked
        BulkExport.objects.filter(pk=export.pk).update(
            status=BulkExportStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        raise
    BulkExport.objects.filter(pk=export.pk).update(
        status=BulkExportStatus.DONE, progress=100, files=files, finished_at=timezone.now()
    )
    return BulkExportStatus.DONE


def _write_files(export: BulkExport) -> list[dict]:
    national = export.region_id is None
    prescriptions = _prescriptions(export)
    total = prescriptions.count() or 1
    wanted = set(export.resource_types)
    now = export.transaction_time
    seen: set[tuple[str, str]] = set()
    counts = dict.fromkeys(BULK_RESOURCE_TYPES, 0)
    with tempfile.TemporaryDirectory() as folder:
        handles = {name: open(Path(folder) / f"{name}.ndjson", "w", encoding="utf-8") for name in wanted}  # noqa: SIM115
        try:
            for index, prescription in enumerate(prescriptions.iterator(chunk_size=BATCH), start=1):
                for resource in bulk_resources(prescription, national=national, now=now):
                    kind = resource["resourceType"]
                    key = (kind, resource["id"])
                    if kind not in wanted or key in seen:
                        continue  # a patient with two prescriptions is written once
                    seen.add(key)
                    handles[kind].write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")
                    counts[kind] += 1
                if index % BATCH == 0:
                    BulkExport.objects.filter(pk=export.pk).update(progress=min(99, index * 100 // total))
        finally:
            for handle in handles.values():
                handle.close()
        files = []
        for name in BULK_RESOURCE_TYPES:
            if name not in wanted or not counts[name]:
                continue
            path = Path(folder) / f"{name}.ndjson"
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            with path.open("rb") as handle:
                default_storage.delete(file_path(export, name))
                stored = default_storage.save(file_path(export, name), File(handle))
            files.append({"type": name, "name": stored, "count": counts[name], "sha256": digest})
    return files
