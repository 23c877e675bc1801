"""What the browser downloads first: a server-rendered first paint in the visitor's language, deferred scripts,
no polyfill, and plotly.js only as the partial bundle, loaded when a chart comes into view."""

import re
from pathlib import Path

import pytest
from dash import dcc, html

from dashboard.ui import figures
from dashboard.http.ssr import to_html

ROOT = Path(__file__).resolve().parents[3]
BUNDLE = ROOT / "assets" / "deferred" / "plotly-citydash.min.js"


def test_first_paint_has_the_kpi_text_in_the_visitors_language(client):
    body = client.get("/", headers={"Accept-Language": "nl-NL,nl;q=0.9"}).get_data(as_text=True)
    assert '<html lang="nl">' in body
    first = body[body.index('<div id="first-paint"') : body.index('<div id="react-entry-point"')]
    assert "Luchtkwaliteit nu" in first and "µg/m³" in first and 'id="kpi-traffic"' in first


def test_scripts_are_deferred_polyfill_dropped_and_plotly_not_loaded_up_front(client):
    body = client.get("/air").get_data(as_text=True)
    srcs = re.findall(r"<script([^>]*) src=\"([^\"]+)\"", body)
    assert srcs and all("defer" in attrs for attrs, _ in srcs)
    assert not any("polyfill" in s or "plotly" in s for _, s in srcs)
    assert any(s.startswith("/assets/regenerator-runtime.min.js") for _, s in srcs)
    assert 'name="citydash-plotly" content="/assets/deferred/plotly-citydash.min.js?m=' in body
    # the renderer starts on DOMContentLoaded, once the first paint is on screen (assets/citydash.js)
    assert (
        'addEventListener("DOMContentLoaded", function () { (window.citydashAfterFirstPaint || function (run) '
        "{ run(); })(function () { window.renderer = new DashRenderer(" in body
    )
    assert "window.citydashAfterFirstPaint = function (run)" in client.get("/assets/citydash.js").get_data(as_text=True)


def test_the_bundle_is_served_and_compressed(client):
    r = client.get("/assets/deferred/plotly-citydash.min.js", headers={"Accept-Encoding": "gzip, deflate"})
    # a static file is streamed, and Flask-Compress streams deflate (not gzip) to a browser that accepts both
    assert r.status_code == 200 and r.headers.get("Content-Encoding") in ("gzip", "deflate")
    assert len(r.data) < 1_000_000  # on the wire; 3 MB uncompressed


def test_the_bundle_holds_every_trace_type_we_draw():
    banner = BUNDLE.read_text(encoding="utf-8")[:400]
    built = set(re.search(r"partial bundle: core \+ ([a-z ]+);", banner).group(1).split()) | {
        "scatter"
    }  # scatter is core
    assert set(figures.TRACE_TYPES) <= built
    script = (ROOT / "tools" / "build_plotly.sh").read_text()
    assert set(re.search(r'TRACES="([a-z ]+)"', script).group(1).split()) == built - {"scatter"}


def test_figures_use_only_bundled_trace_types(client):
    from tests.dashboard.pages.test_home import _update_map
    from tests.dashboard.pages.test_indicator_pages import _charts

    figs = [
        _update_map(
            client,
            ["air_station", "traffic_counter", "cycle_route", "cycle_counter", "bike_station", "comments"],
            choropleth="no2",
        )["home-map"]["figure"],
        *_charts(client, "air", "pm25"),
        *_charts(client, "traffic", "vehicles", prop="data"),
    ]
    assert {t["type"] for f in figs for t in f["data"]} <= set(figures.TRACE_TYPES)


def test_first_paint_escapes_text_and_drops_script_urls():
    out = to_html(
        html.Div(
            [
                html.A("<script>alert(1)</script>", href="javascript:alert(1)"),
                html.P('"q" & <b>', title='x" onload="y'),
            ],
            className="c",
            **{"aria-label": "a<b"},
        )
    )
    assert "<script>" not in out and "&lt;script&gt;" in out and "javascript:" not in out
    assert 'title="x&#34; onload=&#34;y"' in out and 'aria-label="a&lt;b"' in out


def test_first_paint_renders_controls_inert_and_skips_graphs():
    out = to_html(
        html.Div(
            [
                dcc.Checklist(options=[{"label": "A", "value": "a"}], value=["a"]),
                dcc.Graph(className="g"),
                dcc.Store(id="s"),
            ]
        )
    )
    assert 'type="checkbox" disabled checked' in out and '<div class="g"></div>' in out and 'id="s"' not in out


CHARTS_BUNDLE = ROOT / "assets" / "deferred" / "plotly-charts.min.js"


def test_the_charts_bundle_holds_what_the_indicator_pages_draw_and_no_map(client):
    from tests.dashboard.pages.test_indicator_pages import _charts

    banner = CHARTS_BUNDLE.read_text(encoding="utf-8")[:400]
    built = set(re.search(r"partial bundle: core \+ ([a-z ]+);", banner).group(1).split()) | {"scatter"}
    figs = [*_charts(client, "air", "pm25"), *_charts(client, "traffic", "vehicles", prop="data")]
    assert {t["type"] for f in figs for t in f["data"]} <= built
    assert "maplibre" not in banner and CHARTS_BUNDLE.stat().st_size < BUNDLE.stat().st_size / 2
    body = client.get("/traffic").get_data(as_text=True)
    assert 'name="citydash-plotly-charts" content="/assets/deferred/plotly-charts.min.js?m=' in body
    assert 'data-plotly="charts"' in body  # the first paint's slot names the bundle it needs


@pytest.mark.parametrize("path", ["/ledger", "/you-said-we-did", "/about", "/track/no-such-token", "/no-such-page"])
def test_reading_pages_are_plain_html_without_dashs_scripts(client, path):
    body = client.get(path + "?lang=es").get_data(as_text=True)
    assert '<html lang="es">' in body
    assert 'class="page plain-page"' in body and '<main id="main" lang="es">' in body
    srcs = re.findall(r"<script[^>]* src=\"([^\"]+)\"", body)
    assert srcs and all(s.startswith("/assets/") for s in srcs)  # no renderer, React or component suites
    assert "DashRenderer" not in body and "_dash-config" not in body and "react-entry-point" not in body


@pytest.mark.parametrize("path", ["/", "/air", "/report", "/comments/1"])
def test_pages_with_controls_keep_dash(client, path):
    body = client.get(path).get_data(as_text=True)
    assert 'id="react-entry-point"' in body and "plain-page" not in body


def test_plain_html_only_for_layouts_without_callbacks_or_components_only_dash_draws():
    from dashboard.http.frontend import plain_html

    page = html.Div([html.H1("Title"), html.P("<b>text</b>", id="note"), dcc.Store(id="s", data=1)])
    out = plain_html(page, callback_ids={"other"})
    assert out == '<div><h1>Title</h1><p id="note">&lt;b&gt;text&lt;/b&gt;</p></div>'
    assert plain_html(page, callback_ids={"note"}) is None  # a callback writes into it: Dash must draw it
    assert plain_html(html.Div(html.Button(id={"type": "x", "i": 1})), callback_ids=set()) is None  # pattern ids
    assert plain_html(html.Div(dcc.Graph(id="g")), callback_ids=set()) is None
    assert plain_html(html.Div(dcc.Input(id="i")), callback_ids=set()) is None


def test_the_tracking_page_in_the_html_is_kept_by_no_cache(client, demo_engine, demo_city):
    from data_sources.comments.records import CommentInput, submit_comment

    stored = submit_comment(
        demo_engine, demo_city, CommentInput(lat=48.5, lon=9.0, category="street", text="Loose slab.")
    )
    r = client.get(f"/track/{stored.tracking_token}")
    assert "Loose slab." in r.get_data(as_text=True) and r.headers["Cache-Control"] == "no-store"
