"""/metrics in Prometheus's text format (prometheus-client), off unless REGISTRY_METRICS is set.

What an operator watches: requests by route (the URL rule, never the path with its values), their
duration, the database pool of each worker, report-cache hits, the mail outbox (registry.accounts.mail) and
how far the published numbers lag behind (the last release's age, views waiting for one, and after an
upgrade the report-upkeep check windows still open and how long since they were last checked).

Only addresses in REGISTRY_METRICS_ALLOW (addresses or networks, comma-separated; by default this
machine: 127.0.0.1 and ::1) may read it; behind the proxy, REGISTRY_PROXY_FIX makes the address the
real client's, so a request through the proxy from elsewhere is refused (403) and the guide's nginx
block refuses /metrics as well. Under gunicorn, each worker writes its counts to files in
PROMETHEUS_MULTIPROC_DIR (registry/web/gunicorn_conf.py makes one when metrics are on), and any worker
answering /metrics sums them all.

The counters are module-level objects, as prometheus-client expects: one set per process, shared by
every app the process builds; they hold counts only, never a value from a request.
"""

from __future__ import annotations

import ipaddress
import os
import time
from datetime import timezone

from flask import Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from registry.accounts import mail
from registry.models import pub_pending, release, upkeep_check
from registry.platform.counters import LATENCY, POOL_IN_USE, POOL_OPEN, PROCESS, REQUESTS
from registry.platform.database import now_utc
from registry.platform.extensions import db

# Methods counted by name; any other a client sends (nginx passes unknown ones on) is "other", so that
# no client can add series of its choosing to every worker's metrics.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "(unmatched)"


def _method() -> str:
    return request.method if request.method in METHODS else "other"


def _started() -> None:
    g._metrics_started = time.perf_counter()


def _answered(response):
    started = g.pop("_metrics_started", None)
    if started is not None:
        route = _route()
        REQUESTS.labels(route, _method(), str(response.status_code)).inc()
        LATENCY.labels(route).observe(time.perf_counter() - started)
        _pool_gauges()
    return response


def _failed(error) -> None:
    """A request that ended in an exception no handler answered (gunicorn answers 500)."""
    started = g.pop("_metrics_started", None)
    if started is not None and error is not None:
        route = _route()
        REQUESTS.labels(route, _method(), "500").inc()
        LATENCY.labels(route).observe(time.perf_counter() - started)


def _pool_gauges() -> None:
    pool = db.engine.pool
    if hasattr(pool, "checkedout") and hasattr(pool, "checkedin"):
        in_use = pool.checkedout()
        POOL_IN_USE.set(in_use)
        POOL_OPEN.set(in_use + pool.checkedin())


class DatabaseCollector:
    """What the database says at scrape time: the mail outbox and how far releases lag."""

    def collect(self):
        up = GaugeMetricFamily("registry_database_up", "1 when the database answered this scrape.")
        try:
            outbox = mail.outbox_state()
            last = db.session.scalar(select(func.max(release.c.released_at)))
            waiting = db.session.scalar(select(func.count(func.distinct(pub_pending.c.view))))
        except SQLAlchemyError:
            db.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        queue = GaugeMetricFamily("registry_mail_queue", "Mails in the outbox, by state.", labels=["state"])
        queue.add_metric(["queued"], outbox["queued"])
        queue.add_metric(["retrying"], outbox["retrying"])
        queue.add_metric(["failed"], outbox["failed"])
        yield queue
        yield GaugeMetricFamily(
            "registry_mail_oldest_queued_seconds", "Age of the oldest mail waiting.", value=outbox["oldest_seconds"]
        )
        if last is not None:
            yield GaugeMetricFamily(
                "registry_release_age_seconds",
                "Seconds since the last release published new numbers (registry release).",
                value=(now_utc() - last).total_seconds(),
            )
        yield GaugeMetricFamily(
            "registry_release_pending_views",
            "Views with changes not yet published (too few people changed yet, or no release since).",
            value=waiting or 0,
        )
        yield from self._upkeep(db.session, now_utc())

    @staticmethod
    def _upkeep(session, now):
        """Report upkeep after an upgrade: open check windows, and how long since one was last checked."""
        try:
            count, since = session.execute(
                select(
                    func.count(upkeep_check.c.id),
                    func.min(func.coalesce(upkeep_check.c.checked_at, upkeep_check.c.opened_at)),
                ).where(upkeep_check.c.closed_at.is_(None))
            ).one()
        except SQLAlchemyError:  # a schema from before the upkeep checks
            session.rollback()
            return
        yield GaugeMetricFamily(
            "registry_upkeep_checks_open",
            "Windows after an upgrade in which releases still compare the report tables with the raw rows.",
            value=count,
        )
        if since is not None:
            if since.tzinfo is None:
                since = since.replace(tzinfo=timezone.utc)
            yield GaugeMetricFamily(
                "registry_upkeep_unchecked_seconds",
                "Seconds since the report tables of an open window were last compared with the raw rows.",
                value=(now - since).total_seconds(),
            )


def _allowed(address: str | None) -> bool:
    setting = current_app.config.get("METRICS_ALLOW") or "127.0.0.1,::1"
    networks = setting if isinstance(setting, list | tuple) else str(setting).split(",")
    try:
        client = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    for network in networks:
        try:
            if client in ipaddress.ip_network(str(network).strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def metrics_view():
    """The metrics of every worker of this server, and the database's, in Prometheus's text format."""
    # Through a proxy whose forwarded address the app does not read (no REGISTRY_PROXY_FIX), the
    # address is the proxy's own: anyone could come that way.
    through_untrusted_proxy = "X-Forwarded-For" in request.headers and not current_app.config.get("PROXY_FIX")
    if through_untrusted_proxy or not _allowed(request.remote_addr):
        abort(403)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers)
    else:
        workers = PROCESS
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    return Response(generate_latest(workers) + generate_latest(database), mimetype=CONTENT_TYPE_LATEST)


OFF = frozenset({"", "0", "false", "no", "off"})  # REGISTRY_METRICS values that leave it off (any case)


def init_app(app) -> None:
    """Count requests and serve /metrics, when REGISTRY_METRICS is on."""
    if str(app.config.get("METRICS") or "").strip().lower() in OFF:
        return
    app.before_request(_started)
    app.after_request(_answered)
    app.teardown_request(_failed)
    app.add_url_rule("/metrics", "metrics", metrics_view)
    app.extensions["metrics"] = True


def worker_exit(pid: int) -> None:
    """gunicorn's child_exit hook: a dead worker's live gauges stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
