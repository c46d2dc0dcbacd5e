"""The patient's identity: encrypted at rest, bound to its patient, rotatable online, never in clear in the
database, the audit trail or the logs (DOMAIN.md, "The patient's identity")."""

import base64
import logging
import os

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from registry import patient_crypto
from registry.errors import InvalidInput
from registry.models import AuditEvent, Patient
from registry.patient_identity import (
    identity_for,
    patient_identity_record,
    patient_keys_rotate,
    patient_label,
    stored_identity,
)
from registry.permissions import PermissionDenied
from tests.prescriptions import factories as f

NAMES = {"family_name": "Zanardelli", "given_name": "Giuseppina", "ward": "Medicina 2", "bed": "12"}
ADMISSION = "2026A004711"
NEW_KEY = base64.b64encode(b"a-brand-new-key-for-the-rotation").decode()


def _submit(demo, **identity):
    code = f.fiscal_code(sex="F")
    prescription = f.submit(
        demo["prescriber.milano"], code=code, sex="F", identity={**NAMES, "admission_number": ADMISSION, **identity}
    )
    return prescription, code


def _raw_patient_rows() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM registry_patient")
        return repr(cursor.fetchall())


def _raw_audit_rows() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT action, changes FROM registry_auditevent")
        return repr(cursor.fetchall())


# --- Encryption ---------------------------------------------------------------------------------------


def test_the_database_holds_neither_the_fiscal_code_nor_the_names_in_clear(demo):
    prescription, code = _submit(demo)

    rows = _raw_patient_rows().upper()
    audit = _raw_audit_rows().upper()

    for secret in (code, "ZANARDELLI", "GIUSEPPINA", "MEDICINA 2", ADMISSION):
        assert secret not in rows
        assert secret not in audit
    # ... yet the treating centre's nurse reads them back.
    identity = identity_for(user=demo["nurse.milano"], prescription=prescription)
    assert (identity.fiscal_code, identity.family_name, identity.admission_number) == (code, "Zanardelli", ADMISSION)


def test_a_ciphertext_copied_onto_another_patient_does_not_decrypt(demo):
    first, _ = _submit(demo)
    second, _ = _submit(demo, family_name="Altri")
    Patient.objects.filter(pk=second.patient_id).update(identity_ciphertext=first.patient.identity_ciphertext)

    assert stored_identity(Patient.objects.get(pk=second.patient_id)) is None
    assert stored_identity(Patient.objects.get(pk=first.patient_id)).family_name == "Zanardelli"


def test_the_audit_trail_names_the_fields_recorded_never_their_values(demo):
    prescription, _ = _submit(demo)

    event = AuditEvent.objects.get(action="patient.identity_record", object_id=str(prescription.patient_id))

    assert event.changes == {
        "fields": ["admission_number", "bed", "centre", "family_name", "fiscal_code", "given_name", "ward"],
        "first_time": True,
    }


# --- Who reads it ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username, sees",
    [
        ("prescriber.milano", True),
        ("nurse.milano", True),
        ("pharmacist.milano", True),
        ("officer.lombardia", False),
        ("aifa", False),
        ("admin", False),
        ("prescriber.roma", False),
        ("pharmacist.roma", False),
    ],
)
def test_only_the_staff_of_the_treating_centre_read_the_identity(demo, username, sees):
    prescription, _ = _submit(demo)
    user = demo[username]

    label = patient_label(user=user, prescription=prescription)

    assert (identity_for(user=user, prescription=prescription) is not None) is sees
    assert ("ZANARDELLI Giuseppina" in label) is sees
    if not sees:
        assert label == f"{prescription.patient.pseudonym[:12]}, {f.BIRTH_DATE.year}, F"


def test_the_label_a_nurse_reads_aloud_has_two_identifiers_and_the_bed(demo):
    prescription, _ = _submit(demo)

    with translation.override("it"):
        label = patient_label(user=demo["nurse.milano"], prescription=prescription)

    assert label.startswith("ZANARDELLI Giuseppina, ")
    assert f.BIRTH_DATE.strftime("%d/%m/%Y") in label
    assert label.endswith(", F, Medicina 2 letto 12")


def test_ward_bed_and_admission_number_stay_with_the_centre_that_recorded_them(demo):
    code = f.fiscal_code(sex="F")
    milano = f.submit(demo["prescriber.milano"], code=code, sex="F", eligible=False, identity=NAMES)
    roma = f.submit(
        demo["prescriber.roma"],
        centre_obj=f.centre("Ospedale Demo Roma"),
        code=code,
        sex="F",
        eligible=False,
        identity={"family_name": "Zanardelli", "given_name": "Giuseppina", "bed": "4"},
    )
    milano.patient.refresh_from_db()

    at_roma = identity_for(user=demo["prescriber.roma"], prescription=roma)
    at_milano = identity_for(user=demo["nurse.milano"], prescription=milano)

    # Roma never sees Milano's ward; Milano (whose admission ended) does not see Roma's bed.
    assert (at_roma.family_name, at_roma.ward, at_roma.bed) == ("Zanardelli", None, "4")
    assert (at_milano.family_name, at_milano.ward, at_milano.bed) == ("Zanardelli", None, None)


# --- Patients registered before the identity was kept ------------------------------------------------------


def test_a_patient_registered_before_keeps_working_until_the_centre_records_the_identity(demo):
    code = f.fiscal_code()
    prescription = f.submit(demo["prescriber.milano"], code=code)
    Patient.objects.filter(pk=prescription.patient_id).update(
        identity_ciphertext="", family_name_index="", admission_number_index=""
    )
    prescription.patient.refresh_from_db()
    nurse = demo["nurse.milano"]
    assert identity_for(user=nurse, prescription=prescription) is None
    with translation.override("en"):
        assert "identity not recorded" in patient_label(user=nurse, prescription=prescription)

    patient_identity_record(
        actor=nurse, prescription=prescription, fiscal_code=code.lower(), family_name="Bruni", given_name="Aldo"
    )

    assert identity_for(user=nurse, prescription=prescription).family_name == "Bruni"
    assert "Bruni" not in _raw_patient_rows()


def test_recording_checks_the_fiscal_code_is_this_patients_and_the_names_are_given(demo):
    prescription = f.submit(demo["prescriber.milano"])
    someone_else = f.fiscal_code()

    with pytest.raises(InvalidInput) as refused:
        patient_identity_record(
            actor=demo["nurse.milano"],
            prescription=prescription,
            fiscal_code=someone_else,
            family_name="",
            given_name="R2-D2",
        )

    assert set(refused.value.errors) == {"fiscal_code", "family_name", "given_name"}
    assert someone_else not in str(refused.value)


def test_only_the_centres_staff_record_the_identity(demo):
    code = f.fiscal_code()
    prescription = f.submit(demo["prescriber.milano"], code=code)

    for username in ("officer.lombardia", "pharmacist.roma", "aifa"):
        with pytest.raises(PermissionDenied):
            patient_identity_record(
                actor=demo[username], prescription=prescription, fiscal_code=code, family_name="A", given_name="B"
            )


# --- Key rotation ---------------------------------------------------------------------------------------------


def test_rotation_re_encrypts_every_row_under_the_new_key_and_rows_stay_readable_throughout(demo, settings):
    prescriptions = [_submit(demo, family_name=f"Nome{'abcde'[n]}")[0] for n in range(5)]
    old_key = settings.PATIENT_DATA_KEYS[0]
    old_id = patient_crypto.current_key_id()

    settings.PATIENT_DATA_KEYS = [NEW_KEY, old_key]
    # In the middle of a rotation (two rows done, as by a first batch) every row reads with the two keys.
    for patient in Patient.objects.filter(pk__in=[p.patient_id for p in prescriptions[:2]]):
        values = patient_crypto.decrypt_identity(patient.identity_ciphertext, patient_id=patient.pk)
        patient.identity_ciphertext = patient_crypto.encrypt_identity(values, patient_id=patient.pk)
        patient.save(update_fields=["identity_ciphertext"])
    assert all(stored_identity(Patient.objects.get(pk=p.patient_id)) for p in prescriptions)

    call_command("rotate_patient_keys", batch_size=2, stdout=open(os.devnull, "w"))  # noqa: SIM115

    new_id = patient_crypto.current_key_id()
    ciphertexts = list(Patient.objects.exclude(identity_ciphertext="").values_list("identity_ciphertext", flat=True))
    assert new_id != old_id
    assert ciphertexts and all(patient_crypto.ciphertext_key_id(text) == new_id for text in ciphertexts)
    # The old key can go: everything reads with the new one alone.
    settings.PATIENT_DATA_KEYS = [NEW_KEY]
    names = sorted(stored_identity(Patient.objects.get(pk=p.patient_id)).family_name for p in prescriptions)
    assert names == ["Nomea", "Nomeb", "Nomec", "Nomed", "Nomee"]


def test_rotation_is_resumable_and_leaves_rows_under_the_new_key_untouched(demo, settings):
    _submit(demo)
    settings.PATIENT_DATA_KEYS = [NEW_KEY, settings.PATIENT_DATA_KEYS[0]]

    assert patient_keys_rotate(batch_size=1).rotated >= 1
    assert patient_keys_rotate(batch_size=1).rotated == 0


def test_rotation_names_the_rows_no_key_decrypts_and_fails(demo, settings):
    prescription, _ = _submit(demo)
    settings.PATIENT_DATA_KEYS = [NEW_KEY]  # the old key dropped before rotating: its rows cannot be read

    with pytest.raises(CommandError, match="could not be decrypted"):
        call_command("rotate_patient_keys", stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"))  # noqa: SIM115

    assert patient_keys_rotate().undecryptable == [prescription.patient_id]


# --- Logs ------------------------------------------------------------------------------------------------------


def test_no_identity_in_the_logs_of_a_submission_and_a_reveal(client_for, demo, caplog):
    caplog.set_level(logging.DEBUG)
    code = f.fiscal_code(sex="F")
    body = f.submission_body(code=code, sex="F", identity={**NAMES, "admission_number": ADMISSION})

    created = client_for("prescriber.milano").post("/api/v1/prescriptions/", body, format="json")
    revealed = client_for("officer.lombardia").post(
        f"/api/v1/prescriptions/{created.json()['id']}/patient/reveal/", {"reason": "verifica"}, format="json"
    )
    bad = client_for("prescriber.milano").post(
        "/api/v1/prescriptions/", {**body, "patient": {**body["patient"], "bed": "<script>"}}, format="json"
    )

    assert (created.status_code, revealed.status_code, bad.status_code) == (201, 200, 400)
    assert revealed.json()["family_name"] == "Zanardelli"
    logged = "\n".join(record.getMessage() for record in caplog.records).upper()
    for secret in (code, "ZANARDELLI", "GIUSEPPINA", ADMISSION):
        assert secret not in logged
