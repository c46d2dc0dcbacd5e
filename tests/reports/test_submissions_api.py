"""The quarterly transmission to AIFA (/api/v1/quarterly-submissions/): open, approve (a signature), reopen,
accept or return; every role tried (API.md, "Quarterly transmission to AIFA")."""

import hashlib
import json

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from prescriptions.models import PrescriptionStatus
from registry.auth.otp import pending_totp_device, totp_confirm
from registry.models import AuditEvent, Notification, PeriodLock
from registry.notifications import notification_target
from reports.models import QuarterlySubmission, SubmissionSignature
from reports.submissions import canonical_json, quarter_bounds
from tests.conftest import DEMO_PASSWORD
from tests.prescriptions import factories as f

URL = "/api/v1/quarterly-submissions/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def this_quarter() -> tuple[int, int]:
    today = f.today()
    return today.year, (today.month - 1) // 3 + 1


def open_quarter(client_for, username="officer.lombardia", region="030", year_quarter=None):
    year, quarter = year_quarter or this_quarter()
    return client_for(username).post(URL, {"region": region, "year": year, "quarter": quarter}, format="json")


def approve(client_for, submission_id, username="officer.lombardia", **body):
    body = {"password": DEMO_PASSWORD, "statement_accepted": True, **body}
    return client_for(username).post(f"{URL}{submission_id}/approve/", body, format="json")


def events_of(submission_id) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="reports.quarterlysubmission", object_id=str(submission_id))
        .order_by("sequence")
        .values_list("action", flat=True)
    )


@pytest.mark.parametrize(
    ("username", "region", "expected"),
    [
        ("officer.lombardia", "030", 201),
        ("officer.lombardia", "120", 403),
        ("officer.lazio", "120", 201),
        ("aifa", "030", 403),
        ("prescriber.milano", "030", 403),
        ("pharmacist.milano", "030", 403),
        ("nurse.milano", "030", 403),
    ],
)
def test_only_the_regions_officer_opens_its_quarter(client_for, username, region, expected):
    response = open_quarter(client_for, username, region)
    assert response.status_code == expected, response.content
    if expected == 201:
        body = response.json()
        assert body["status"] == "open"
        assert body["version"] == 0
        assert body["region"] == region
        assert body["incomplete"] == []


def test_opening_the_same_quarter_again_answers_the_existing_one(client_for):
    first = open_quarter(client_for)
    again = open_quarter(client_for)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    # The statement the officer would accept names the region and the version to sign.
    assert "Lombardia" in again.json()["approval_statement"] and "1" in again.json()["approval_statement"]
    assert QuarterlySubmission.objects.count() == 1
    assert events_of(first.json()["id"]) == ["submission.open"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"region": "030", "year": 2021, "quarter": 5}, "quarter"),
        ({"region": "030", "year": 2021, "quarter": 0}, "quarter"),
        ({"region": "030", "year": "x", "quarter": 1}, "year"),
        ({"region": "030", "year": 2999, "quarter": 1}, "year"),
        ({"region": "030", "year": 2021}, "quarter"),
    ],
)
def test_a_bad_quarter_is_a_400_naming_the_field(client_for, body, field):
    response = client_for("officer.lombardia").post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_the_incomplete_list_names_what_is_missing_with_the_prescription(demo, client_for):
    waiting = f.prescription_at(demo, PrescriptionStatus.AWAITING_DISPENSING, prescribed_days_ago=0)
    response = open_quarter(client_for)
    items = {(item["code"], item["prescription"]) for item in response.json()["incomplete"]}
    assert ("WAITING_AT_PHARMACY", str(waiting.pk)) in items
    assert all(item["message"] for item in response.json()["incomplete"])


def test_incomplete_codes_cover_open_courses_missing_outcomes_and_unrecorded_doses(demo):
    from reports.submission_checks import incomplete_items

    in_course = f.prescription_at(demo, PrescriptionStatus.IN_COURSE, prescribed_days_ago=29)
    completed = f.prescription_at(demo, PrescriptionStatus.COMPLETED, prescribed_days_ago=29)
    start, end = f.today() - __import__("datetime").timedelta(days=40), f.today()
    # Day 28 of both courses is past by the day after tomorrow; the in-course one's window has closed by then.
    later = f.today() + __import__("datetime").timedelta(days=2)
    items = incomplete_items(region_code="030", period_start=start, period_end=end, today=later)
    found = {(item.code, item.prescription) for item in items}
    assert ("COURSE_OPEN", str(in_course.pk)) in found
    assert ("OUTCOME_DAY28_MISSING", str(completed.pk)) in found
    assert ("OUTCOME_DAY28_MISSING", str(in_course.pk)) in found
    from prescriptions import services

    services.course_windows_close(today=later)
    items = incomplete_items(region_code="030", period_start=start, period_end=end, today=later)
    found = {(item.code, item.prescription) for item in items}
    assert ("DOSES_UNRECORDED", str(in_course.pk)) in found
    assert ("DOSES_UNRECORDED", str(completed.pk)) not in found


def test_approval_signs_the_quarter_with_a_manifest_bound_to_the_audit_chain(demo, client_for):
    submission_id = open_quarter(client_for).json()["id"]
    response = approve(client_for, submission_id)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved"
    assert body["version"] == 1
    assert body["approved_by"] == "officer.lombardia"
    assert body["approved_at"]
    assert set(body["files"]) == {"csv", "xlsx", "pdf"}
    signature = SubmissionSignature.objects.get(submission_id=submission_id)
    # The manifest's hash is the SHA-256 of its canonical JSON, and it is in the approval's audit event.
    assert body["manifest_sha256"] == hashlib.sha256(canonical_json(signature.manifest)).hexdigest()
    approval = AuditEvent.objects.get(object_id=submission_id, action="submission.approve")
    assert approval.changes["manifest_sha256"] == body["manifest_sha256"]
    # Every signed file's SHA-256 is the file's, and the figures' hash is the stored figures'.
    for entry in signature.manifest["files"]:
        report_file = signature.run.files.get(audience=entry["audience"], format=entry["format"])
        with report_file.file.open("rb") as stored:
            assert hashlib.sha256(stored.read()).hexdigest() == entry["sha256"]
    assert signature.manifest["figures_sha256"] == hashlib.sha256(canonical_json(signature.figures)).hexdigest()
    assert signature.manifest["meaning"] == "approval"
    # The statement names the region, the quarter and the version (in the signer's language: Italian here).
    year, quarter = this_quarter()
    assert "Lombardia" in signature.statement and f"T{quarter} {year}" in signature.statement
    assert "versione 1," in signature.statement
    # The downloaded file is the signed one.
    download = client_for("officer.lombardia").get(body["files"]["csv"])
    signed_csv = next(e for e in signature.manifest["files"] if e["format"] == "csv" and e["audience"] == "region")
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == signed_csv["sha256"]
    # AIFA is told, and the quarter is locked.
    assert Notification.objects.filter(recipient=demo["aifa"], kind="submission_approved").count() == 1
    year, quarter = this_quarter()
    assert PeriodLock.objects.filter(region_id="030", period_start=quarter_bounds(year, quarter)[0]).exists()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"statement_accepted": False}, 400),
        ({"statement_accepted": None}, 400),
        ({"password": "wrong-password"}, 403),
    ],
)
def test_approval_needs_the_statement_and_the_right_password(client_for, body, status):
    submission_id = open_quarter(client_for).json()["id"]
    payload = {"password": DEMO_PASSWORD, "statement_accepted": True, **body}
    if payload["statement_accepted"] is None:
        del payload["statement_accepted"]
    response = client_for("officer.lombardia").post(f"{URL}{submission_id}/approve/", payload, format="json")
    assert response.status_code == status, response.content
    assert QuarterlySubmission.objects.get(pk=submission_id).status == "open"
    assert not PeriodLock.objects.exists()


def test_wrong_passwords_at_approval_count_towards_the_sign_in_lockout(demo, client_for, settings):
    submission_id = open_quarter(client_for).json()["id"]
    for _attempt in range(settings.LOGIN_MAX_FAILURES - 1):
        assert approve(client_for, submission_id, password="wrong").status_code == 403
    assert approve(client_for, submission_id, password="wrong").status_code == 429
    # Locked out: even the right password is refused now, and signing in too.
    assert approve(client_for, submission_id).status_code == 429
    token = client_for("aifa").post(
        "/api/v1/auth/token/", {"username": "officer.lombardia", "password": DEMO_PASSWORD}, format="json"
    )
    assert token.status_code == 429
    assert AuditEvent.objects.filter(action="auth.login_failure", object_id=str(demo["officer.lombardia"].pk)).exists()


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def test_a_signer_with_a_second_factor_gives_its_code(demo, client_for, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    officer = demo["officer.lombardia"]
    device = pending_totp_device(officer)
    totp_confirm(user=officer, device=device, code=_code(device))
    device.refresh_from_db()
    submission_id = open_quarter(client_for).json()["id"]
    assert approve(client_for, submission_id).status_code == 403  # no code
    assert approve(client_for, submission_id, otp="000000").status_code == 403
    # A code is good once per time step: the next step's code (django-otp accepts one step of drift).
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + device.step
    response = approve(client_for, submission_id, otp=f"{totp.token():0{device.digits}d}")
    assert response.status_code == 200, response.content
    assert SubmissionSignature.objects.get(submission_id=submission_id).second_factor is True


@pytest.mark.parametrize("username", ["aifa", "officer.lazio", "prescriber.milano"])
def test_others_cannot_approve(client_for, username):
    submission_id = open_quarter(client_for).json()["id"]
    response = approve(client_for, submission_id, username=username)
    assert response.status_code == (403 if username == "aifa" else 404), response.content


def test_reopen_accept_return_and_version_two(demo, client_for):
    submission_id = open_quarter(client_for).json()["id"]
    assert approve(client_for, submission_id).status_code == 200
    assert approve(client_for, submission_id).status_code == 409  # already approved
    officer, aifa = client_for("officer.lombardia"), client_for("aifa")

    # AIFA returns it with a comment; the officers are told.
    assert aifa.post(f"{URL}{submission_id}/return/", {}, format="json").status_code == 400
    assert officer.post(f"{URL}{submission_id}/return/", {"comment": "x"}, format="json").status_code == 403
    returned = aifa.post(f"{URL}{submission_id}/return/", {"comment": "Day-28 outcomes missing"}, format="json")
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert returned.json()["review_comment"] == "Day-28 outcomes missing"
    assert Notification.objects.filter(recipient=demo["officer.lombardia"], kind="submission_returned").exists()
    told = Notification.objects.get(recipient=demo["officer.lombardia"], kind="submission_returned")
    # Its e-mail and its page open the quarter itself, not just the list of notifications.
    assert notification_target(told)[1] == reverse("reports:quarter", args=[submission_id])
    assert PeriodLock.objects.filter(region_id="030").exists()  # still locked until reopened

    # Reopening takes a reason, unlocks, tells AIFA.
    assert officer.post(f"{URL}{submission_id}/reopen/", {"reason": " "}, format="json").status_code == 400
    assert aifa.post(f"{URL}{submission_id}/reopen/", {"reason": "fix"}, format="json").status_code == 403
    reopened = officer.post(f"{URL}{submission_id}/reopen/", {"reason": "Outcomes to record"}, format="json")
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    assert not PeriodLock.objects.filter(region_id="030").exists()
    assert Notification.objects.filter(recipient=demo["aifa"], kind="submission_reopened").count() == 1
    assert officer.post(f"{URL}{submission_id}/reopen/", {"reason": "again"}, format="json").status_code == 409

    # Approved again: version 2, a new set of files; AIFA accepts it.
    second = approve(client_for, submission_id)
    assert second.status_code == 200 and second.json()["version"] == 2
    first_run, second_run = SubmissionSignature.objects.filter(submission_id=submission_id).order_by("version")
    assert first_run.run_id != second_run.run_id
    assert first_run.run.files.count() == second_run.run.files.count() == 6
    accepted = aifa.post(f"{URL}{submission_id}/accept/", {}, format="json")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert aifa.post(f"{URL}{submission_id}/accept/", {}, format="json").status_code == 409
    assert events_of(submission_id) == [
        "submission.open",
        "submission.approve",
        "submission.return",
        "submission.reopen",
        "submission.approve",
        "submission.accept",
    ]
    assert [s["version"] for s in client_for("aifa").get(f"{URL}{submission_id}/").json()["signatures"]] == [1, 2]
    assert client_for("aifa").get(f"{URL}{submission_id}/").json()["approval_statement"] is None


def test_the_list_is_scoped_and_filtered(client_for):
    open_quarter(client_for)
    open_quarter(client_for, "officer.lazio", "120")
    open_quarter(client_for, year_quarter=(2022, 1))

    def regions(username, query=""):
        response = client_for(username).get(URL + query)
        assert response.status_code == 200
        return sorted((row["region"], row["year"], row["quarter"]) for row in response.json()["results"])

    year, quarter = this_quarter()
    assert regions("officer.lombardia") == sorted([("030", year, quarter), ("030", 2022, 1)])
    assert regions("officer.lazio") == [("120", year, quarter)]
    assert len(regions("aifa")) == 3
    assert regions("aifa", "?region=120") == [("120", year, quarter)]
    assert regions("aifa", "?year=2022&quarter=1") == [("030", 2022, 1)]
    assert regions("prescriber.milano") == []
    lazio_id = client_for("officer.lazio").get(URL).json()["results"][0]["id"]
    assert client_for("officer.lombardia").get(f"{URL}{lazio_id}/").status_code == 404
    assert client_for("aifa").get(f"{URL}{lazio_id}/").status_code == 200


def test_the_manifest_is_canonical_json():
    assert (
        canonical_json({"b": 1, "a": [1, "è"]})
        == json.dumps({"a": [1, "è"], "b": 1}, separators=(",", ":"), ensure_ascii=False).encode()
    )


def test_a_signed_file_changed_afterwards_is_found(demo, client_for):
    import io

    from django.core.management import CommandError, call_command

    from reports.submissions import signature_check

    submission_id = open_quarter(client_for).json()["id"]
    assert approve(client_for, submission_id).status_code == 200
    signature = SubmissionSignature.objects.get(submission_id=submission_id)
    assert signature_check(signature) == []
    call_command("verify_signatures", stdout=io.StringIO())

    csv_file = signature.run.files.get(audience="region", format="csv")
    with open(csv_file.file.path, "ab") as stored:
        stored.write(b"one more row\n")
    assert signature_check(signature) == [f"{csv_file.file.name.rsplit('/', 1)[-1]}: its SHA-256 differs"]
    with pytest.raises(CommandError):
        call_command("verify_signatures", stdout=io.StringIO(), stderr=io.StringIO())

    signature.figures = {**signature.figures, "doses_administered": 999}
    assert "figures: their SHA-256 differs" in signature_check(signature)
