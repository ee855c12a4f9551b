"""The counters of /metrics (prometheus-client), one set per process: module-level objects, as the library
expects, shared by every app the process builds. They hold counts only, never a value from a request.
registry.web.metrics serves them; rooms below the web count into them (the report cache, here)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

PROCESS = CollectorRegistry(auto_describe=True)  # this process's own metrics (without multiprocess mode)

REQUESTS = Counter(
    "registry_http_requests",
    "HTTP requests answered, by route (URL rule), method and status.",
    ["route", "method", "status"],
    registry=PROCESS,
)
LATENCY = Histogram(
    "registry_http_request_duration_seconds",
    "Time to answer a request, by route (URL rule).",
    ["route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=PROCESS,
)
POOL_IN_USE = Gauge(
    "registry_db_pool_connections_in_use",
    "Database connections checked out of the workers' pools (at the end of each worker's last request).",
    multiprocess_mode="livesum",
    registry=PROCESS,
)
POOL_OPEN = Gauge(
    "registry_db_pool_connections_open",
    "Database connections the workers' pools hold open, in use or idle.",
    multiprocess_mode="livesum",
    registry=PROCESS,
)
CACHE = Counter(
    "registry_report_cache_lookups",
    "Report cache lookups, by result (hit or miss).",
    ["result"],
    registry=PROCESS,
)


def cache_lookup(hit: bool) -> None:
    """Count one report-cache lookup."""
    CACHE.labels("hit" if hit else "miss").inc()
