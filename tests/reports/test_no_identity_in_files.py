"""Files that leave the region hold no patient's identity: neither the quarterly per-patient report nor the
monitoring report, in CSV, XLSX or PDF (DOMAIN.md, "The patient's identity")."""

import io
import re
import zipfile
import zlib

import pytest
from django.utils import timezone

from prescriptions.models import Prescription
from registry.models import Patient
from registry.patient_identity import patient_identity_store
from reports import periods
from reports.kinds import MONITORING, QUARTERLY_PATIENTS
from reports.models import ReportStatus

from .test_cohort import build_cohort
from .test_tasks import _files, _read, media_root, request_run  # noqa: F401 - fixtures

FISCAL_CODE = "ZNZBRT60A01F205X"
SECRETS = ("ZANZIBARELLI", "UBERTA", "REPARTO SEGRETO", "NOSO424242", FISCAL_CODE)


def _texts(fmt: str, content: bytes) -> str:
    """Everything readable in a file: the CSV as text, the XLSX's XML parts, the PDF's streams inflated."""
    if fmt == "xlsx":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    if fmt == "pdf":
        parts = [content.decode("latin-1")]
        for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S):
            try:
                parts.append(zlib.decompress(stream).decode("latin-1"))
            except zlib.error:
                continue
        return "".join(parts)
    return content.decode("utf-8-sig")


@pytest.fixture
def identified_cohort(demo):
    cohort = build_cohort(demo)
    for patient in Patient.objects.filter(prescriptions__in=Prescription.objects.all()).distinct():
        patient_identity_store(
            actor=None,
            patient=patient,
            centre_id=patient.prescriptions.first().centre_id,
            fiscal_code=FISCAL_CODE,
            values={
                "family_name": "Zanzibarelli",
                "given_name": "Uberta",
                "ward": "Reparto Segreto",
                "bed": "9",
                "admission_number": "NOSO424242",
            },
        )
    return cohort


@pytest.mark.parametrize("kind", [QUARTERLY_PATIENTS, MONITORING])
def test_the_regions_files_hold_no_identity(identified_cohort, request_run, kind):  # noqa: F811
    today = timezone.localdate()
    if kind == QUARTERLY_PATIENTS:
        start, end = periods.quarter_of(identified_cohort.period_end)
    else:
        start, end = periods.previous_month(today)

    run = request_run("officer.lombardia", "030", start, end, kind=kind)

    assert run.status == ReportStatus.DONE, run.error
    files = _files(run)
    assert set(files) == {"csv", "xlsx", "pdf"}
    for fmt, report_file in files.items():
        text = _texts(fmt, _read(report_file)).upper()
        assert "MILANO" in text or "LOMBARDIA" in text, fmt  # the reading works: the file's own words are found
        for secret in SECRETS:
            assert secret not in text, (fmt, secret)
    if kind == QUARTERLY_PATIENTS:
        # Not an empty file: the per-patient rows are there, by pseudonym.
        pseudonym = identified_cohort.refreshed("P1").patient.pseudonym
        assert pseudonym.upper() in _texts("csv", _read(files["csv"])).upper()
