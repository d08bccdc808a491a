"""The web pages in a real browser: Debian's Chromium, driven by Playwright, against the server.

Each test walks one reader's, monitor's or reviewer's path through the pages, screenshots every
page it passes (var/screenshots/<page>-desktop.png and -phone.png) and checks it with axe-core:
no serious or critical violation is allowed. A test asserts its axe findings at its end, so a
violation on one page does not hide whether the rest of the path works. SQLite only (see
conftest.py); the tests share one server, and only the last one changes what others read.
"""

import re
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.web.conftest import SCREENSHOTS, Audit, LiveServer

QUESTION = "How many attacks were there in Khyber Pakhtunkhwa in 2023?"
TRENDS = "/trends?metric=attacks&table=Table+1&group_by=region"
CLAUSE = "nap-2014-clause-10"


def test_machinery_loads_the_api_docs(page: Page, audit: Audit) -> None:
    """The server, the browser, screenshots and axe work together (independent of the pages).

    /docs is FastAPI's Swagger page, not one of ours (its script comes from a CDN, blocked
    here): what axe finds on it is not asserted; a page with known faults must be caught.
    """
    page.goto("/docs")
    expect(page).to_have_title("Nigran - Swagger UI")
    audit.check(page, "api-docs")
    for width in ("desktop", "phone"):
        assert (SCREENSHOTS / f"api-docs-{width}.png").stat().st_size > 0

    audit.violations.clear()
    audit.page_errors.clear()
    page.set_content(
        '<html lang="en"><title>t</title><main><img src="x.png"></main>'
        '<script>throw new Error("self-test")</script></html>'
    )
    audit.check(page, "axe-self-test", screenshot=False)
    assert any("image-alt [critical]" in v for v in audit.violations), audit.violations
    assert any("self-test" in e for e in audit.page_errors), audit.page_errors


def test_dashboard_then_a_clause(page: Page, audit: Audit, live_server: LiveServer) -> None:
    clause = httpx.get(f"{live_server.url}/api/v1/items/nap-2014-clause-07").json()

    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("counter-terrorism")
    expect(page.get_by_role("table", name=re.compile("^NAP clauses by status"))).to_be_visible()
    audit.check(page, "dashboard")

    page.get_by_text("The 20 clauses and their status").click()  # a <details> summary
    page.get_by_role("link", name=clause["title"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/items/nap-2014-clause-07$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(clause["title"])
    expect(page.get_by_role("region", name="Current status")).to_be_visible()
    audit.check(page, "item")
    audit.assert_clean()


def test_timeline_filtered_by_theme(page: Page, audit: Audit) -> None:
    page.goto("/timeline")
    expect(page.get_by_role("heading", level=1)).to_have_text("Timeline")
    events = page.locator("ol.timeline > li")
    expect(events.first).to_be_visible()
    audit.check(page, "timeline")
    everything = events.count()

    page.get_by_label("Theme").select_option("madrassa_reform")
    page.get_by_label("Order").select_option("desc")
    page.get_by_role("button", name="Show events").click()
    expect(page).to_have_url(re.compile(r"theme=madrassa_reform"))
    expect(events.first).to_be_visible()
    assert 0 < events.count() < everything
    dates = events.locator(".date").all_inner_texts()  # "7 April 2023", "April 2022", "2015"
    years = [int(re.findall(r"\d{4}", d)[-1]) for d in dates]
    assert years == sorted(years, reverse=True), dates  # newest first
    audit.assert_clean()


def test_search_for_madrasa(page: Page, audit: Audit) -> None:
    page.goto("/search")
    page.get_by_label("Words to search for").fill("madrasa")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/search\?q=madrasa$"))
    results = page.locator("ol.results").get_by_role("link")
    expect(results.first).to_be_visible()
    titles = results.all_inner_texts()
    hrefs = [results.nth(i).get_attribute("href") or "" for i in range(len(titles))]
    assert any(
        re.search("madrass?a", title, re.I) and href.startswith("/items/")
        for title, href in zip(titles, hrefs, strict=True)
    ), list(zip(titles, hrefs, strict=True))
    audit.check(page, "search")
    audit.assert_clean()


def test_trend_and_its_csv(page: Page, audit: Audit) -> None:
    page.goto(TRENDS)
    expect(page.get_by_label("Metric")).to_have_value("attacks")
    expect(page.get_by_label("Report table")).to_have_value("Table 1")
    kp = page.get_by_role("table", name=re.compile("Khyber Pakhtunkhwa"))
    expect(kp).to_contain_text("318")
    audit.check(page, "trends")

    link = page.get_by_role("link", name="CSV", exact=True)
    with page.expect_download() as download:
        link.click()  # the API answers Content-Disposition: attachment
    csv = download.value.path().read_text()
    assert "Khyber Pakhtunkhwa" in csv, csv
    assert "173" in csv and "318" in csv, csv
    query = parse_qs(urlparse(link.get_attribute("href") or "").query)
    assert query["metric"] == ["attacks"] and query["table"] == ["Table 1"], query
    audit.assert_clean()


def test_chat_answers_and_cites(page: Page, audit: Audit, live_server: LiveServer) -> None:
    page.goto("/chat")
    page.get_by_label("Your question").fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    answer = page.locator(".answer").first
    expect(answer).to_contain_text("174")
    expect(page.get_by_label("Ask a follow-up question")).to_be_visible()
    audit.check(page, "chat")

    citation = answer.locator(".citations").get_by_role("link").first
    href = urljoin(page.url, citation.get_attribute("href") or "")
    assert href.startswith(live_server.url), href
    with page.expect_navigation() as navigation:
        citation.click()
    assert navigation.value is not None and navigation.value.status == 200, href
    audit.assert_clean()


def test_briefing_prints_to_a4(page: Page, audit: Audit) -> None:
    page.goto("/briefing")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Progress briefing")
    audit.check(page, "briefing")

    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Show")).to_be_hidden()  # the form is .no-print
    page.screenshot(path=SCREENSHOTS / "briefing-print.png", full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    (SCREENSHOTS / "briefing.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000, len(pdf)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert boxes, "no page in the PDF"
    a4 = (595.28, 841.89)  # points; Chromium rounds A4 to 8.27 x 11.7 inches
    assert all(abs(float(w) - a4[0]) < 2 and abs(float(h) - a4[1]) < 2 for w, h in boxes), boxes
    audit.assert_clean()


def _nap_counts(page: Page) -> dict[str, int]:
    """The dashboard's NAP scorecard: status (as shown) -> number of clauses."""
    page.goto("/")
    table = page.get_by_role("table", name=re.compile("^NAP clauses by status"))
    expect(table).to_be_visible()
    rows = table.locator("tbody tr")
    return {
        rows.nth(i).locator("th").inner_text().strip(): int(rows.nth(i).locator("td").inner_text())
        for i in range(rows.count())
    }


def _current_status(page: Page) -> Locator:
    return page.get_by_role("region", name="Current status").locator(".status").first


def _sign_in(page: Page, key: str) -> None:
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def test_monitor_proposes_and_reviewer_approves(
    new_context, audit: Audit, live_server: LiveServer
) -> None:
    reader = new_context().new_page()
    before = _nap_counts(reader)
    reader.goto(f"/items/{CLAUSE}")
    expect(_current_status(reader)).to_have_text("partially implemented")

    monitor = new_context().new_page()
    monitor.goto("/signin")
    audit.check(monitor, "signin")
    monitor.goto(f"/items/{CLAUSE}/propose")
    _sign_in(monitor, live_server.keys["monitor"])
    expect(monitor).to_have_url(re.compile(rf"/items/{CLAUSE}/propose$"))
    expect(monitor.get_by_role("heading", level=1)).to_have_text("Propose a status update")
    audit.check(monitor, "propose")
    monitor.get_by_label("Status", exact=True).select_option("implemented")
    monitor.get_by_label("Effective date").fill("2025-01-15")
    monitor.get_by_label("Note").fill("All seminaries in the four provinces are now registered.")
    monitor.get_by_label("Source address (URL)").fill("https://example.org/madrassa-census")
    monitor.get_by_label("Source title").fill("Ministry of Education seminary census")
    monitor.get_by_label("Source published on").fill("2025-01-10")
    monitor.get_by_role("button", name="Propose this update").click()
    expect(monitor).to_have_url(re.compile(rf"/items/{CLAUSE}$"))
    expect(_current_status(monitor)).to_have_text("partially implemented")  # pending: unchanged

    reviewer = new_context().new_page()  # a fresh context: its own cookies
    reviewer.goto("/review")
    _sign_in(reviewer, live_server.keys["reviewer"])
    expect(reviewer).to_have_url(re.compile(r"/review$"))
    proposal = reviewer.get_by_role("article").filter(
        has=reviewer.get_by_role("link", name=CLAUSE, exact=True)
    )
    expect(proposal).to_have_count(1)
    expect(proposal).to_contain_text("All seminaries in the four provinces are now registered.")
    audit.check(reviewer, "review")
    proposal.get_by_role("button", name=re.compile(r"^Approve status update #\d+$")).click()
    expect(reviewer).to_have_url(re.compile(r"/review$"))
    expect(proposal).to_have_count(0)

    reader.goto(f"/items/{CLAUSE}")
    expect(_current_status(reader)).to_have_text("implemented")
    expect(reader.get_by_role("region", name="Current status")).to_contain_text(
        "All seminaries in the four provinces are now registered."
    )
    after = _nap_counts(reader)
    assert after.get("implemented", 0) == before.get("implemented", 0) + 1, (before, after)
    assert after.get("partially implemented", 0) == before["partially implemented"] - 1, (
        before,
        after,
    )
    expect(reader.get_by_role("region", name=re.compile("^Recent changes"))).to_contain_text(
        "All seminaries in the four provinces are now registered."
    )
    audit.assert_clean()
