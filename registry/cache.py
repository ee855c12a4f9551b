"""The shared report cache on Redis, failing open: an outage costs speed, never a page.

Every call that fails is a miss (get) or a no-op (set); the first failure of an outage is logged,
every one is counted (shown by /health), and Redis is left alone for a few seconds before the next
try, so a dead Redis does not add a timeout to each request.
"""

from __future__ import annotations

import logging
import time

from flask_caching.backends.rediscache import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Bounded waits: an unreachable Redis (no answer at all) must not hang a request.
REDIS_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}


class FailOpenRedisCache(RedisCache):
    """Flask-Caching's RedisCache whose errors become cache misses."""

    retry_after = 5.0  # seconds without calling Redis after a failure

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.errors = 0  # failed calls in this worker since it started
        self._down_until = 0.0
        self._outage_logged = False

    @property
    def is_down(self) -> bool:
        """True while the last failure is recent enough that Redis is not being tried."""
        return time.monotonic() < self._down_until

    def _guard(self, name: str, default, *args, **kwargs):
        if self.is_down:
            return default
        try:
            result = getattr(super(), name)(*args, **kwargs)
        except RedisError as error:
            self._failed(error)
            return default
        if self._outage_logged:
            log.warning("Redis answers again; the shared report cache is back in use.")
            self._outage_logged = False
        return result

    def _failed(self, error: Exception) -> None:
        self.errors += 1
        self._down_until = time.monotonic() + self.retry_after
        if not self._outage_logged:  # once per outage, not once per request
            log.warning("Redis is unreachable (%s); serving without the shared report cache.", error)
            self._outage_logged = True

    def ping(self) -> bool:
        """Whether Redis answers now (a failure counts as one)."""
        try:
            return bool(self._read_client.ping())
        except RedisError as error:
            self._failed(error)
            return False

    def get(self, key):
        return self._guard("get", None, key)

    def get_many(self, *keys):
        return self._guard("get_many", [None] * len(keys), *keys)

    def has(self, key):
        return self._guard("has", False, key)

    def set(self, key, value, timeout=None):
        return self._guard("set", False, key, value, timeout)

    def add(self, key, value, timeout=None):
        return self._guard("add", False, key, value, timeout)

    def set_many(self, mapping, timeout=None):
        return self._guard("set_many", [], mapping, timeout)

    def delete(self, key):
        return self._guard("delete", False, key)

    def delete_many(self, *keys):
        return self._guard("delete_many", [], *keys)

    def clear(self):
        return self._guard("clear", False)

    def inc(self, key, delta=1):
        return self._guard("inc", None, key, delta)

    def dec(self, key, delta=1):
        return self._guard("dec", None, key, delta)
