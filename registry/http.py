"""Who is on the other end of a request: the one place that reads the client's address.

``X-Forwarded-For`` is written by whoever sends the request, so it is believed only when the request
arrives from a proxy listed in ``TRUSTED_PROXIES`` (addresses or networks; none by default). Behind
such proxies the client is the rightmost address of the header that is not itself a trusted proxy:
the entries to its left were supplied by the client and may be anything.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        return None


def is_trusted_proxy(address: str) -> bool:
    parsed = _parse(address)
    if parsed is None:
        return False
    return any(parsed in network for network in _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()))))


def client_ip(request) -> str:
    """The client's address (``REMOTE_ADDR`` unless it is a trusted proxy forwarding for someone)."""
    meta = getattr(request, "META", {})
    remote = (meta.get("REMOTE_ADDR") or "").strip()
    if not is_trusted_proxy(remote):
        return remote
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if _parse(address) is None:
            # A malformed hop: what lies left of it cannot be trusted either.
            return remote
        if not is_trusted_proxy(address):
            return address
    return forwarded[0] if forwarded else remote
