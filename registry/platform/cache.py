"""The shared report cache on Redis, failing open: an outage costs speed, never a page.

Every call that fails is a miss (get) or a no-op (set); the first failure of an outage is logged,
every one is counted (shown by /health), and Redis is left alone for a few seconds before the next
try, so a dead Redis does not add a timeout to each request.

Rolling upgrades share one Redis between servers of two releases, so every key starts with the
release version and the entry format (namespace()): a server never reads another release's entries.
Entries are JSON (codec below), not pickles: a pickle names classes by module path, and a release
that moved one made the other release's servers fail unpickling (issue 26: ModuleNotFoundError, 500).
An entry that does not decode (a class renamed or a field gone) is a miss, recomputed and rewritten.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib
import json
import logging
import time

from flask_caching.backends.rediscache import RedisCache
from flask_caching.backends.simplecache import SimpleCache
from redis.exceptions import RedisError

from registry import __version__
from reports.wording import Phrase

log = logging.getLogger(__name__)

# Bounded waits: an unreachable Redis (no answer at all) must not hang a request.
REDIS_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}

# The entries' format: bump it when the codec below changes, or when a cached value's meaning changes
# within a release (a release's entries are apart anyway: the version is in every key).
FORMAT = 1


def namespace() -> str:
    """The prefix of every key: "registry:<release version>:f<format>:"."""

    return f"registry:{__version__}:f{FORMAT}:"


# --- the codec: values as JSON, classes only from our own packages ---------------------------------------

# Dataclasses are rebuilt only from these packages (never an arbitrary import named by a cache entry).
CLASS_PACKAGES = ("reports.", "registry.", "scales.")


# A JSON object whose only key is one of these is a tagged value, {"class", "fields"} a dataclass, any
# other object a dict with text keys. A dict that would read as one of those is written as "pairs".
TAGS = frozenset({"pairs", "tuple", "set", "float", "datetime", "date", "phrase"})
_CLASS = frozenset({"class", "fields"})


class Undecodable(ValueError):
    """An entry this code cannot rebuild: a miss."""


def _encode(value):
    if isinstance(value, Phrase):  # English words a page shows translated: their message travels with them
        return {"phrase": [value.message, _encode(value.variables)]}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):  # numpy integers are not ints; bool is handled above
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else {"float": repr(value)}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {"tuple": [_encode(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"set": [_encode(v) for v in sorted(value, key=repr)]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not (
            (len(value) == 1 and next(iter(value)) in TAGS) or value.keys() == _CLASS
        ):
            return {k: _encode(v) for k, v in value.items()}
        return {"pairs": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        return {
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "fields": [[f.name, _encode(getattr(value, f.name))] for f in dataclasses.fields(value)],
        }
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    item = getattr(value, "item", None)  # a numpy scalar
    if callable(item) and getattr(value, "shape", None) == ():
        return _encode(item())
    raise TypeError(f"cannot cache a {type(value).__name__} as JSON")


@functools.lru_cache(maxsize=256)
def _class(name: str):
    """(the dataclass named "module:QualName", its field names, those its __init__ takes)."""
    module, _, qualname = name.partition(":")
    if not module.startswith(CLASS_PACKAGES):
        raise Undecodable(f"class {name} is not ours")
    try:
        target = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as error:
        raise Undecodable(str(error)) from None
    if not (isinstance(target, type) and dataclasses.is_dataclass(target)):
        raise Undecodable(f"{name} is not a dataclass")
    fields = dataclasses.fields(target)
    return target, frozenset(f.name for f in fields), frozenset(f.name for f in fields if f.init)


def _dataclass(name: str, pairs: list):
    cls, names, init = _class(name)
    values = dict(pairs)
    if values.keys() != names:
        raise Undecodable(f"{name} has other fields now")
    try:
        obj = cls(**{k: v for k, v in values.items() if k in init})
    except TypeError as error:
        raise Undecodable(str(error)) from None
    for field in names - init:
        object.__setattr__(obj, field, values[field])
    return obj


_TAGGED = {
    "pairs": lambda body: {(tuple(k) if isinstance(k, list) else k): v for k, v in body},
    "tuple": tuple,
    "set": frozenset,
    "float": float,
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "phrase": lambda body: Phrase(body[0], **body[1]),
}


def _object(data: dict):
    """json's object hook: each JSON object, innermost first, as the value it encodes."""
    if len(data) == 1:
        ((tag, body),) = data.items()
        if tag in TAGS:
            return _TAGGED[tag](body)
    elif len(data) == 2 and data.keys() == _CLASS:
        return _dataclass(data["class"], data["fields"])
    return data


def dumps(value) -> bytes:
    """value as a JSON entry (TypeError for what JSON cannot hold)."""
    return json.dumps(_encode(value), separators=(",", ":"), allow_nan=False).encode()


def loads(data: bytes | str):
    """The value of a JSON entry; Undecodable when this code cannot rebuild it."""
    try:
        return json.loads(data, object_hook=_object)
    except (ValueError, KeyError, TypeError) as error:
        raise Undecodable(str(error)) from None


class JSONEntries:
    """cachelib's serializer interface over the codec: integers as plain ASCII (INCRBY works on them),
    everything else as JSON; an entry that does not decode (another release's, a changed class) is None."""

    def dumps(self, value, *args) -> bytes:
        if type(value) is int:
            return str(value).encode("ascii")
        return b"J" + dumps(value)

    def loads(self, value: bytes | None):
        if value is None:
            return None
        if not value.startswith(b"J"):
            try:
                return int(value)
            except ValueError:
                return None  # a pickle or anything else: not ours to read
        try:
            return loads(value[1:])
        except Undecodable as error:
            log.info("A cache entry that this release cannot read was skipped: %s", error)
            return None


def _uncacheable(error: TypeError) -> None:
    # A value the codec cannot hold is a bug to fix, never a page lost: served uncached.
    log.error("A value was not cached: %s", error)


class JSONSimpleCache(SimpleCache):
    """The in-process cache (no REGISTRY_REDIS_URL), holding the same JSON entries as Redis: every page
    served from the cache, in tests too, is one rebuilt from JSON."""

    serializer = JSONEntries()

    def set(self, key, value, timeout=None):
        try:
            return super().set(key, value, timeout)
        except TypeError as error:
            _uncacheable(error)
            return False

    def add(self, key, value, timeout=None):
        try:
            return super().add(key, value, timeout)
        except TypeError as error:
            _uncacheable(error)
            return False


class FailOpenRedisCache(RedisCache):
    """Flask-Caching's RedisCache whose errors become cache misses."""

    retry_after = 5.0  # seconds without calling Redis after a failure
    serializer = JSONEntries()

    def __init__(self, *args, key_prefix: str | None = None, **kwargs):
        super().__init__(*args, key_prefix=namespace() + (key_prefix or ""), **kwargs)
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
        except TypeError as error:
            _uncacheable(error)
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
