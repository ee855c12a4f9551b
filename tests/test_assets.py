import gzip
import re

import plotly
import pytest

from registry.web.views import assets


def test_the_basic_bundle_matches_the_installed_plotly():
    # A plotly upgrade brings a new plotly.js: fetch the matching basic bundle into static/vendor
    # (npm pack plotly.js-basic-dist-min@VERSION), rewritten by assets.same_origin; until then the full bundle is served.
    name, script, _ = assets.plotly_bundle()
    assert name == "basic"
    assert assets.bundle_version(script) == assets.bundle_version(assets._full_bundle())
    assert len(script) < len(assets._full_bundle()) / 3


def test_plotly_is_served_gzipped_once_with_a_long_cache(client):
    url = f"/assets/plotly-{plotly.__version__}.min.js"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert plain.headers.get("Content-Encoding") is None and b"plotly.js (basic" in plain.data[:200]
    assert packed.headers["Content-Encoding"] == "gzip" and gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < 500_000
    assert "immutable" in packed.headers["Cache-Control"] and "Accept-Encoding" in packed.headers["Vary"]


@pytest.mark.parametrize("bad", ["0.0.1", "../x"])
def test_other_versions_are_not_found(client, bad):
    assert client.get(f"/assets/plotly-{bad}.min.js").status_code == 404


def test_a_mismatched_basic_bundle_falls_back_to_the_full_one(monkeypatch, tmp_path):
    (tmp_path / "plotly-basic-0.0.1.min.js").write_bytes(b"/**\n* plotly.js (basic - minified) v0.0.1\n*/")
    monkeypatch.setattr(assets, "VENDOR", tmp_path)
    assets.plotly_bundle.cache_clear()
    try:
        name, script, _ = assets.plotly_bundle()
        assert name == "full" and script == assets._full_bundle()
    finally:
        assets.plotly_bundle.cache_clear()


def test_the_served_plotly_names_no_other_host_to_load_from(client):
    """The map files' folder, the Chart Studio server and the logo's link point here or nowhere."""
    script = client.get(f"/assets/plotly-{plotly.__version__}.min.js").data
    for remote in (b"cdn.plot.ly", b"cloud.plotly.com", b'href="https://plotly.com/"'):
        assert remote not in script
    assert b'topojsonURL:{valType:"string",noBlank:!0,dflt:"/static/vendor/"}' in script
    assert not re.search(rb'\.href="https?://', assets._full_bundle())  # no link of the full bundle leaves either


def test_the_vendored_bundle_itself_names_no_other_host_to_load_from():
    """static/ serves the file as it is too (/static/vendor/...): it carries the rewrite, not only the served copy."""
    for path in assets.VENDOR.glob("plotly-basic-*.min.js"):
        source = path.read_bytes()
        assert assets.same_origin(source) == source, f"{path.name}: run assets.same_origin over it"
        for remote in (b"cdn.plot.ly", b"cloud.plotly.com", b'href="https://plotly.com/"'):
            assert remote not in source
