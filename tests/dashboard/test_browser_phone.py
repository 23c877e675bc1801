"""Every public page on a 390 x 844 phone in a real headless Chromium (issue 17, item 2 and the comment page): charts
full width, no sideways scrolling, the compact header and its Menu button, "Tell the city" on the first screen,
tables as cards or with a scroll cue, chart dates in the page's language, the comment page's map and "Me too"
only on open comments."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from data_sources.store.models import OPEN_STATUSES, Comment
from tests.dashboard.test_browser_dashboard import settle
from tests.support import new_tab

pytestmark = pytest.mark.browser
INDICATORS = ["/air", "/traffic", "/cycling"]
PUBLIC = ["/", *INDICATORS, "/report", "/comments/{open}", "/ledger", "/you-said-we-did", "/about", "/track"]


@pytest.fixture
def phone(browser):
    p = new_tab(browser, viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True, has_touch=True)
    yield p
    p.context.close()


def comment_ids(engine) -> dict[str, int]:
    """A published open comment and a published resolved one of the demo city."""
    with engine.connect() as conn:
        first = {
            s: conn.scalar(
                select(Comment.id).where(Comment.moderation == "published", Comment.status.in_(s)).order_by(Comment.id)
            )
            for s in (OPEN_STATUSES, ("resolved",))
        }
    return {"open": first[OPEN_STATUSES], "resolved": first[("resolved",)]}


def load_charts(page, path: str) -> None:
    page.goto(path)
    settle(page)
    page.locator(".deferred").first.scroll_into_view_if_needed()
    page.wait_for_function(
        "document.querySelectorAll('.deferred .js-plotly-plot .main-svg').length >= 2", timeout=30_000
    )


@pytest.mark.parametrize("path", INDICATORS)
def test_charts_stack_full_width_on_a_phone_and_sit_side_by_side_on_a_desktop(live_server, phone, page, path):
    load_charts(phone, live_server + path)
    boxes = phone.evaluate(
        "Array.from(document.querySelectorAll('.deferred .js-plotly-plot')).map(g => g.getBoundingClientRect().toJSON())"
    )
    assert len(boxes) == 2
    assert all(b["width"] >= 300 for b in boxes), boxes
    assert boxes[1]["top"] >= boxes[0]["bottom"] - 1  # one under the other
    # Ticks a person can read: the date axis labels do not overlap each other.
    ticks = phone.evaluate(
        "Array.from(document.querySelectorAll('.deferred .js-plotly-plot')[0].querySelectorAll('.xtick text'))"
        ".map(t => t.getBoundingClientRect().toJSON())"
    )
    assert len(ticks) >= 2 and all(a["right"] <= b["left"] for a, b in zip(ticks, ticks[1:]))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    load_charts(page, live_server + path)  # 1280 px: as before, side by side, each about 300 px or more
    desk = page.evaluate(
        "Array.from(document.querySelectorAll('.deferred .js-plotly-plot')).map(g => g.getBoundingClientRect().toJSON())"
    )
    assert all(b["width"] >= 300 for b in desk) and abs(desk[0]["top"] - desk[1]["top"]) < 2
    for tab in (phone, page):  # nothing after the charts is drawn under them
        below = tab.evaluate("document.querySelector('.deferred').nextElementSibling.getBoundingClientRect().top")
        bottom = tab.evaluate(
            "Math.max(...Array.from(document.querySelectorAll('.deferred .js-plotly-plot'))"
            ".map(g => g.getBoundingClientRect().bottom))"
        )
        assert below >= bottom - 1


@pytest.mark.parametrize("path", PUBLIC)
def test_every_public_page_fits_a_phone_with_tell_the_city_on_the_first_screen(
    live_server, phone, demo_engine, path, tmp_path
):
    url = live_server + path.format(**comment_ids(demo_engine))
    phone.goto(url)
    settle(phone)
    cta = phone.locator(".site-header a.cta")
    assert cta.count() == 1 and cta.inner_text() == "Tell the city"
    box = cta.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844 and box["width"] >= 44
    # The primary action looks it: filled with the accent colour, white text.
    colours = cta.evaluate("e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]")
    assert colours == ["rgb(0, 90, 156)", "rgb(255, 255, 255)"]
    # The compact header: the page's own content starts within the first third of the screen.
    assert phone.locator("main").bounding_box()["y"] < 844 / 3
    phone.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # deferred charts and maps load too
    phone.wait_for_timeout(1200)
    settle(phone)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert phone.errors == []


def test_the_menu_button_opens_and_closes_the_menu_with_mouse_and_keyboard(live_server, phone):
    phone.goto(live_server + "/air")
    settle(phone)
    button = phone.get_by_role("button", name="Menu")
    ledger = phone.get_by_role("link", name="The city's record")
    assert button.get_attribute("aria-expanded") == "false" and not ledger.is_visible()
    button.click()
    assert button.get_attribute("aria-expanded") == "true" and ledger.is_visible()
    assert phone.get_by_role("link", name="Español").is_visible()
    button.click()
    assert button.get_attribute("aria-expanded") == "false" and not ledger.is_visible()
    button.focus()
    phone.keyboard.press("Enter")
    assert button.get_attribute("aria-expanded") == "true"
    phone.keyboard.press("Tab")  # the menu follows the button in the tab order
    assert phone.evaluate("document.activeElement.closest('#site-menu') !== null")
    phone.keyboard.press("Escape")
    assert button.get_attribute("aria-expanded") == "false" and not ledger.is_visible()
    assert phone.evaluate("document.activeElement.classList.contains('menu-button')")
    phone.set_viewport_size({"width": 1280, "height": 900})  # a desktop: no button, the menu always there
    assert not button.is_visible() and ledger.is_visible()


def test_the_menu_button_works_on_the_first_paint_before_dash_draws(live_server, browser):
    """The button needs no Dash callback: with Dash's scripts blocked, the server-rendered page's menu opens."""
    tab = new_tab(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        tab.route("**/_dash-component-suites/**", lambda route: route.abort())
        tab.goto(live_server + "/air")
        tab.wait_for_selector("#first-paint .menu-button")
        tab.wait_for_function("document.readyState === 'complete'")
        tab.click("#first-paint .menu-button")
        assert tab.get_attribute("#first-paint .menu-button", "aria-expanded") == "true"
        assert tab.locator("#first-paint #site-menu .nav a").first.is_visible()
    finally:
        tab.context.close()


def test_wide_tables_are_cards_on_a_phone_and_scroll_with_a_cue_in_between(live_server, phone, browser):
    phone.goto(live_server + "/ledger")
    settle(phone)
    rows = phone.locator("#ledger-table tbody tr")
    assert rows.count() > 3
    first = rows.first
    assert first.evaluate("e => getComputedStyle(e).display") == "block"  # a card, not a table row
    assert first.bounding_box()["width"] <= 366
    label = first.locator("td[data-label]").nth(1)
    assert label.evaluate("e => getComputedStyle(e, '::before').content") == '"Comments"'
    assert not phone.locator(".table-box .scroll-cue").first.is_visible()  # cards fit: no cue needed
    # /about: the sources as cards; no word is broken letter by letter (each cell is as wide as its longest word).
    phone.goto(live_server + "/about")
    settle(phone)
    cells = phone.evaluate("""Array.from(document.querySelectorAll('.sources-table td, .sources-table th[scope=row]'))
        .map(td => { const r = document.createRange(); const words = td.textContent.split(/\\s+/).filter(Boolean);
          return [td.getBoundingClientRect().width, Math.max(0, ...words.map(w => w.length))]; })""")
    assert cells and all(width >= 150 for width, _longest in cells), cells
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    # A tablet 800 px wide: the ledger is a table again, wider than its box, and says it scrolls.
    tab = new_tab(browser, viewport={"width": 800, "height": 900})
    try:
        tab.goto(live_server + "/ledger")
        settle(tab)
        tab.wait_for_selector(".table-box[data-overflow] .scroll-cue", state="visible", timeout=5_000)
        assert tab.get_attribute("#ledger-table", "class").count("stack-table") == 1
        assert tab.evaluate("getComputedStyle(document.querySelector('#ledger-table tr')).display") == "table-row"
        assert tab.evaluate("document.documentElement.scrollWidth") <= 800  # the box scrolls, not the page
        region = tab.get_by_role("region", name="The city's record")
        region.focus()
        tab.keyboard.press("ArrowRight")
        tab.wait_for_function("document.querySelector('#ledger-table').parentElement.scrollLeft > 0")
    finally:
        tab.context.close()


def test_one_show_the_data_as_a_table_per_chart_block(live_server, phone):
    phone.goto(live_server + "/air")
    settle(phone)
    summaries = phone.get_by_text("Show the data as a table", exact=True)
    assert summaries.count() == 1
    summaries.click()
    phone.locator(".table-details table caption").nth(1).wait_for(timeout=15_000)  # drawn once opened
    assert phone.locator(".table-details table caption").all_inner_texts() == [
        "Fine particles (PM2.5) over time",
        "Fine particles (PM2.5) by district",
    ]


@pytest.mark.parametrize(
    ("lang", "query", "expect"),
    [
        ("nl", "from=2026-10-20&to=2026-11-05", "okt"),  # Dutch month abbreviations on the ticks
        ("pt", "from=2026-10-20&to=2026-11-05", "Out"),
    ],
)
def test_chart_dates_in_the_page_language(live_server, phone, lang, query, expect):
    load_charts(phone, f"{live_server}/air?lang={lang}&{query}")
    ticks = phone.evaluate(
        "Array.from(document.querySelectorAll('#air-timeseries .xtick text')).map(t => t.textContent).join(' ')"
    )
    assert expect in ticks and "Oct" not in ticks, ticks


def test_chart_dates_in_spanish(live_server, phone):
    """Spanish shares "Oct" and "Nov" with English, so the demo's ticks cannot tell; the chart's own date format
    (Plotly's locale as applied to this chart) names December "Dic"."""
    load_charts(phone, f"{live_server}/traffic?lang=es")
    dec = phone.evaluate(
        "document.querySelector('#traffic-timeseries .js-plotly-plot')._fullLayout._d3locale"
        ".timeFormat('%b %B')(new Date(2026, 11, 1))"
    )
    assert dec == "Dic Diciembre"
    assert phone.evaluate("document.querySelector('#traffic-timeseries .js-plotly-plot')._context.locale") == "es"


def test_the_comment_page_has_its_map_and_me_too_only_when_open(live_server, phone, demo_engine):
    ids = comment_ids(demo_engine)
    phone.goto(f"{live_server}/comments/{ids['resolved']}")
    settle(phone)
    img = phone.locator("#comment-map img")
    img.scroll_into_view_if_needed()
    phone.wait_for_function("document.querySelector('#comment-map img').naturalWidth > 0")
    assert "170 m" in img.get_attribute("alt")
    assert phone.get_by_role("button", name="Me too").count() == 0
    assert 'takes no more "me too"' in phone.inner_text("#comment-closed-note")
    assert phone.get_by_text("Report this comment to the moderators").count() == 1  # flagging stays
    phone.goto(f"{live_server}/comments/{ids['open']}")
    settle(phone)
    assert phone.get_by_role("button", name="Me too").count() == 1
    assert phone.locator("#comment-map img").count() == 1
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.errors == []
