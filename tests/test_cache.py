"""The report cache (registry/platform/cache.py): JSON entries, namespaced by release and format, failing open."""

from __future__ import annotations

import json
import pickle

import pytest

from registry import __version__
from registry.platform import cache
from registry.platform.extensions import db
from registry.reporting import cached_reports
from reports.filters import Filters


@pytest.fixture
def community(make):
    make.treatment("Sumatriptan")
    make.treatment("Propranolol")
    make.condition("Migraine", "G43", treatments=["sumatriptan", "propranolol"])
    for i in range(8):
        make.experience(
            treatment="sumatriptan" if i % 2 else "propranolol",
            effectiveness=["major", "moderate", "none", "worse"][i % 4],
            stopped="2024-09" if i % 3 == 0 else None,
            stop_reasons=["side_effects"] if i % 3 == 0 else [],
            side_effects=["nausea"] if i % 2 else ["fatigue"],
            dose_amount=50.0 if i % 2 else None,
            dose_unit="mg" if i % 2 else None,
            dose_frequency="once_daily" if i % 2 else None,
            birth_year=1980 + i,
            sex="female" if i % 2 else "male",
        )


def _every_report():
    """Every value the views cache, computed afresh (the same calls the pages make)."""
    from registry.models import Condition, Treatment

    condition = db.session.scalar(db.select(Condition).where(Condition.slug == "migraine"))
    treatments = list(db.session.scalars(db.select(Treatment).order_by(Treatment.id)))
    filtered = Filters(sex=("female",))
    overview = cached_reports.treatment_overview(treatments[0])
    return {
        "condition": cached_reports.condition_report(condition, Filters()),
        "condition filtered": cached_reports.condition_report(condition, filtered),
        "treatment": cached_reports.treatment_report(condition, treatments[0], filtered),
        "compare": cached_reports.compare_report(condition, treatments, Filters()),
        "overview": overview,
        "time": cached_reports.time_curves(condition, treatments),
        "time overview": cached_reports.treatment_time_curves(treatments[1]),
        "slices": cached_reports.slice_reports(condition, treatments[1]),
        "drug time": cached_reports.drug_time(treatments[0], overview)[0],
    }


def test_every_cached_report_round_trips_through_json(app, community):
    """What the pages cache comes back equal from its JSON entry, classes and all (dict keys of any kind,
    tuples, frozen dataclasses, floats)."""
    with app.test_request_context():
        reports = _every_report()
        for name, value in reports.items():
            entry = cache.dumps(value)
            assert json.loads(entry) is not None, name  # JSON, not a pickle
            assert cache.loads(entry) == value, name
        # The app's own (in-process) cache holds the same entries: a second read is the decoded copy, equal.
        again = _every_report()
        assert again == reports


def test_entries_another_release_cannot_read_are_misses():
    entries = cache.JSONEntries()
    assert entries.loads(b"!" + pickle.dumps({"a": 1})) is None  # an older release's pickle
    gone = b'J{"class":"reports.outcomes:NoSuchReport","fields":[]}'
    assert entries.loads(gone) is None
    changed = b'J{"class":"reports.filters:Filters","fields":[["role",{"tuple":[]}],["planet","mars"]]}'
    assert entries.loads(changed) is None  # a field this code's class does not have
    foreign = b'J{"class":"os:PathLike","fields":[]}'
    assert entries.loads(foreign) is None  # never a class from outside our packages
    assert entries.loads(entries.dumps(Filters(role=("patient",)))) == Filters(role=("patient",))
    assert entries.loads(entries.dumps(7)) == 7 and entries.dumps(7) == b"7"  # INCRBY still works on it
    with pytest.raises(TypeError):
        entries.dumps(object())


def test_an_uncacheable_value_is_served_uncached(app, caplog):
    with app.app_context():
        from registry.platform.extensions import cache as app_cache

        assert app_cache.set("k", object()) is False and app_cache.get("k") is None
    assert "was not cached" in caplog.text


def test_redis_keys_carry_the_release_and_format(base_config, community, make, redis_url):
    """Two releases sharing one Redis never read each other's entries: every key starts with the version."""
    import redis

    from registry.app import create_app

    url = redis_url
    client = redis.Redis.from_url(url)
    client.flushdb()
    shared = create_app({**base_config, "REDIS_URL": url})
    try:
        assert shared.test_client().get("/conditions/migraine").status_code == 200
        keys = [k.decode() for k in client.keys("*")]
        assert keys and all(k.startswith(f"registry:{__version__}:f{cache.FORMAT}:") for k in keys), keys
        values = [client.get(k) for k in keys]
        assert all(v.startswith(b"J{") or v.isdigit() for v in values)
    finally:
        client.flushdb()
        with shared.app_context():
            db.engine.dispose()


def _unreadable_pickle() -> bytes:
    """A pickle of a class whose module is gone, as an entry written by code that moved it (issue 26)."""
    import sys
    import types
    from dataclasses import make_dataclass

    module = types.ModuleType("registry.moved_away")
    cls = make_dataclass("Report", [("n", int)])
    cls.__module__ = module.__name__
    module.Report = cls
    sys.modules[module.__name__] = module
    try:
        data = pickle.dumps(cls(3))
    finally:
        del sys.modules[module.__name__]
    with pytest.raises(ModuleNotFoundError):
        pickle.loads(data)
    return b"!" + data


def test_two_releases_share_one_redis_without_a_500(base_config, community, redis_url):
    """A rolling upgrade: a server of the previous release (Flask-Caching's pickling RedisCache, keys without
    a release) and one of this release read and write the same Redis, turn by turn; entries of a moved class
    planted under this release's keys are misses, not ModuleNotFoundError."""
    import redis

    from registry.app import create_app

    url = redis_url
    store = redis.Redis.from_url(url)
    store.flushdb()
    old = create_app({**base_config, "CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url})
    new = create_app({**base_config, "REDIS_URL": url})
    pages = [
        "/conditions/migraine",
        "/conditions/migraine/treatments/sumatriptan",
        "/conditions/migraine/compare?t=sumatriptan&t=propranolol",
        "/treatments/sumatriptan",
        "/api/v1/conditions/migraine/treatments",
    ]
    statuses = []
    try:
        for server in (old, new, old, new):
            statuses += [server.test_client().get(page).status_code for page in pages]
        ours = [k for k in store.keys("*") if k.startswith(cache.namespace().encode())]
        theirs = [k for k in store.keys("*") if not k.startswith(b"registry:")]
        assert ours and theirs  # both wrote, each under its own keys
        for key in ours:
            store.set(key, _unreadable_pickle())
        for server in (new, old):
            statuses += [server.test_client().get(page).status_code for page in pages]
        assert all(store.get(k).startswith(b"J") for k in ours)  # recomputed and rewritten as JSON
    finally:
        store.flushdb()
        for server in (old, new):
            with server.app_context():
                db.engine.dispose()
    assert statuses == [200] * len(statuses), statuses


def test_a_phrase_keeps_its_message_through_the_cache(app):
    """A cached dose label is English for JSON and CSV, and still shown in the reader's language after a hit."""
    from reports.wording import Phrase
    from scales import i18n

    label = Phrase("%(amount)s or more", amount=1500.0)
    back = cache.loads(cache.dumps({"label": label}))["label"]
    assert isinstance(back, Phrase) and str(back) == str(label)  # English for JSON and CSV
    with app.app_context(), i18n.language_of("es"):
        assert back.shown() == label.shown() and "o más" in back.shown()
