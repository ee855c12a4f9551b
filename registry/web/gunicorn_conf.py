"""gunicorn's configuration for one app server, shipped in the package (docs/deploy.md).

    gunicorn -c python:registry.web.gunicorn_conf        # or: registry serve

Every value comes from the environment (the same env file as the app's settings) and can be
overridden on gunicorn's command line.
"""

import multiprocessing
import os
import time

from registry.platform import logs as _logs

wsgi_app = "registry.app:create_app()"
bind = os.environ.get("REGISTRY_BIND", "127.0.0.1:8000")
# Two workers per core is gunicorn's usual advice for I/O-bound apps; cap it on big machines.
workers = int(os.environ.get("REGISTRY_WORKERS", min(2 * multiprocessing.cpu_count(), 8)))
worker_class = "gthread"
threads = int(os.environ.get("REGISTRY_THREADS", 4))
# A worker's threads each hold at most one database connection: the pool needs no more than that
# kept open (REGISTRY_DB_MAX_OVERFLOW adds a few at a peak). docs/deploy.md sizes it per server.
os.environ.setdefault("REGISTRY_DB_POOL_SIZE", str(threads))
timeout = 60  # a research export streams; the proxy should not buffer it either
graceful_timeout = 30
keepalive = 5
max_requests = 5000  # recycle workers now and then
max_requests_jitter = 500
# The proxy's address: only its X-Forwarded-Proto is believed (HTTPS for cookies, HSTS, CSRF).
forwarded_allow_ips = os.environ.get("REGISTRY_PROXY_IPS", "127.0.0.1")

# One control socket per instance (gunicorn's default, ~/.gunicorn/gunicorn.ctl, is shared by every
# gunicorn the user runs): in the instance folder, or none when that folder is not named.
_instance = os.environ.get("REGISTRY_INSTANCE_PATH")
if os.environ.get("REGISTRY_CONTROL_SOCKET"):
    control_socket = os.environ["REGISTRY_CONTROL_SOCKET"]
elif _instance:
    control_socket = os.path.join(_instance, "gunicorn.ctl")
else:
    control_socket_disable = True

# Logs (registry/platform/logs.py, docs/deploy.md "Logs"): JSON lines on standard error. The app writes one line per
# request (request id, route name, status, duration; never a path or a query string: paths name conditions
# and carry links' tokens, query strings hold filters, which are health data), so gunicorn's own access log
# stays off; its error log goes through the same handler, whose filter cuts query strings, addresses,
# digests and tokens from every message ("Error handling request /experiences/new?condition=..."). A
# REGISTRY_LOG_FORMAT of "text" gives the same lines as plain text.
accesslog = None
errorlog = "-"
logconfig_dict = _logs.logging_config(os.environ.get("REGISTRY_LOG_FORMAT") or "json")


# /metrics (REGISTRY_METRICS): every worker writes its counts to files in one folder, which any worker
# answering /metrics sums (prometheus-client's multiprocess mode); a fresh folder for each start.
if os.environ.get("REGISTRY_METRICS", "").strip().lower() not in ("", "0", "false", "no", "off") and not os.environ.get(
    "PROMETHEUS_MULTIPROC_DIR"
):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="registry-metrics-")


def child_exit(server, worker):
    """A worker that ended no longer counts in the live gauges of /metrics."""
    # Imported in the worker: gunicorn's master reads this file and must not load the app.
    from registry.web import metrics

    metrics.worker_exit(worker.pid)


# Memory (issue 26: a worker within 250 MB after every page kind). The vocabularies are a shared file
# (registry/catalog/vocab.py); what a big answer (an export) frees should go back to the system too:
# pyarrow's own allocator keeps freed memory, so Parquet exports use the system's; glibc gives each
# thread a heap of its own (fragments that a worker keeps), so the threads share two; and a worker
# above REGISTRY_TRIM_ABOVE_MB gives its freed heap pages back after a request (at most every 10 s).
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
try:
    import ctypes

    _libc = ctypes.CDLL("libc.so.6")
    _libc.mallopt(-8, int(os.environ.get("REGISTRY_MALLOC_ARENAS", 2)))  # M_ARENA_MAX, inherited by the workers
except (OSError, AttributeError):  # not glibc
    _libc = None
_TRIM_ABOVE = int(os.environ.get("REGISTRY_TRIM_ABOVE_MB", 200)) * 1024 * 1024
_last_trim = [0.0]


def post_request(worker, req, environ, resp):
    """Give freed heap back to the system when the worker has grown past REGISTRY_TRIM_ABOVE_MB."""

    if _libc is None or time.monotonic() - _last_trim[0] < 10:
        return
    with open("/proc/self/statm") as statm:
        resident = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    if resident > _TRIM_ABOVE:
        _last_trim[0] = time.monotonic()
        _libc.malloc_trim(0)


def on_starting(server):
    """Build the vocabulary file (registry/catalog/vocab.py) once, before any worker starts: the workers share
    it read-only and none waits for it on its first search. It exists already after the first start."""
    # Imported in the worker: gunicorn's master reads this file and must not load the app.
    from registry.catalog import vocab

    vocab.ensure_built()
