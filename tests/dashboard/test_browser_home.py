"""A real headless Chromium opens the home page: the map canvas and the KPI values appear, with no console error."""
import pytest

pytestmark = pytest.mark.browser


def test_home_in_chromium(live_server, page):
    page.goto(live_server + "/")
    page.wait_for_selector("#kpi-air .kpi-number", timeout=30_000)
    page.wait_for_selector(".maplibregl-canvas", timeout=30_000)
    assert "µg/m³" in page.inner_text("#kpi-air .kpi-number")
    assert page.inner_text("#kpi-comments .kpi-number").replace(",", "").isdigit()
    page.wait_for_timeout(1500)  # let MapLibre finish: a failed tile or font fetch would log an error
    assert page.errors == []


def test_layer_switch_in_chromium(live_server, page):
    page.goto(live_server + "/")
    page.wait_for_selector(".maplibregl-canvas", timeout=30_000)
    legend_before = page.locator(".legend .traces").count()
    page.get_by_label("Air quality", exact=True).uncheck()
    # Polled from Python: wait_for_function evaluates a string, which the CSP (no 'unsafe-eval') forbids.
    for _ in range(150):
        if page.locator(".legend .traces").count() < legend_before:
            break
        page.wait_for_timeout(100)
    assert page.locator(".legend .traces").count() < legend_before
    assert page.errors == []
