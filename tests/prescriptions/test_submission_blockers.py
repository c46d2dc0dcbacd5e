"""The eligibility check's ``submission_blockers``: "eligible" never turns into a refused submission (issue 16).

Given the patient's fiscal code (with birth date and sex) or a centre, the check also runs the submission's own
checks (who may prescribe where and when; one active course per patient) and lists what would refuse the
submission although the criteria pass. The last test walks every combination of prescriber, centre, patient
history and verdict, and holds the check's answer to what the real submission then does.
"""

import itertools

import pytest

from prescriptions.models import Prescription, PrescriptionStatus
from registry.audit_actions import AuditAction
from registry.models import AuditEvent, Patient

from . import factories as f

CHECK = "/api/v1/eligibility-checks/"
SUBMIT = "/api/v1/prescriptions/"


def check_body(*, code: str | None = None, centre=None, eligible: bool = True, **patient) -> dict:
    """The check's body for the same patient and assessment as ``f.submission_body`` would submit."""
    submission = f.submission_body(code=code, eligible=eligible)
    body = {**submission["assessment"], "patient": {**submission["patient"], **patient}}
    if code is None:
        body["patient"].pop("fiscal_code")
    if centre is not None:
        body["centre"] = str(getattr(centre, "pk", centre))
    return body


@pytest.fixture
def english(client_for):
    def make(username: str):
        client = client_for(username)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return make


def blockers(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["submission_blockers"]


def test_without_fiscal_code_or_centre_the_check_is_the_criteria_alone(english, demo):
    body = english("prescriber.milano").post(CHECK, check_body(), format="json").json()

    assert "submission_blockers" not in body
    assert body["eligible"] is True


def test_a_new_patient_at_the_prescribers_centre_meets_nothing(english, demo):
    response = english("prescriber.milano").post(
        CHECK, check_body(code=f.fiscal_code(), centre=f.centre()), format="json"
    )

    assert blockers(response) == []
    assert response.json()["eligible"] is True


def test_an_active_course_in_scope_is_a_blocker_in_words_pointing_at_the_prescription(english, demo):
    code = f.fiscal_code()
    active = f.submit(demo["prescriber.milano"], code=code)
    client = english("prescriber.milano")

    response = client.post(CHECK, check_body(code=code, centre=f.centre()), format="json")

    (blocker,) = blockers(response)
    assert response.json()["eligible"] is True  # eligible keeps meaning the criteria
    assert blocker["code"] == "ACTIVE_COURSE"
    assert blocker["prescription"] == str(active.pk)
    assert client.get(blocker["prescription_url"]).status_code == 200
    assert "awaiting dispensing" in blocker["message"] and f.MILANO in blocker["message"]
    for raw in (str(active.pk), str(active.pk)[:8], "awaiting_dispensing", "ACTIVE_COURSE"):
        assert raw not in blocker["message"]


def test_an_active_course_in_another_region_names_neither_prescription_nor_status_and_is_audited(english, demo):
    code = f.fiscal_code()
    active = f.submit(demo["prescriber.milano"], code=code)

    response = english("prescriber.roma").post(CHECK, check_body(code=code, centre=f.centre(f.ROMA)), format="json")

    (blocker,) = blockers(response)
    assert set(blocker) == {"code", "message"}
    assert blocker["code"] == "ACTIVE_COURSE"
    text = str(response.json()["submission_blockers"]).lower()
    assert str(active.pk) not in text and f.MILANO.lower() not in text
    assert not any(status in text for status in [*PrescriptionStatus.values, "awaiting dispensing"])
    event = AuditEvent.objects.get(action=AuditAction.PRESCRIPTION_ACTIVE_COURSE_ELSEWHERE)
    assert event.actor_username == "prescriber.roma"


def test_a_finished_course_blocks_nothing(english, demo):
    cancelled = f.prescription_at(demo, PrescriptionStatus.CANCELLED, code=(code := f.fiscal_code()))
    assert cancelled.status == PrescriptionStatus.CANCELLED

    response = english("prescriber.milano").post(CHECK, check_body(code=code, centre=f.centre()), format="json")

    assert blockers(response) == []


@pytest.mark.parametrize(
    ("username", "centre_name"),
    [("prescriber.expired", f.MILANO), ("prescriber.milano", f.ROMA), ("prescriber.expired", None)],
)
def test_a_prescriber_not_authorised_there_that_day_is_told_so(english, demo, username, centre_name):
    centre = f.centre(centre_name) if centre_name else None
    response = english(username).post(CHECK, check_body(code=f.fiscal_code(), centre=centre), format="json")

    (blocker,) = blockers(response)
    assert blocker["code"] == "NOT_AUTHORISED"
    assert "authorised" in blocker["message"] or "designated" in blocker["message"]


def test_a_centre_alone_asks_for_the_authorisation_only(english, demo):
    response = english("prescriber.expired").post(CHECK, check_body(centre=f.centre()), format="json")

    assert [blocker["code"] for blocker in blockers(response)] == ["NOT_AUTHORISED"]


def test_blockers_are_in_the_readers_language(client_for, demo):
    code = f.fiscal_code()
    f.submit(demo["prescriber.milano"], code=code)
    client = client_for("prescriber.milano")
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "it"

    (blocker,) = blockers(client.post(CHECK, check_body(code=code, centre=f.centre()), format="json"))

    assert blocker["message"].startswith("Questo paziente ha già un ciclo di anakinra attivo")
    assert "in attesa di dispensazione" in blocker["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [({"fiscal_code": "RSSMRA60E01F205X"}, "fiscal_code"), ({"sex": "F"}, "fiscal_code")],
)
def test_a_wrong_fiscal_code_is_a_400_as_at_submission(english, demo, change, field):
    body = check_body(code=f.fiscal_code(), centre=f.centre())
    body["patient"].update(change)

    response = english("prescriber.milano").post(CHECK, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["patient"]


def test_an_unknown_centre_is_a_400(english, demo):
    body = check_body(code=f.fiscal_code(), centre="00000000-0000-0000-0000-000000000000")

    response = english("prescriber.milano").post(CHECK, body, format="json")

    assert response.status_code == 400
    assert "centre" in response.json()


def test_the_check_stores_no_patient_and_no_prescription(english, demo):
    before = (Patient.objects.count(), Prescription.objects.count())
    english("prescriber.milano").post(CHECK, check_body(code=f.fiscal_code(), centre=f.centre()), format="json")
    assert (Patient.objects.count(), Prescription.objects.count()) == before


# -- the check and the submission agree, in every case --------------------------------------------------------

PRESCRIBERS = ("prescriber.milano", "prescriber.roma", "prescriber.expired")
CENTRES = (f.MILANO, f.ROMA, None)
HISTORIES = (None, PrescriptionStatus.AWAITING_DISPENSING, PrescriptionStatus.CANCELLED, PrescriptionStatus.REJECTED)
STATUS_OF_BLOCKER = {"NOT_AUTHORISED": 403, "ACTIVE_COURSE": 409}


@pytest.mark.parametrize(
    ("username", "centre_name", "history", "eligible"),
    list(itertools.product(PRESCRIBERS, CENTRES, HISTORIES, (True, False))),
)
def test_the_checks_blockers_and_the_real_submissions_outcome_agree(
    english, demo, username, centre_name, history, eligible
):
    code = f.fiscal_code()
    if history is not None:
        f.prescription_at(demo, history, prescribed_days_ago=2, code=code)
    centre = f.centre(centre_name) if centre_name else None
    client = english(username)

    check = client.post(CHECK, check_body(code=code, centre=centre, eligible=eligible), format="json")
    submission = client.post(SUBMIT, f.submission_body(code=code, centre=centre, eligible=eligible), format="json")

    codes = [blocker["code"] for blocker in blockers(check)]
    assert check.json()["eligible"] is eligible
    if eligible:
        # Criteria met: the submission is refused exactly when a blocker is shown, by the first one.
        assert (submission.status_code == 201) == (codes == []), (codes, submission.content)
        if codes:
            assert submission.status_code == STATUS_OF_BLOCKER[codes[0]]
            if submission.status_code == 409:
                assert submission.json()["code"] == codes[0]
    else:
        # Criteria refused: the request is still kept as rejected, unless the prescriber may not prescribe there.
        assert (submission.status_code == 403) == ("NOT_AUTHORISED" in codes), (codes, submission.content)
        if submission.status_code == 201:
            assert submission.json()["status"] == PrescriptionStatus.REJECTED
