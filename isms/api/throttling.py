"""Rate limits per client address that keep counting when Redis is down.

What to do when the shared cache (Redis) fails, decided here rather than in the cache:

- Failing closed (refusing every request while Redis is down) would lock every API client
  out of the portal for the length of an outage that has nothing to do with them.
- Failing open (django-redis' IGNORE_EXCEPTIONS: every read a miss, every write dropped)
  would silently switch the limit off, and would do the same to any later use of the cache
  whose safety rests on it (a lock taken with `cache.add` would seem granted to everyone).
- So the throttle falls back to counting in this process's memory, logging a warning: the
  limit still holds, per worker process instead of for the whole portal, and the other uses
  of the cache still see the error and decide for themselves.

Even a limit that leaked entirely would not open the door to password guessing: django-axes
keeps its failed logins and lockouts in PostgreSQL (`AXES_HANDLER` is the database handler),
not in the cache, so five wrong passwords still lock a user name out with Redis down. The
throttle only slows down a caller who tries many user names.
"""

import logging

from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from ..clientip import client_ip

logger = logging.getLogger(__name__)

# Where the counting goes on while the shared cache fails; per process, never shared.
fallback_cache = LocMemCache("isms-throttle-fallback", {"MAX_ENTRIES": 10_000})


class AddressRateThrottle(SimpleRateThrottle):
    """Counts requests per client address (`isms.clientip.client_ip`), whoever the request
    claims to come from: DRF's AnonRateThrottle lets any request through whose
    Authorization header names a valid user, and trusts X-Forwarded-For as the client
    writes it."""

    def get_cache_key(self, request, view):
        return self.cache_format % {
            "scope": self.scope,
            "ident": client_ip(request) or "unknown",
        }

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as error:
            logger.warning(
                "throttle %s: the shared cache failed (%s); counting in this process",
                self.scope,
                error,
            )
        self.cache = fallback_cache
        return super().allow_request(request, view)
