"""Schemathesis against the served schema, as each demo role: no 5xx, and every response as the schema says.

The schema is read from ``/api/schema/`` of the in-process WSGI application; every operation is tried with a
bounded number of generated requests (``FUZZ_MAX_EXAMPLES``: 10 in ``make test``, 100 in ``make fuzz``), each
sent as every role of ``ROLES`` (the demo roles and no credentials) in turn, over the demo data; schemathesis'
coverage phase adds its boundary cases, each sent as the next role (every role in ``make fuzz``). Checks: no
server error; a status code, a content type and a body that the schema documents for that operation (issues 9
and 17).
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from registry.auth.tokens import token_issue

pytestmark = pytest.mark.fuzz

ROLES = [
    None,  # no credentials
    "prescriber.milano",
    "pharmacist.milano",
    "nurse.milano",
    "officer.lombardia",
    "aifa",
    "admin",
]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))
COVERAGE_AS_EVERY_ROLE = os.environ.get("FUZZ_COVERAGE_AS_EVERY_ROLE") == "1"
_TURN = pytest.StashKey[list]()


def _served_schema():
    from registry.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/", application)


schema = _served_schema()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through the WSGI handler, whose end closes a connection not in autocommit: the test's own on
    PostgreSQL. Django's test client disconnects the same signal handler."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def role_headers(demo):
    # The registry's own tokens (hashed, expiring: registry.auth.tokens), as a client gets from /api/v1/auth/token/.
    return {None: {}} | {
        username: {"Authorization": f"Token {token_issue(user=demo[username])}"} for username in ROLES[1:]
    }


def test_every_role_is_signed_in(role_headers):
    """The fuzzing is worth only what its roles reach: each role's credentials are accepted (``/me/`` names the
    user), so every operation is tried past its authentication, not only answered 401."""
    from django.test import Client

    client = Client()
    for role, headers in role_headers.items():
        response = client.get("/api/v1/me/", headers=headers)
        if role is None:
            assert response.status_code == 401
        else:
            assert response.status_code == 200, f"{role}: {response.status_code} {response.content[:200]!r}"
            assert response.json()["username"] == role


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_as_every_role(case, role_headers, request):
    for role in _roles_for(case, request.node.stash.setdefault(_TURN, [0])):
        try:
            case.call_and_validate(headers=role_headers[role], checks=CHECKS)
        except BaseException as failure:  # schemathesis raises a group of the failed checks
            failure.add_note(f"Sent as: {role or 'no credentials'}")
            raise


def _roles_for(case, turn: list[int]) -> list[str | None]:
    """Every role for a generated request (MAX_EXAMPLES per operation and role, generated once); the coverage
    phase's requests (boundary values, missing and wrong fields: about 70 per operation) as the next role in turn,
    unless COVERAGE_AS_EVERY_ROLE (``make fuzz``): sent seven times, they would be two thirds of the file's time."""
    if COVERAGE_AS_EVERY_ROLE or case.meta is None or case.meta.phase.name != TestPhase.COVERAGE:
        return ROLES
    role = ROLES[turn[0] % len(ROLES)]
    turn[0] += 1
    return [role]
