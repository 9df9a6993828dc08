"""What a visitor and an agency do, in a real Chromium against `tradepoint serve`.

Every flow runs with JavaScript switched off in the browser: the pages must work without it.
`test_no_page_loads_javascript` turns it back on to prove no page asks for any.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.helpers.browser import LiveServer, Tab, missing_browser, new_tab
from tests.helpers.sites import SITES, start_site, stop_site

_missing = missing_browser()
if _missing:
    pytest.skip(f"browser tests skipped: {_missing}", allow_module_level=True)

from playwright.sync_api import Browser, Locator, Page, expect  # noqa: E402  (after the skip)

pytestmark = pytest.mark.browser


def header_search(page: Page, words: str) -> None:
    """Type words into the search box every page has, and submit it as a user would."""
    form = page.get_by_role("search")
    form.get_by_role("searchbox").fill(words)
    form.get_by_role("button").click()


def facet(page: Page, heading: str) -> Locator:
    return page.locator("aside.facets section").filter(
        has=page.get_by_role("heading", name=heading, exact=True)
    )


def chips(page: Page) -> Locator:
    return page.locator("p.active a.chip")


def result_count(page: Page) -> int:
    heading = page.get_by_role("heading", level=1).inner_text()
    found = re.match(r"(\d+) result", heading)
    assert found, f"no result count in {heading!r}"
    return int(found.group(1))


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


# --------------------------------------------------------------------------- 1. search + facet


def test_search_then_refine_by_a_market_facet_and_remove_the_filter(
    page: Page, live_server: LiveServer
) -> None:
    page.goto("/")
    header_search(page, "food")
    page.wait_for_url(re.compile(r"/search\?q=food$"))
    total = result_count(page)
    assert total > 4

    germany = facet(page, "Market").get_by_role("link", name="Germany", exact=True)
    # "4 +12 EU": 4 records tagged DE, and the link also finds the 12 tagged EU
    counts = germany.locator("xpath=following-sibling::small[1]").inner_text()
    tagged, via_eu = (int(n) for n in re.fullmatch(r"(\d+) \+(\d+) EU", counts).groups())  # type: ignore[union-attr]
    germany.click()
    page.wait_for_url(re.compile(r"market=DE"))
    assert query_of(page) == {"q": ["food"], "market": ["DE"]}
    expect(chips(page).filter(has_text="Germany")).to_be_visible()
    expect(facet(page, "Market").locator("li.on")).to_contain_text("Germany")
    # The page shows what the API finds: records tagged DE plus EU-wide ones (a bloc of DE).
    api = httpx.get(f"{live_server.url}/api/v1/search", params={"q": "food", "market": "DE"})
    refined = result_count(page)
    assert refined == api.json()["total"] and tagged <= refined < total
    assert max(tagged, via_eu) <= refined <= tagged + via_eu
    items = page.locator("ol.results > li.item")
    expect(items).to_have_count(min(refined, 20))
    for text in items.all_inner_texts():
        assert re.search(r"Germany|\bDE\b|\bEU\b", text), text

    chips(page).filter(has_text="Germany").click()
    page.wait_for_url(re.compile(r"/search\?q=food$"))
    assert result_count(page) == total
    expect(chips(page).filter(has_text="Germany")).to_have_count(0)
    expect(chips(page).filter(has_text="food")).to_be_visible()


# --------------------------------------------------------------------------- 2. a record


def test_open_a_record_and_see_its_provenance(page: Page, live_server: LiveServer) -> None:
    page.goto("/search?q=coffee&kind=fair")
    first = page.locator("ol.results > li.item a.t").first
    title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/records/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("heading", name="Provenance")).to_be_visible()
    prov = page.locator("dl.prov")
    for term in ("Source", "First seen", "Last seen", "Last changed"):
        expect(prov.locator("dt", has_text=term).first).to_be_visible()
    record_id = page.url.rsplit("/records/", 1)[1]
    source_id = re.sub(r"%3A.*|:.*", "", record_id)
    source = httpx.get(f"{live_server.url}/api/v1/sources/{source_id}").json()
    # the source by its name (the demo's calendar, the starter catalogue), not its id
    expect(prov.locator("dd").first).to_contain_text(source["name"])
    expect(prov.locator("dd").first).not_to_contain_text(source_id)


# --------------------------------------------------------------------------- 4. subscribe


def test_subscribe_to_a_search_by_email(page: Page, live_server: LiveServer) -> None:
    address = "advisor.browser@example.org"
    page.goto("/search?q=coffee&kind=fair")
    form_opener = page.locator("details.subscribe > summary")
    form_opener.click()
    page.get_by_label("Email").fill(address)
    page.get_by_label("How often").select_option("daily")
    page.get_by_role("button", name="Subscribe").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(page.locator("main")).to_contain_text(address)
    expect(page.locator("main")).to_contain_text("coffee")

    deadline = time.monotonic() + 30
    while not live_server.mailbox.to(address) and time.monotonic() < deadline:
        time.sleep(0.1)
    [message] = live_server.mailbox.to(address)
    body = message.get_body(("plain",))
    assert body is not None
    link = re.search(r"https?://\S+/subscriptions/\S+/confirm", body.get_content())
    assert link and link.group(0).startswith(live_server.url), body.get_content()

    # The link in the email confirms the subscription in the browser.
    page.goto(link.group(0))
    expect(page.locator("main")).to_contain_text(re.compile("confirmed", re.I))


# --------------------------------------------------------------------------- 5. agency


def test_an_agency_adds_an_html_source_with_the_form_previews_crawls_and_removes_it(
    page: Page, live_server: LiveServer
) -> None:
    """Issue 16, point 7: no YAML written; the preview is a table of fields; the crawl runs
    against a loopback fixture site; removing asks first."""
    site, server = start_site(SITES / "html")
    try:
        page.goto("/agency")
        page.wait_for_url(re.compile(r"/agency/signin$"))
        page.get_by_label("API key").fill(live_server.agency_key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/agency/sources$"))
        expect(page.get_by_role("status")).to_contain_text("Signed in as browser_agency")

        page.get_by_role("link", name="Add a source").first.click()
        page.wait_for_url(re.compile(r"/agency/sources/new$"))
        page.get_by_label("Finance").check()
        page.locator('input[name="format"][value="html"]').check()
        page.get_by_role("button", name="Next").click()
        page.wait_for_url(re.compile(r"format=html"))
        expect(page.locator('textarea[name="spec"]')).to_have_count(0)
        page.get_by_label("Identifier").fill("xx_browser_programmes")
        page.get_by_label("Name", exact=False).first.fill("Browser test programmes")
        page.get_by_label("Start URLs").fill(site.url("/finance/index.html"))
        page.get_by_label("Item selector").fill("tr.programme")
        page.locator('input[name="selectors.fields.title"]').fill("td.name a")
        page.locator('input[name="selectors.fields.url"]').fill("td.name a::attr(href)")
        page.locator('input[name="selectors.fields.provider.name"]').fill("td.provider::text")
        page.get_by_label("Schedule (cron, UTC)").fill("30 2 * * 1")

        page.get_by_role("button", name="Preview").click()
        preview = page.locator("section.preview")
        expect(preview.get_by_role("heading", level=2)).to_contain_text(
            re.compile(r"Preview: \d+ records? from \d+ pages?")
        )
        table = preview.locator("table.preview")
        expect(table.locator("thead")).to_contain_text("provider.name")
        expect(table.locator("tbody")).to_contain_text("Fixture Export Credit Agency")
        assert table.locator("tbody tr").count() >= 2
        expect(preview.locator(".unfilled")).to_contain_text("tenor_max_days")
        # Preview writes nothing: the form keeps what was typed, ready to save.
        expect(page.get_by_label("Item selector")).to_have_value("tr.programme")

        page.get_by_role("button", name="Save").click()
        page.wait_for_url(re.compile(r"/agency/sources/xx_browser_programmes$"))
        expect(page.get_by_role("status")).to_contain_text("Source xx_browser_programmes saved.")

        page.get_by_role("button", name="Crawl now").click()
        page.wait_for_url(re.compile(r"/agency/sources/xx_browser_programmes$"))
        for _ in range(60):
            if page.locator("tr.run-succeeded, tr.run-failed").count():
                break
            page.wait_for_timeout(1000)
            page.reload()
        expect(page.locator("tr.run-succeeded")).to_have_count(1)
        expect(page.locator("span.health")).to_have_text("Healthy")
        expect(page.locator("table.runs")).to_contain_text(re.compile(r"\d\d:\d\d UTC"))

        remove = page.get_by_role("link", name="Remove…")
        assert "danger" in (remove.get_attribute("class") or "")
        remove.click()
        page.wait_for_url(re.compile(r"/agency/sources/xx_browser_programmes/delete$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Remove the source")
        page.get_by_role("button", name="Yes, remove the source").click()
        page.wait_for_url(re.compile(r"/agency/sources$"))
        expect(page.get_by_role("status")).to_contain_text("xx_browser_programmes removed")
        expect(
            page.locator("ul.results > li.item", has_text="xx_browser_programmes")
        ).to_have_count(0)
    finally:
        stop_site(server)


# --------------------------------------------------------------------------- 6. market page


def test_export_to_france_with_a_product_search(page: Page) -> None:
    page.goto("/")
    guide = page.locator("form").filter(has=page.get_by_role("button", name="Market guide"))
    guide.get_by_label("Export to").fill("France")
    guide.get_by_label("Product").fill("roasted coffee")
    guide.get_by_role("button", name="Market guide").click()

    page.wait_for_url(re.compile(r"/markets/FR\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Export to France")
    suggestions = page.locator("section.hs")
    expect(suggestions.get_by_role("heading")).to_contain_text("roasted coffee")
    requirements = page.get_by_role("heading", name=re.compile(r"^Requirements"))
    before = int(re.search(r"\((\d+)\)", requirements.inner_text()).group(1))  # type: ignore[union-attr]

    suggestions.get_by_role("link", name="090121", exact=True).click()
    page.wait_for_url(re.compile(r"/markets/FR\?hs=090121"))
    expect(requirements).to_contain_text("for HS 090121")
    after = int(re.search(r"\((\d+)\)", requirements.inner_text()).group(1))  # type: ignore[union-attr]
    assert 0 < after < before
    # EU-wide food labelling applies to coffee in France; textile labelling no longer shows.
    main = page.locator("main")
    expect(main).to_contain_text("food labelling")
    expect(main).not_to_contain_text("textile fibre")


# --------------------------------------------------------------------------- 7. mobile


def assert_no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "[document.scrollingElement.scrollWidth, window.innerWidth, document.body.scrollWidth]"
    )
    assert widths[1] == 375, widths
    assert widths[0] <= widths[1] and widths[2] <= widths[1], (
        f"{page.url} scrolls sideways: {widths}"
    )


def test_a_narrow_phone_has_no_horizontal_scrolling_and_can_search(mobile_tab: Tab) -> None:
    page = mobile_tab.page
    page.goto("/")
    assert_no_horizontal_scroll(page)
    searchbox = page.get_by_role("search").get_by_role("searchbox")
    expect(searchbox).to_be_visible()
    expect(searchbox).to_be_in_viewport()
    box = searchbox.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    header_search(page, "coffee")
    page.wait_for_url(re.compile(r"/search\?q=coffee$"))
    assert result_count(page) > 0
    assert_no_horizontal_scroll(page)

    page.locator("ol.results > li.item a.t").first.click()
    page.wait_for_url(re.compile(r"/records/"))
    expect(page.get_by_role("heading", name="Provenance")).to_be_visible()
    assert_no_horizontal_scroll(page)


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_a_phone_header_has_nothing_on_top_of_anything(mobile_tab: Tab, lang: str) -> None:
    page = mobile_tab.page
    for path in (f"/?lang={lang}", "/search?q=coffee", "/markets/FR?hs=090121&origin=KE"):
        page.goto(path)
        parts = {
            name: page.locator(selector).first.bounding_box()
            for name, selector in [
                ("brand", "header .brand"),
                ("search box", "header form.search input"),
                ("search button", "header form.search button"),
                ("agencies", "header .navlink"),
                ("languages", "header nav.lang"),
            ]
        }
        for name, box in parts.items():
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, (path, name, box)
        names = list(parts)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                assert not overlap(parts[a], parts[b]), (path, a, b, parts[a], parts[b])  # type: ignore[arg-type]
        assert_no_horizontal_scroll(page)


def test_a_phone_reaches_the_filters_from_the_top_of_the_results(mobile_tab: Tab) -> None:
    page = mobile_tab.page
    page.goto("/search?kind=fair")
    link = page.locator("a[href='#filters']")
    expect(link).to_be_visible()
    box = link.bounding_box()
    assert box and box["y"] + box["height"] <= 740, box  # in the first screen, no scrolling
    facets = page.locator("#filters")
    assert (facets.bounding_box() or {"y": 0})["y"] > 740  # the filters themselves are below
    link.click()
    expect(page).to_have_url(re.compile(r"#filters$"))  # a jump within the page
    expect(facets.get_by_role("heading").first).to_be_in_viewport()
    facet(page, "Sector").get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/search\?kind=fair&sector="))


# --------------------------------------------------------------------------- 8. no JavaScript


@pytest.fixture
def scripted_tab(browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Tab:
    """A context with JavaScript on, so any script a page asks for would be fetched."""
    return new_tab(browser, live_server, request, javascript=True)


def test_no_page_loads_javascript(scripted_tab: Tab) -> None:
    page = scripted_tab.page
    page.goto("/search?q=food")
    record = page.locator("ol.results > li.item a.t").first.get_attribute("href")
    assert record
    pages = [
        "/",
        "/search?q=food",
        "/search?q=food&market=DE",
        record,
        "/markets/FR?hs=0901",
        "/agency/signin",
    ]
    for path in pages:
        response = page.goto(path)
        assert response is not None and response.ok, path
        found = page.evaluate(
            """() => ({
                scripts: document.querySelectorAll('script').length,
                handlers: [...document.querySelectorAll('*')].flatMap(
                    e => [...e.attributes].filter(a => a.name.startsWith('on')).map(a => a.name)),
                jsLinks: [...document.querySelectorAll('[href^="javascript:" i]')].length,
            })"""
        )
        assert found == {"scripts": 0, "handlers": [], "jsLinks": 0}, (path, found)
    assert scripted_tab.scripts == []


# --------------------------------------------------------------------------- 3. language


def test_switch_language_to_french(page: Page) -> None:
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    switch = page.locator("nav.lang")
    expect(switch).to_be_visible()
    switch.locator("a[href*='lang=fr']").click()
    page.wait_for_url(re.compile(r"lang=fr"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).not_to_have_text(
        "Find where and how to sell abroad"
    )
    expect(page.get_by_role("search").get_by_role("button")).to_have_text(
        re.compile(r"Rechercher|Chercher", re.I)
    )
    # The choice sticks: the next page (a search) is French too.
    header_search(page, "café")
    page.wait_for_url(re.compile(r"/search\?"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("main")).to_contain_text(re.compile(r"résultats?|Aucun", re.I))
