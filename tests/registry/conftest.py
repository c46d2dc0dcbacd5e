"""Fixtures of the registry tests: the demo's places, on top of the shared ``demo`` fixture."""

import pytest

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
