"""FHIR Bulk Data ``$export`` (docs/api.md, "FHIR bulk export"): kick-off, status polling, NDJSON files per
resource type, pseudonymised, a region for its officer and the nation for AIFA.

Every NDJSON line is parsed as an R4 resource by fhir.resources (R4B models) and by fhirclient's FHIR 4.0.1
models (strict). The last test runs the export on a
real Celery worker consuming from Redis (``@pytest.mark.services``).
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from celery.signals import task_postrun
from django.core.files.storage import default_storage
from django.core.management import call_command
from fhir.resources.R4B import get_fhir_model_class
from fhirclient.models.fhirelementfactory import FHIRElementFactory
from rest_framework.test import APIClient

from prescriptions.interop import bulk
from prescriptions.models import BulkExport, Prescription
from registry.auth.tokens import token_issue
from registry.models import AccessLog, AuditEvent
from reports import national
from tests.demo_snapshot import history_build

KICK_OFF = "/fhir/$export"
ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


@pytest.fixture
def history(demo, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    history_build()
    return demo


def kick_off(client, query: str = "", capture=None):
    if capture is None:
        return client.get(KICK_OFF + query, **ASYNC)
    with capture(execute=True):
        return client.get(KICK_OFF + query, **ASYNC)


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


def ndjson_resources(client, manifest: dict) -> dict[str, list[dict]]:
    """{type: [resource, …]} of every output file, each line parsed as an R4 resource."""
    files = {}
    for output in manifest["output"]:
        response = client.get(path_of(output["url"]))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/fhir+ndjson"
        lines = b"".join(response.streaming_content).decode().splitlines()
        assert len(lines) == output["count"]
        resources = []
        for line in lines:
            resource = json.loads(line)
            assert resource["resourceType"] == output["type"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            FHIRElementFactory.instantiate(resource["resourceType"], resource)  # FHIR 4.0.1, strict
            resources.append(resource)
        files[output["type"]] = resources
    return files


def references(value):
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield value["reference"]
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def test_a_regional_officer_exports_their_region(client_for, history, django_capture_on_commit_callbacks):
    client = client_for("officer.lombardia")
    response = kick_off(client, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 202
    status_url = path_of(response["Content-Location"])
    assert status_url.startswith("/fhir/bulk-status/")

    response = client.get(status_url)
    assert response.status_code == 200
    manifest = response.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith(KICK_OFF)
    assert manifest["error"] == []
    files = ndjson_resources(client, manifest)

    milan = Prescription.objects.filter(centre__region_id="030")
    assert {r["id"] for r in files["MedicationRequest"]} == {str(p.pk) for p in milan}
    patients = {p.patient.pseudonym for p in milan}
    assert {r["identifier"][0]["value"] for r in files["Patient"]} == patients
    assert all("name" not in r and len(r["identifier"]) == 1 for r in files["Patient"])
    # References are Type/id and resolve to a resource of the export (or a contained one).
    ids = {f"{kind}/{r['id']}" for kind, resources in files.items() for r in resources}
    for resources in files.values():
        for resource in resources:
            for target in references({k: v for k, v in resource.items() if k != "contained"}):
                assert target.startswith("#") or target in ids, target
    text = json.dumps(files)
    assert "urn:uuid:" not in text
    assert not AccessLog.objects.filter(kind="fhir.bulk_file").exclude(username="officer.lombardia").exists()
    assert AccessLog.objects.filter(kind="fhir.bulk_file").count() == len(manifest["output"])
    assert AuditEvent.objects.filter(action="fhir.bulk_export", actor_username="officer.lombardia").count() == 1


def test_aifa_exports_the_nation_under_the_national_pseudonym(client_for, history, django_capture_on_commit_callbacks):
    client = client_for("aifa")
    response = kick_off(client, "?_type=Patient,AdverseEvent", capture=django_capture_on_commit_callbacks)
    assert response.status_code == 202
    manifest = client.get(path_of(response["Content-Location"])).json()
    files = ndjson_resources(client, manifest)
    assert set(files) <= {"Patient", "AdverseEvent"}
    regions = set(Prescription.objects.values_list("centre__region_id", flat=True))
    assert regions == {"030", "120"}
    pseudonyms = set(Prescription.objects.values_list("patient__pseudonym", flat=True))
    assert len(files["Patient"]) == len(pseudonyms)
    # The national pseudonym is the quarterly per-patient file's: AIFA links the two.
    assert {p["id"] for p in files["Patient"]} == {national.national_pseudonym(p) for p in pseudonyms}
    for patient in files["Patient"]:
        assert patient["identifier"][0]["system"] == "urn:registro648:national-pseudonym"
        assert patient["id"] == patient["identifier"][0]["value"]
        assert patient["id"] not in pseudonyms
        assert len(patient["birthDate"]) == 4
    assert not set(json.dumps(files).split('"')) & pseudonyms


@pytest.mark.parametrize("username", ["prescriber.milano", "nurse.milano", "pharmacist.milano"])
def test_only_officers_and_aifa_export(client_for, history, username):
    response = kick_off(client_for(username))
    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"
    assert not BulkExport.objects.exists()


def test_bad_requests_name_their_parameter(client_for, history):
    client = client_for("officer.lombardia")
    response = client.get(KICK_OFF)  # no Prefer: respond-async
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert "Prefer" in response.content.decode()
    for query, field in (
        ("?_type=Practitioner", "_type"),
        ("?_since=yesterday", "_since"),
        ("?_outputFormat=csv", "_outputFormat"),
    ):
        response = kick_off(client, query)
        assert response.status_code == 400, query
        assert field in response.content.decode()
    assert not BulkExport.objects.exists()


def test_only_who_asked_polls_and_downloads(client_for, history, django_capture_on_commit_callbacks):
    response = kick_off(client_for("officer.lombardia"), capture=django_capture_on_commit_callbacks)
    status_url = path_of(response["Content-Location"])
    manifest = client_for("officer.lombardia").get(status_url).json()
    other = client_for("officer.lazio")
    assert other.get(status_url).status_code == 404
    assert other.get(path_of(manifest["output"][0]["url"])).status_code == 404
    assert APIClient().get(status_url).status_code == 401


def test_polling_while_queued_and_cancelling(client_for, history):
    client = client_for("officer.lombardia")
    response = kick_off(client)  # the task is queued on commit: never run here
    status_url = path_of(response["Content-Location"])
    response = client.get(status_url)
    assert response.status_code == 202
    assert response["X-Progress"] == "0% (queued)"
    assert client.delete(status_url).status_code == 202
    assert client.get(status_url).status_code == 404


def test_an_unreachable_broker_is_no_server_error(client_for, history, django_capture_on_commit_callbacks, monkeypatch):
    from celery.canvas import Signature
    from kombu.exceptions import OperationalError

    def refuse(self, *args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(Signature, "delay", refuse)
    client = client_for("officer.lombardia")
    response = kick_off(client, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 202
    response = client.get(path_of(response["Content-Location"]))
    assert response.status_code == 202
    assert response["X-Progress"] == "0% (queued)"


def test_exports_past_their_time_are_purged(client_for, history, django_capture_on_commit_callbacks, settings):
    response = kick_off(client_for("officer.lombardia"), capture=django_capture_on_commit_callbacks)
    export = BulkExport.objects.get()
    names = [item["name"] for item in export.files]
    assert names and all(default_storage.exists(name) for name in names)
    assert bulk.bulk_exports_purge() == 0
    later = export.finished_at + timedelta(hours=settings.FHIR_BULK_EXPORT_TTL_HOURS, minutes=1)
    assert bulk.bulk_exports_purge(now=later) == 1
    assert not BulkExport.objects.exists()
    assert not any(default_storage.exists(name) for name in names)
    assert client_for("officer.lombardia").get(path_of(response["Content-Location"])).status_code == 404


def test_since_keeps_what_changed(client_for, history, django_capture_on_commit_callbacks):
    client = client_for("officer.lombardia")
    latest = Prescription.objects.filter(centre__region_id="030").order_by("-registered_at").first()
    since = latest.registered_at.isoformat()
    response = kick_off(client, f"?_type=MedicationRequest&_since={since.replace('+', '%2B')}",
                        capture=django_capture_on_commit_callbacks)  # fmt: skip
    assert response.status_code == 202, response.content
    files = ndjson_resources(client, client.get(path_of(response["Content-Location"])).json())
    exported = {r["id"] for r in files.get("MedicationRequest", [])}
    assert str(latest.pk) in exported
    assert len(exported) < Prescription.objects.filter(centre__region_id="030").count()


# --- On a real worker -------------------------------------------------------------------------------------------


class FinishedExports:
    def __init__(self):
        self.finished: set[str] = set()
        self.condition = threading.Condition()

    def __call__(self, task=None, args=None, retval=None, **kwargs):
        if getattr(task, "name", None) == "prescriptions.tasks.generate_bulk_export":
            with self.condition:
                self.finished.add(str(args[0]))
                self.condition.notify_all()

    def wait_for(self, export_id: str, timeout: float) -> bool:
        with self.condition:
            return self.condition.wait_for(lambda: export_id in self.finished, timeout)


@pytest.mark.services
def test_a_worker_runs_a_regions_bulk_export(live_celery_worker, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call_command("seed_demo", force=True, history=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    finished = FinishedExports()
    task_postrun.connect(finished, weak=False)
    try:
        from django.contrib.auth import get_user_model

        officer = get_user_model().objects.get(username="officer.lombardia")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=officer)}")
        response = client.get(KICK_OFF, **ASYNC)
        assert response.status_code == 202
        status_url = path_of(response["Content-Location"])
        export_id = status_url.rsplit("/", 1)[1]
        assert finished.wait_for(export_id, timeout=120), "the worker did not finish the export"
        response = client.get(status_url)
        assert response.status_code == 200, response.content
        files = ndjson_resources(client, response.json())
        assert {"Patient", "MedicationRequest"} <= set(files)
        assert len(files["MedicationRequest"]) == Prescription.objects.filter(centre__region_id="030").count()
    finally:
        task_postrun.disconnect(finished)


def test_beat_purges_the_exports_hourly(settings):
    from registry.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["fhir-bulk-purge"]
    assert entry["task"] in app.tasks
    assert "prescriptions.tasks.generate_bulk_export" in app.tasks
