"""/metrics (registry.web.metrics): off by default, this machine only, counts by route, pool, cache, mail, releases."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from registry.app import create_app
from registry.platform.extensions import db


@pytest.fixture
def metered(app):
    other = create_app({**{k: app.config[k] for k in app.config if k.isupper()}, "METRICS": True})
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def samples(text: str) -> dict:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_off_by_default(client):
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("setting", ["off", "no", "False", "0"])
def test_off_when_the_setting_says_off(app, setting):
    other = create_app({**{k: app.config[k] for k in app.config if k.isupper()}, "METRICS": setting})
    assert other.test_client().get("/metrics").status_code == 404
    with other.app_context():
        db.engine.dispose()


def test_counts_by_route_and_the_database_state(metered, make):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    client = metered.test_client()
    before = samples(client.get("/metrics").text)
    for _ in range(2):
        assert client.get("/conditions/migraine").status_code == 200
    assert client.get("/conditions/no-such-thing").status_code == 404
    page = client.get("/metrics")
    assert page.status_code == 200 and page.mimetype == "text/plain"
    found = samples(page.text)
    route = "/conditions/<slug>"
    assert (
        value(found, "registry_http_requests_total", route=route, method="GET", status="200")
        - value(before, "registry_http_requests_total", route=route, method="GET", status="200")
        == 2
    )
    assert value(found, "registry_http_requests_total", route=route, method="GET", status="404") >= 1
    assert "migraine" not in page.text and "no-such-thing" not in page.text  # routes, never paths
    assert value(found, "registry_http_request_duration_seconds_count", route=route) >= 2
    assert value(found, "registry_report_cache_lookups_total", result="hit") + value(
        found, "registry_report_cache_lookups_total", result="miss"
    ) > value(before, "registry_report_cache_lookups_total", result="miss")
    assert ("registry_db_pool_connections_open", ()) in found
    assert value(found, "registry_database_up") == 1
    assert value(found, "registry_mail_queue", state="queued") == 0
    assert ("registry_release_pending_views", ()) in found
    assert value(found, "registry_upkeep_checks_open") == 0


def test_an_open_upkeep_window_is_shown_with_its_lag(metered):
    from registry.reporting import report_upkeep

    with metered.app_context():
        report_upkeep.open_check(db.session, "upgrade to 0.2.0")
        db.session.commit()
    found = samples(metered.test_client().get("/metrics").text)
    assert value(found, "registry_upkeep_checks_open") == 1
    assert 0 <= value(found, "registry_upkeep_unchecked_seconds") < 60


def test_only_allowed_addresses_read_it(metered):
    client = metered.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 403
    # Through a proxy whose forwarded address the app does not read, the peer is the proxy: refused.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403
    metered.config["METRICS_ALLOW"] = "10.0.0.0/8, 127.0.0.1"
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 403


def test_a_method_of_the_clients_choosing_adds_no_series(metered):
    client = metered.test_client()
    key = {"route": "(unmatched)", "method": "other", "status": "405"}
    before = value(samples(client.get("/metrics").text), "registry_http_requests_total", **key)
    for method in ("FOO", "XYZ123"):
        assert client.open("/", method=method).status_code == 405
    text = client.get("/metrics").text
    assert "FOO" not in text and "XYZ123" not in text
    assert value(samples(text), "registry_http_requests_total", **key) == before + 2


def test_mail_waiting_is_counted(metered):
    from registry.accounts import mail
    from registry.models import User

    with metered.test_request_context():
        msg = mail.message("a@example.org", "Hi", "password_changed", user=User(pseudonym="p"), url="x")
        mail.enqueue(msg, "a@example.org")
        db.session.commit()
    found = samples(metered.test_client().get("/metrics").text)
    assert value(found, "registry_mail_queue", state="queued") == 1


def test_multiprocess_mode_sums_the_workers(metered, tmp_path, monkeypatch):
    """Under gunicorn each worker process writes its counts to files; /metrics, in any worker, sums them."""
    import os
    import subprocess
    import sys

    from registry.web import metrics

    worker = (
        "from registry.platform import counters\n"
        "counters.REQUESTS.labels('/conditions/<slug>', 'GET', '200').inc(3)\n"
        "counters.POOL_OPEN.set(2)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    pids = []
    for _ in range(2):  # two workers
        done = subprocess.run(
            [sys.executable, "-c", worker + "import os; print(os.getpid())"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        pids.append(int(done.stdout))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    found = samples(metered.test_client().get("/metrics").text)
    assert value(found, "registry_http_requests_total", route="/conditions/<slug>", method="GET", status="200") == 6
    assert value(found, "registry_database_up") == 1
    assert value(found, "registry_db_pool_connections_open") == 4
    metrics.worker_exit(pids[0])  # gunicorn's child_exit hook: a dead worker's live gauge goes, its counts stay
    found = samples(metered.test_client().get("/metrics").text)
    assert value(found, "registry_db_pool_connections_open") == 2
    assert value(found, "registry_http_requests_total", route="/conditions/<slug>", method="GET", status="200") == 6
