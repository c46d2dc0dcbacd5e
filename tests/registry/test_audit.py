"""The audit trail: one event per write, in the write's transaction, hash-chained, tamper-evident."""

import contextlib
import io
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from prescriptions import services as prescription_services
from prescriptions.models import TocilizumabShortage
from registry import events, services
from registry.audit import audit_record, verify_chains
from registry.audit_actions import AuditAction
from registry.errors import InvalidInput
from registry.models import AuditEvent, Centre, CentreDesignation, Patient, Pharmacy, Role
from registry.permissions import PermissionDenied


@contextlib.contextmanager
def one_new_event():
    """Asserts the block records exactly one audit event; yields a list that receives it."""
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    received = []
    yield received
    new = list(AuditEvent.objects.filter(id__gt=last_id))
    assert len(new) == 1, [(event.action, event.object_type) for event in new]
    received.append(new[0])


def assert_event(event, *, actor, action, obj, changes):
    assert event.actor_id == actor.pk
    assert event.actor_username == actor.username
    assert event.action == action
    assert event.object_type == obj._meta.label_lower
    assert event.object_id == str(obj.pk)
    assert event.changes == changes
    assert abs(timezone.now() - event.occurred_at) < timedelta(minutes=1)


# --- Every service leaves exactly one event ----------------------------------------------


def test_pharmacy_create(demo, lombardia):
    officer = demo["officer.lombardia"]
    with one_new_event() as events:
        pharmacy = services.pharmacy_create(actor=officer, region=lombardia, name="Farmacia Bergamo")
    assert_event(
        events[0],
        actor=officer,
        action="pharmacy.create",
        obj=pharmacy,
        changes={"region": "030", "name": "Farmacia Bergamo"},
    )
    assert (events[0].sequence, events[0].previous_hash) == (1, "")


def test_pharmacy_update_keeps_before_and_after(demo, milano_pharmacy):
    officer = demo["officer.lombardia"]
    with one_new_event() as events:
        services.pharmacy_update(actor=officer, pharmacy=milano_pharmacy, name="Farmacia Niguarda")
    assert_event(
        events[0],
        actor=officer,
        action="pharmacy.update",
        obj=milano_pharmacy,
        changes={"name": ["Farmacia Ospedaliera Demo Milano", "Farmacia Niguarda"]},
    )


def test_centre_create(demo, lombardia, milano_pharmacy):
    officer = demo["officer.lombardia"]
    with one_new_event() as events:
        centre = services.centre_create(
            actor=officer, region=lombardia, name="Ospedale di Bergamo", pharmacy=milano_pharmacy
        )
    assert_event(
        events[0],
        actor=officer,
        action="centre.create",
        obj=centre,
        changes={"region": "030", "name": "Ospedale di Bergamo", "pharmacy": str(milano_pharmacy.pk)},
    )


def test_centre_update_keeps_before_and_after(demo, milano, milano_pharmacy):
    officer = demo["officer.lombardia"]
    with one_new_event() as events:
        services.centre_update(actor=officer, centre=milano, name="Ospedale Niguarda", pharmacy=None)
    assert_event(
        events[0],
        actor=officer,
        action="centre.update",
        obj=milano,
        changes={
            "name": ["Ospedale Demo Milano", "Ospedale Niguarda"],
            "pharmacy_id": [str(milano_pharmacy.pk), None],
        },
    )
    create = AuditEvent.objects.get(action="centre.create", object_id=str(milano.pk))
    assert events[0].sequence == 2
    assert events[0].previous_hash == create.entry_hash


def test_centre_update_records_only_what_changed(demo, milano, milano_pharmacy):
    with one_new_event() as events:
        services.centre_update(
            actor=demo["officer.lombardia"], centre=milano, name="Ospedale Niguarda", pharmacy=milano_pharmacy
        )
    assert events[0].changes == {"name": ["Ospedale Demo Milano", "Ospedale Niguarda"]}


def test_centre_designate(demo, milano):
    officer = demo["officer.lombardia"]
    with one_new_event() as events:
        designation = services.centre_designate(
            actor=officer,
            centre=milano,
            valid_from=date(2022, 1, 1),
            valid_to=date(2022, 12, 31),
            act_reference="DGR XI/1234",
        )
    assert_event(
        events[0],
        actor=officer,
        action="designation.create",
        obj=designation,
        changes={
            "centre": str(milano.pk),
            "valid_from": "2022-01-01",
            "valid_to": "2022-12-31",
            "act_reference": "DGR XI/1234",
        },
    )
    assert designation.designated_by == officer


def test_designation_end_keeps_before_and_after(demo, milano):
    officer = demo["officer.lombardia"]
    designation = CentreDesignation.objects.get(centre=milano)
    with one_new_event() as events:
        services.designation_end(actor=officer, designation=designation, valid_to=date(2022, 3, 31))
    assert_event(
        events[0],
        actor=officer,
        action="designation.end",
        obj=designation,
        changes={"valid_to": [None, "2022-03-31"]},
    )
    designation.refresh_from_db()
    assert designation.valid_to == date(2022, 3, 31)


def test_prescriber_authorise(demo, milano):
    officer = demo["officer.lombardia"]
    prescriber = demo["prescriber.roma"]
    with one_new_event() as events:
        authorisation = services.prescriber_authorise(
            actor=officer, prescriber=prescriber, centre=milano, valid_from=date(2022, 1, 1)
        )
    assert_event(
        events[0],
        actor=officer,
        action="authorisation.grant",
        obj=authorisation,
        changes={
            "prescriber": prescriber.pk,
            "centre": str(milano.pk),
            "valid_from": "2022-01-01",
            "valid_to": None,
        },
    )
    assert authorisation.granted_by == officer


def test_authorisation_end_keeps_before_and_after(demo, milano):
    officer = demo["officer.lombardia"]
    authorisation = demo["prescriber.milano"].prescriber_authorisations.get(centre=milano)
    with one_new_event() as events:
        services.authorisation_end(actor=officer, authorisation=authorisation, valid_to=date(2021, 12, 31))
    assert_event(
        events[0],
        actor=officer,
        action="authorisation.end",
        obj=authorisation,
        changes={"valid_to": [None, "2021-12-31"]},
    )


def test_staff_create(demo, milano):
    officer = demo["officer.lombardia"]
    with one_new_event() as events:
        nurse = services.staff_create(
            actor=officer, username="nurse.bianchi", password=None, role=Role.NURSE, centre=milano
        )
    assert_event(
        events[0],
        actor=officer,
        action="staff.create",
        obj=nurse,
        changes={
            "username": "nurse.bianchi",
            "role": "nurse",
            "centre": str(milano.pk),
            "pharmacy": None,
            "region": None,
        },
    )
    assert not any("password" in key for key in events[0].changes)


def test_patient_get_or_create_records_the_first_sight_only(demo):
    prescriber = demo["prescriber.milano"]
    with one_new_event() as events:
        patient = services.patient_get_or_create(
            actor=prescriber, fiscal_code="RSSMRA60E01F205B", birth_date=date(1960, 5, 1), sex="M"
        )
    assert_event(
        events[0],
        actor=prescriber,
        action="patient.create",
        obj=patient,
        changes={"birth_date": "1960-05-01", "sex": "M"},
    )
    count = AuditEvent.objects.count()
    services.patient_get_or_create(
        actor=prescriber, fiscal_code="RSSMRA60E01F205B", birth_date=date(1960, 5, 1), sex="M"
    )
    assert AuditEvent.objects.count() == count


def test_shortage_record(demo):
    aifa = demo["aifa"]
    with one_new_event() as events:
        shortage = prescription_services.shortage_record(
            actor=aifa, starts_on=date(2022, 2, 1), ends_on=date(2022, 4, 30), aifa_reference="Nota AIFA"
        )
    assert_event(
        events[0],
        actor=aifa,
        action="shortage.record",
        obj=shortage,
        changes={"starts_on": "2022-02-01", "ends_on": "2022-04-30", "aifa_reference": "Nota AIFA"},
    )


# --- A failed write leaves nothing --------------------------------------------------------


def _row_and_event_counts():
    return (
        Centre.objects.count(),
        Pharmacy.objects.count(),
        CentreDesignation.objects.count(),
        Patient.objects.count(),
        TocilizumabShortage.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize(
    "attempt, error",
    [
        (
            lambda d: services.centre_create(actor=d["officer.lazio"], region=d["lombardia"], name="Ospedale Abusivo"),
            PermissionDenied,
        ),
        (
            lambda d: services.pharmacy_create(actor=d["nurse.milano"], region=d["lombardia"], name="X"),
            PermissionDenied,
        ),
        (
            lambda d: services.centre_designate(
                actor=d["officer.lombardia"],
                centre=d["milano"],
                valid_from=date(2022, 1, 2),
                valid_to=date(2022, 1, 1),
            ),
            InvalidInput,
        ),
        (
            lambda d: services.patient_get_or_create(
                actor=d["prescriber.milano"],
                fiscal_code="RSSMRA60E01F205C",
                birth_date=date(1960, 5, 1),
                sex="M",
            ),
            InvalidInput,
        ),
        (
            lambda d: prescription_services.shortage_record(
                actor=d["officer.lombardia"], starts_on=date(2022, 1, 1), aifa_reference="x"
            ),
            PermissionDenied,
        ),
    ],
    ids=["centre-other-region", "pharmacy-by-nurse", "period-reversed", "bad-fiscal-code", "shortage-by-officer"],
)
def test_a_refused_write_leaves_neither_row_nor_event(demo, lombardia, milano, attempt, error):
    before = _row_and_event_counts()
    with pytest.raises(error):
        attempt({**demo, "lombardia": lombardia, "milano": milano})
    assert _row_and_event_counts() == before


def test_when_the_event_cannot_be_written_the_change_is_rolled_back(demo, lombardia, monkeypatch):
    def broken_audit(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(events, "audit_record", broken_audit)
    before = _row_and_event_counts()
    with pytest.raises(RuntimeError):
        services.centre_create(actor=demo["officer.lombardia"], region=lombardia, name="Ospedale Fantasma")
    assert _row_and_event_counts() == before
    assert not Centre.objects.filter(name="Ospedale Fantasma").exists()


# --- Actions are members of AuditAction ---------------------------------------------------


def test_an_unknown_action_is_refused_before_anything_is_written(demo, milano):
    before = AuditEvent.objects.count()
    with pytest.raises(ValueError, match="centre.view"), transaction.atomic():
        audit_record(actor=demo["officer.lombardia"], action="centre.view", obj=milano)
    assert AuditEvent.objects.count() == before


def test_the_value_of_an_action_is_accepted_and_stored_as_that_value(demo, milano):
    with transaction.atomic():
        event = audit_record(actor=demo["officer.lombardia"], action="centre.update", obj=milano, changes={})
    event.refresh_from_db()
    assert event.action == AuditAction.CENTRE_UPDATE.value == "centre.update"


def test_every_event_of_the_demo_is_a_known_action(demo):
    assert set(AuditEvent.objects.values_list("action", flat=True)) <= set(AuditAction)


# --- Chains ------------------------------------------------------------------------------


def chain_of(obj):
    return list(
        AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("sequence")
    )


def test_each_event_points_at_the_one_before(renamed_centre):
    chain = chain_of(renamed_centre)
    assert [event.sequence for event in chain] == [1, 2, 3]
    assert [event.action for event in chain] == ["centre.create", "centre.update", "centre.update"]
    assert chain[0].previous_hash == ""
    assert chain[1].previous_hash == chain[0].entry_hash
    assert chain[2].previous_hash == chain[1].entry_hash
    assert len({event.entry_hash for event in chain}) == 3


def test_chains_are_per_object(renamed_centre, demo, lombardia):
    other = services.centre_create(actor=demo["officer.lombardia"], region=lombardia, name="Ospedale Z")
    (event,) = chain_of(other)
    assert (event.sequence, event.previous_hash) == (1, "")


def test_intact_data_verifies(renamed_centre):
    assert list(verify_chains()) == []
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert f"{AuditEvent.objects.count()} events verified" in out.getvalue()


def test_verify_audit_succeeds_on_the_demo_data(demo):
    assert AuditEvent.objects.count() >= 15
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact" in out.getvalue()


# --- Tampering ---------------------------------------------------------------------------


@contextlib.contextmanager
def bypassing_the_append_only_guard():
    """SQLite has no guard; on PostgreSQL a superuser can silence triggers (only inside the test)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser')")
        if cursor.fetchone()[0] != "on":
            pytest.skip("tampering on PostgreSQL needs a superuser to silence the trigger; SQLite runs it")
        cursor.execute("SET LOCAL session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")


def raw_sql(sql, params=()):
    with bypassing_the_append_only_guard(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _json_param():
    return "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"


def _tamper_changes(event, other_user):
    raw_sql(
        f"UPDATE registry_auditevent SET changes = {_json_param()} WHERE id = %s",  # noqa: S608
        ['{"region": "030", "name": "Ospedale Falsificato", "pharmacy": null}', event.id],
    )


def _tamper_actor(event, other_user):
    raw_sql(
        "UPDATE registry_auditevent SET actor_id = %s, actor_username = %s WHERE id = %s",
        [other_user.pk, other_user.username, event.id],
    )


def _tamper_actor_username(event, other_user):
    raw_sql("UPDATE registry_auditevent SET actor_username = %s WHERE id = %s", ["someone.else", event.id])


def _tamper_occurred_at(event, other_user):
    earlier = connection.ops.adapt_datetimefield_value(event.occurred_at - timedelta(days=3))
    raw_sql("UPDATE registry_auditevent SET occurred_at = %s WHERE id = %s", [earlier, event.id])


def _tamper_action(event, other_user):
    raw_sql("UPDATE registry_auditevent SET action = %s WHERE id = %s", ["centre.view", event.id])


@pytest.mark.parametrize(
    "tamper",
    [_tamper_changes, _tamper_actor, _tamper_actor_username, _tamper_occurred_at, _tamper_action],
    ids=["changes", "actor", "actor_username", "occurred_at", "action"],
)
@pytest.mark.parametrize("position", [0, 1, 2], ids=["first", "middle", "last"])
def test_an_altered_event_is_named_by_verify_audit(renamed_centre, demo, tamper, position):
    event = chain_of(renamed_centre)[position]
    tamper(event, demo["officer.lazio"])

    broken = list(verify_chains())
    assert [link.event_id for link in broken] == [event.id]
    assert "altered" in broken[0].reason
    with pytest.raises(CommandError, match=rf"audit event {event.id} \("):
        call_command("verify_audit", stdout=io.StringIO())


def test_rewriting_an_event_with_a_matching_hash_breaks_the_next_link(renamed_centre):
    from registry.audit import compute_hash

    first, second, _third = chain_of(renamed_centre)
    forged = {"region": "030", "name": "Ospedale Falsificato", "pharmacy": None}
    forged_hash = compute_hash(
        previous_hash=first.previous_hash,
        occurred_at=first.occurred_at,
        actor_id=first.actor_id,
        actor_username=first.actor_username,
        action=first.action,
        object_type=first.object_type,
        object_id=first.object_id,
        sequence=first.sequence,
        changes=forged,
    )
    raw_sql(
        f"UPDATE registry_auditevent SET changes = {_json_param()}, entry_hash = %s WHERE id = %s",  # noqa: S608
        ['{"region": "030", "name": "Ospedale Falsificato", "pharmacy": null}', forged_hash, first.id],
    )

    broken = list(verify_chains())
    assert [link.event_id for link in broken] == [second.id]
    assert "does not point at" in broken[0].reason


@pytest.mark.parametrize("position", [0, 1], ids=["first", "middle"])
def test_a_deleted_event_is_detected(renamed_centre, position):
    chain = chain_of(renamed_centre)
    raw_sql("DELETE FROM registry_auditevent WHERE id = %s", [chain[position].id])

    broken = list(verify_chains())
    assert [link.event_id for link in broken] == [chain[position + 1].id]
    assert "missing" in broken[0].reason
    with pytest.raises(CommandError, match=rf"audit event {chain[position + 1].id} \("):
        call_command("verify_audit", stdout=io.StringIO())


# --- PostgreSQL refuses changes to the trail -----------------------------------------------


@pytest.mark.services
def test_postgresql_refuses_a_raw_update_of_an_event(postgresql, renamed_centre):
    event = chain_of(renamed_centre)[1]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), postgresql.cursor() as cursor:
        cursor.execute("UPDATE registry_auditevent SET actor_username = %s WHERE id = %s", ["someone", event.id])
    event.refresh_from_db()
    assert event.actor_username == "officer.lombardia"
    assert list(verify_chains()) == []


@pytest.mark.services
def test_postgresql_refuses_a_raw_delete_of_an_event(postgresql, renamed_centre):
    event = chain_of(renamed_centre)[1]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), postgresql.cursor() as cursor:
        cursor.execute("DELETE FROM registry_auditevent WHERE id = %s", [event.id])
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert list(verify_chains()) == []


@pytest.mark.services
def test_postgresql_refuses_orm_updates_and_deletes_but_appends(postgresql, renamed_centre, demo):
    events = AuditEvent.objects.filter(object_id=str(renamed_centre.pk))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        events.update(action="centre.view")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        events.delete()
    assert events.count() == 3
    # Appending still works: the next write is audited and the chain stays intact.
    services.centre_update(actor=demo["officer.lombardia"], centre=renamed_centre, name="Ospedale D", pharmacy=None)
    assert [event.sequence for event in events.order_by("sequence")] == [1, 2, 3, 4]
    assert list(verify_chains()) == []
