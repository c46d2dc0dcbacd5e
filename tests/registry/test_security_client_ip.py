"""The client's address: X-Forwarded-For is believed only from a configured proxy (none by default)."""

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from registry.http import client_ip

PROXY = "10.0.0.5"


def request_from(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request_from("203.0.113.7", "1.2.3.4")) == "203.0.113.7"


def test_a_request_not_from_a_trusted_proxy_keeps_its_own_address(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    assert client_ip(request_from("203.0.113.7", "1.2.3.4")) == "203.0.113.7"


@pytest.mark.parametrize(
    "trusted, forwarded, client",
    [
        ([PROXY], "198.51.100.20", "198.51.100.20"),
        # The client may send any header: what it wrote is to the left of what the proxy appended.
        ([PROXY], "6.6.6.6, 198.51.100.20", "198.51.100.20"),
        # Two proxies in a row, one given as a network.
        (["10.0.0.0/24"], "6.6.6.6, 198.51.100.20, 10.0.0.9", "198.51.100.20"),
        ([PROXY, "2001:db8::/32"], "2001:db8::1, 198.51.100.20, 2001:db8::2", "198.51.100.20"),
    ],
)
def test_behind_trusted_proxies_the_client_is_the_last_untrusted_hop(settings, trusted, forwarded, client):
    settings.TRUSTED_PROXIES = trusted
    assert client_ip(request_from(PROXY, forwarded)) == client


def test_a_malformed_header_falls_back_to_the_proxy_address(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    assert client_ip(request_from(PROXY, "198.51.100.20, not-an-address")) == PROXY
    assert client_ip(request_from(PROXY)) == PROXY


def ask(client, index, remote, forwarded):
    return client.post(
        "/api/v1/auth/token/",
        {"username": f"nobody.{index}", "password": "x"},
        format="json",
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_rotating_x_forwarded_for_does_not_defeat_the_throttle(db, settings):
    settings.TRUSTED_PROXIES = []
    client = APIClient()
    answers = [ask(client, index, "203.0.113.7", f"192.0.2.{index}").status_code for index in range(11)]
    assert answers == [400] * 10 + [429]


def test_behind_a_trusted_proxy_each_client_has_its_own_throttle(db, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    client = APIClient()
    answers = [ask(client, index, PROXY, f"192.0.2.{index}").status_code for index in range(11)]
    assert answers == [400] * 11
