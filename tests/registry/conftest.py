"""Fixtures of the registry tests: the demo's places, on top of the shared ``demo`` fixture."""

import pytest

from registry import services
from registry.models import Centre, Pharmacy, Region


@pytest.fixture
def lombardia(db):
    return Region.objects.get(code="030")


@pytest.fixture
def lazio(db):
    return Region.objects.get(code="120")


@pytest.fixture
def milano(demo):
    return Centre.objects.get(name="Ospedale Demo Milano")


@pytest.fixture
def roma(demo):
    return Centre.objects.get(name="Ospedale Demo Roma")


@pytest.fixture
def milano_pharmacy(demo):
    return Pharmacy.objects.get(name="Farmacia Ospedaliera Demo Milano")


@pytest.fixture
def roma_pharmacy(demo):
    return Pharmacy.objects.get(name="Farmacia Ospedaliera Demo Roma")


@pytest.fixture
def renamed_centre(demo, lombardia):
    """A centre with a chain of three audit events: created, renamed, renamed again."""
    officer = demo["officer.lombardia"]
    centre = services.centre_create(actor=officer, region=lombardia, name="Ospedale A")
    services.centre_update(actor=officer, centre=centre, name="Ospedale B", pharmacy=None)
    services.centre_update(actor=officer, centre=centre, name="Ospedale C", pharmacy=None)
    return centre
