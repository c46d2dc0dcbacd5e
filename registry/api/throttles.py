"""Request rate limits of the API: keyed by the real client address, and open when the cache is down.

A throttle only slows guessing; the lockout (django-axes, in the database) is what stops it. So when the
cache is unreachable the throttle lets the request through and logs it, rather than failing every login.
"""

import logging

from rest_framework.throttling import ScopedRateThrottle

from registry.http import client_ip

logger = logging.getLogger(__name__)


class ClientAddressScopedRateThrottle(ScopedRateThrottle):
    def get_ident(self, request):
        return client_ip(request)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - any cache failure (Redis down, timeout) must not refuse the request
            logger.warning("throttle cache unavailable: request allowed without rate limit", exc_info=True)
            return True
