"""Schemathesis against the served schema, as each demo role: no 5xx, and every response as the schema says.

The schema is read from ``/api/schema/`` of the in-process WSGI application; every operation is tried with a
bounded number of generated requests (``FUZZ_MAX_EXAMPLES``, default 10), each sent as the next role of
``ROLES`` (the demo roles and no credentials), over the demo data. Checks: no server error; a status code, a
content type and a body that the schema documents for that operation. Runs in ``make test`` (issue 9).
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

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
    headers = {None: {}}
    for username in ROLES[1:]:
        token, _created = Token.objects.get_or_create(user=demo[username])
        headers[username] = {"Authorization": f"Token {token.key}"}
    return headers


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_as_every_role(case, role_headers, request):
    # One role an example, in turn: every role meets every operation within a few examples, at a seventh of
    # the cost of sending each example seven times.
    turn = request.node.stash.setdefault(_TURN, [0])
    role = ROLES[turn[0] % len(ROLES)]
    turn[0] += 1
    case.call_and_validate(headers=role_headers[role], checks=CHECKS)
