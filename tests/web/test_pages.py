"""The HTML pages over HTTP on both engines: real data from the same services as the API, safe
headers, escaped input, labelled forms, HTML refusals, and a chat form other sites cannot post."""

import csv
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from httpx import AsyncClient, Response

from app.web import templates
from app.web.security import CONTENT_SECURITY_POLICY, HEADERS

PAGES = [
    "/",
    "/items/nap-2014-clause-10",
    "/items/nap-2014",
    "/timeline",
    "/timeline?theme=madrassa_reform&from=2015-01-01",
    "/trends",
    "/trends?metric=attacks&table=Table+1&group_by=region&region=KPK",
    "/search",
    "/search?q=madrasa",
    "/chat",
    "/briefing",
]
KP_2023 = "How many attacks were there in Khyber Pakhtunkhwa in 2023?"
SCRIPT = "<script>alert(1)</script>"
FORM = {"content-type": "application/x-www-form-urlencoded"}


# --- a small HTML reader ----------------------------------------------------------------------


@dataclass
class Table:
    caption: str = ""
    rows: list[list[str]] = field(default_factory=list)


class Page(HTMLParser):
    """Tags with their attributes, the text, and each table's caption and cell texts."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.tables: list[Table] = []
        self.text_parts: list[str] = []
        self._table: Table | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self.feed(html)
        self.text = " ".join(" ".join(self.text_parts).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag == "table":
            self._table = Table()
            self.tables.append(self._table)
        elif tag == "caption":
            self._caption = []
        elif tag == "tr" and self._table is not None:
            self._table.rows.append([])
        elif tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption" and self._caption is not None and self._table is not None:
            self._table.caption = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag in ("th", "td") and self._cell is not None and self._table is not None:
            self._table.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)
        for sink in (self._cell, self._caption):
            if sink is not None:
                sink.append(data)

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def links(self) -> list[str]:
        return [a["href"] for a in self.all("a") if "href" in a]

    def table(self, caption_start: str) -> Table:
        found = [t for t in self.tables if t.caption.startswith(caption_start)]
        assert found, f"no table captioned {caption_start!r} in {[t.caption for t in self.tables]}"
        return found[0]


def html_page(response: Response, status: int = 200) -> Page:
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"].startswith("text/html")
    return Page(response.text)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# --- every page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_is_safe_accessible_html(client: AsyncClient, path: str) -> None:
    response = await client.get(path)
    page = html_page(response)
    for name, value in HEADERS.items():
        assert response.headers[name] == value
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert page.all("html") == [{"lang": "en"}]
    assert {"rel": "stylesheet", "href": "/static/nigran.css"} in page.all("link")
    assert page.all("main") == [{"id": "main", "tabindex": "-1"}]
    assert page.links()[0] == "#main" and "Skip to content" in page.text
    nav = {"Dashboard", "Timeline", "Trends", "Search", "Chat", "Briefing", "Review"}
    assert nav <= set(page.text.split())
    assert all("src" in s for s in page.all("script")), "inline script"
    assert not page.all("style") and 'style="' not in response.text
    assert not any("style" in attrs for _, attrs in page.tags)
    assert "PIPS" in page.text and "public reference facts" in page.text
    ids = [attrs["id"] for _, attrs in page.tags if "id" in attrs]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for table in page.tables:
        assert table.caption, "a table without a caption"
    for th in page.all("th"):
        assert th.get("scope") in ("col", "row")


@pytest.mark.parametrize("path", PAGES)
async def test_every_form_field_has_a_label(client: AsyncClient, path: str) -> None:
    page = html_page(await client.get(path))
    labelled = {attrs["for"] for attrs in page.all("label") if "for" in attrs}
    fields = [
        attrs
        for tag, attrs in page.tags
        if tag in ("input", "textarea", "select")
        and attrs.get("type") not in ("hidden", "submit", "button")
    ]
    for attrs in fields:
        assert attrs.get("id") in labelled or attrs.get("aria-label"), attrs
    if path.startswith(("/timeline", "/trends", "/search", "/chat")):
        assert fields, f"{path} has no form field"


async def test_the_stylesheet_is_served_with_print_and_focus_rules(client: AsyncClient) -> None:
    response = await client.get("/static/nigran.css")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")
    css = response.text
    assert "@media print" in css and re.search(r"@page\s*{\s*size:\s*A4;\s*margin:", css)
    assert "break-before: page" in css and ":focus-visible" in css and "overflow-x: auto" in css
    assert "system-ui" in css


async def test_the_api_answers_json_untouched_and_the_docs_still_work(
    client: AsyncClient,
) -> None:
    health = await client.get("/api/v1/health")
    assert health.status_code == 200 and health.headers["content-type"] == "application/json"
    assert "content-security-policy" not in health.headers
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "content-security-policy" not in docs.headers  # its CDN scripts must load
    spec = (await client.get("/openapi.json")).json()
    assert spec["paths"] and all(p.startswith("/api/v1/") for p in spec["paths"])
    missing = await client.get("/api/v1/items/no-such-item")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


# --- dashboard and briefing ---------------------------------------------------------------------


async def test_dashboard_scorecard_equals_the_summary_api(client: AsyncClient) -> None:
    summary = (await client.get("/api/v1/summary")).json()
    page = html_page(await client.get("/"))
    assert "National Action Plan (NAP)" in page.text
    clauses = page.table("NAP clauses by status")
    shown = {row[0].replace(" ", "_"): int(row[1]) for row in clauses.rows[1:]}
    counts = summary["by_kind"]["nap_clause"]["by_status"]
    assert shown == {status: n for status, n in counts.items() if n}
    assert sum(shown.values()) == 20
    for clause in summary["nap_clauses"]:
        assert f"/items/{clause['slug']}" in page.links()
    sections = page.table("Recommendations of PIPS 2024")
    head, *rows = sections.rows
    for row, section in zip(rows, summary["by_recommendation_section"], strict=True):
        assert row[0] == section["title"] and int(row[1]) == section["total"]
        for name, cell in zip(head[2:], row[2:], strict=True):
            assert int(cell) == section["by_status"][name.replace(" ", "_")]
    institutions = page.table("The 10 of")
    assert len(institutions.rows) == 11
    for row in institutions.rows[1:]:
        assert int(row[1]) == summary["by_institution"][row[0]]["total"]
    assert f"Stalled ({len(summary['stalled'])})" in page.text
    assert "Recent changes since" in page.text


async def test_dashboard_shows_the_yearly_trend_as_chart_and_table(client: AsyncClient) -> None:
    trend = (
        await client.get(
            "/api/v1/trends",
            params={"metric": "attacks", "statistics": "pips-yearly-totals", "group_by": "year"},
        )
    ).json()
    page = html_page(await client.get("/"))
    (img,) = [i for i in page.all("img") if i["src"].startswith("/api/v1/trends/chart.svg?")]
    assert query_of(img["src"]) == {
        "metric": ["attacks"],
        "statistics": ["pips-yearly-totals"],
        "group_by": ["year"],
    }
    assert img["alt"].startswith("Attacks, per year") and "2013: 1717" in img["alt"]
    chart = await client.get(img["src"])
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
    table = page.table("Attacks per year, PIPS yearly totals")
    rows = {row[0]: row[1] for row in table.rows[1:]}
    for point in trend["series"][0]["points"]:
        assert rows[point["period"]["start"][:4]] == f"{point['value']:,}"


async def test_briefing_is_laid_out_for_print(client: AsyncClient) -> None:
    response = await client.get("/briefing")
    page = html_page(response)
    summary = (await client.get("/api/v1/summary")).json()
    assert f"as of {summary['as_of']}" in page.text
    assert {"rel": "stylesheet", "href": "/static/nigran.css"} in page.all("link")
    sheets = [s for s in page.all("section") if s.get("class") == "sheet"]
    assert len(sheets) >= 4
    nap = page.table("National Action Plan 2014: the 20 points")
    assert len(nap.rows) == 21
    assert [f for f in page.all("footer") if f.get("class") == "briefing-footer"]
    assert (
        "Pakistan's Evolving Militant Landscape" in page.text.split("Nigran progress briefing")[-1]
    )
    assert "no-print" in response.text


async def test_briefing_replays_an_earlier_date(client: AsyncClient) -> None:
    page = html_page(await client.get("/briefing", params={"as_of": "2015-01-01"}))
    assert "As of 2015-01-01, replayed from the approved status history" in page.text
    bad = await client.get("/briefing", params={"as_of": "not-a-date"})
    assert "as_of" in html_page(bad, 422).text


# --- items ------------------------------------------------------------------------------------


async def test_item_page_shows_title_status_and_as_of(client: AsyncClient) -> None:
    item = (await client.get("/api/v1/items/nap-2014-clause-10")).json()
    page = html_page(await client.get("/items/nap-2014-clause-10"))
    assert item["title"] in page.text
    assert f"{item['status'].replace('_', ' ')} as of {item['status_date'][:4]}" in page.text
    assert page.table("Status updates").rows[1][0] == item["status_date"][:4]
    for event in item["timeline"]:
        assert event["description"] in page.text
    for related in item["related"]:
        assert f"/items/{related['slug']}" in page.links()
    feed = {"rel": "alternate", "type": "application/atom+xml"}
    (alternate,) = [link for link in page.all("link") if feed.items() <= link.items()]
    assert alternate["href"] == "/api/v1/feeds/changes.atom?item=nap-2014-clause-10"
    atom = await client.get(alternate["href"])
    assert atom.status_code == 200 and atom.headers["content-type"].startswith(
        "application/atom+xml"
    )


async def test_item_page_shows_linked_trends_with_charts_and_comparisons(
    client: AsyncClient,
) -> None:
    linked = (await client.get("/api/v1/items/nap-2014/trends")).json()
    assert linked["links"], "nap-2014 has linked series"
    page = html_page(await client.get("/items/nap-2014"))
    charts = [i for i in page.all("img") if i["src"].startswith("/api/v1/trends/chart.svg?")]
    drawn = [link for link in linked["links"] if link["trend"]]
    assert len(charts) == len(drawn)
    for img, link in zip(charts, drawn, strict=True):
        assert query_of(img["src"]) == query_of(link["trend_url"])
        assert len(img["alt"]) > 40
        assert link["rationale"] in page.text
        for line in link["coverage"]:
            assert line in page.text
    if any(link["comparisons"] for link in drawn):
        assert page.table("Before and after the item's key dates")
    chart = await client.get(charts[0]["src"])
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"


async def test_item_children_and_jurisdictions(client: AsyncClient) -> None:
    item = (await client.get("/api/v1/items/nap-2014")).json()
    page = html_page(await client.get("/items/nap-2014"))
    for child in item["children"]:
        assert f"/items/{child['slug']}" in page.links()
    if item["status_by_jurisdiction"]:
        assert page.table("Latest approved status in each jurisdiction")


async def test_unknown_item_is_an_html_404(client: AsyncClient) -> None:
    response = await client.get("/items/no-such-item")
    page = html_page(response, 404)
    assert "Not found" in page.text and "no-such-item" in page.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_query_text_is_escaped_on_an_item_page(client: AsyncClient) -> None:
    response = await client.get("/items/nap-2014-clause-10", params={"q": SCRIPT})
    html_page(response)
    assert SCRIPT not in response.text
    tag = "<img src=x onerror=alert(1)>"  # a slug cannot hold the slash of </script>
    missing = await client.get(f"/items/{tag}")
    html_page(missing, 404)
    assert tag not in missing.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in missing.text


# --- timeline ---------------------------------------------------------------------------------


async def test_timeline_filters_like_the_api(client: AsyncClient) -> None:
    params = {"theme": "madrassa_reform", "from": "2015-01-01"}
    api = (await client.get("/api/v1/timeline", params=params)).json()
    page = html_page(await client.get("/timeline", params=params))
    assert api["events"]
    for event in api["events"]:
        assert event["description"] in page.text
    assert {"value": "madrassa_reform", "selected": ""} in page.all("option")
    (csv_link,) = [href for href in page.links() if "format=csv" in href]
    assert query_of(csv_link) == {
        "theme": ["madrassa_reform"],
        "from": ["2015-01-01"],
        "format": ["csv"],
    }


async def test_timeline_empty_form_fields_mean_no_filter(client: AsyncClient) -> None:
    empty = {"item": "", "theme": "", "kind": "", "type": "", "from": "", "to": ""}
    page = html_page(await client.get("/timeline", params=empty))
    assert "More events" in page.text  # the first page of everything, with a next page


async def test_timeline_next_page_continues(client: AsyncClient) -> None:
    first = html_page(await client.get("/timeline", params={"order": "desc"}))
    (next_url,) = [a["href"] for a in first.all("a") if a.get("rel") == "next"]
    assert query_of(next_url)["order"] == ["desc"]
    second = html_page(await client.get(next_url))
    assert "First page" in second.text


async def test_timeline_refusals_are_html(client: AsyncClient) -> None:
    bad_theme = await client.get("/timeline", params={"theme": "nonsense"})
    assert "theme" in html_page(bad_theme, 422).text
    unknown_item = await client.get("/timeline", params={"item": "no-such-item"})
    assert "no-such-item" in html_page(unknown_item, 404).text
    bad_cursor = await client.get("/timeline", params={"cursor": "zzz"})
    html_page(bad_cursor, 400)


# --- trends -----------------------------------------------------------------------------------

TABLE_1_KP = {"metric": "attacks", "table": "Table 1", "group_by": "region", "region": "KPK"}


async def test_trends_page_shows_table_1_with_chart_and_downloads(client: AsyncClient) -> None:
    page = html_page(await client.get("/trends", params=TABLE_1_KP))
    table = page.table("Attacks: Khyber Pakhtunkhwa")
    values = [row[1] for row in table.rows[1:]]
    assert values == ["173", "318"]
    (img,) = page.all("img")
    assert img["src"].startswith("/api/v1/trends/chart.svg?")
    assert img["alt"].startswith("Attacks by region") and "173" in img["alt"]
    wanted = {k: [v] for k, v in TABLE_1_KP.items()}
    downloads = {
        "csv": next(h for h in page.links() if "format=csv" in h),
        "png": next(h for h in page.links() if "/chart.png?" in h),
        "svg": next(h for h in page.links() if "/chart.svg?" in h),
    }
    assert query_of(downloads["csv"]) == {**wanted, "format": ["csv"]}
    assert query_of(downloads["png"]) == query_of(downloads["svg"]) == query_of(img["src"])
    assert query_of(img["src"]) == wanted
    exported = await client.get(downloads["csv"])
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["value"] for r in rows] == ["173", "318"]
    png = await client.get(downloads["png"])
    assert png.headers["content-type"] == "image/png"


async def test_trends_page_without_a_metric_is_the_form(client: AsyncClient) -> None:
    page = html_page(await client.get("/trends", params={"metric": "", "region": ""}))
    assert not page.all("img") and "Try" in page.text
    assert [s for s in page.all("select") if s["name"] == "source"]


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({"metric": "no_such_metric"}, "attacks"),
        ({"metric": "attacks", "group_by": "century"}, "periods"),
        ({"metric": "attacks", "table": "Table 1", "region": "Atlantis"}, "Khyber Pakhtunkhwa"),
    ],
)
async def test_trends_the_data_cannot_answer_say_what_is_available(
    client: AsyncClient, params: dict[str, str], shown: str
) -> None:
    page = html_page(await client.get("/trends", params=params), 422)
    assert "The data cannot answer this" in page.text
    assert shown in page.text
    assert not page.all("img")


async def test_trends_bad_source_is_an_html_refusal(client: AsyncClient) -> None:
    page = html_page(await client.get("/trends", params={"metric": "attacks", "source": "x"}), 422)
    assert "source" in page.text


# --- search -----------------------------------------------------------------------------------


async def test_search_lists_the_madrassa_items_with_marked_snippets(client: AsyncClient) -> None:
    response = await client.get("/search", params={"q": "madrasa"})
    page = html_page(response)
    assert "/items/nap-2014-clause-10" in page.links()
    assert "/items/madrassa-registration" in page.links()
    assert "<mark>" in response.text
    api = (await client.get("/api/v1/search", params={"q": "madrasa", "limit": 20})).json()
    assert f"{api['total']} matches" in page.text
    facets = [h for h in page.links() if h.startswith("/search?") and "type=" in h]
    assert {query_of(h)["type"][0] for h in facets} == {t for t, n in api["facets"].items() if n}
    one_type = html_page(await client.get(facets[0]))
    current = [a["href"] for a in one_type.all("a") if a.get("aria-current") == "page"]
    assert facets[0] in current


async def test_search_without_a_query_is_the_form(client: AsyncClient) -> None:
    page = html_page(await client.get("/search"))
    assert page.all("input")[0]["name"] == "q" and "matches" not in page.text


async def test_search_refusals_show_the_message(client: AsyncClient) -> None:
    page = html_page(await client.get("/search", params={"q": "!!!"}), 422)
    assert "no letters or digits" in page.text
    page = html_page(await client.get("/search", params={"q": "nap", "type": "nonsense"}), 422)
    assert "unknown type" in page.text


async def test_search_escapes_the_query(client: AsyncClient) -> None:
    response = await client.get("/search", params={"q": SCRIPT})
    assert response.status_code in (200, 422)
    assert SCRIPT not in response.text and "&lt;script&gt;" in response.text


# --- chat -------------------------------------------------------------------------------------


async def ask(client: AsyncClient, message: str, conversation_id: str | None = None) -> Response:
    body = {"message": message, **({"conversation_id": conversation_id} if conversation_id else {})}
    return await client.post("/chat", data=body, headers={**FORM, "origin": "http://test"})


def conversation_id(page: Page) -> str:
    (hidden,) = [i for i in page.all("input") if i.get("name") == "conversation_id"]
    assert hidden["type"] == "hidden"
    return hidden["value"]


async def test_chat_answers_with_the_number_and_its_citation(client: AsyncClient) -> None:
    page = html_page(await ask(client, KP_2023))
    answers = [t for t in page.text.split("Nigran ") if "174" in t]
    assert answers, page.text
    assert "/api/v1/stats?statistics=table-04" in page.links()
    assert len(conversation_id(page)) == 32


async def test_chat_follow_up_keeps_the_conversation(client: AsyncClient) -> None:
    first = html_page(await ask(client, KP_2023))
    follow_up = html_page(await ask(client, "and in Balochistan?", conversation_id(first)))
    assert conversation_id(follow_up) == conversation_id(first)
    assert "You asked " + KP_2023 in follow_up.text
    assert "You asked and in Balochistan?" in follow_up.text
    stored = (await client.get(f"/api/v1/chat/conversations/{conversation_id(first)}")).json()
    assert [t["message"] for t in stored["turns"]] == [KP_2023, "and in Balochistan?"]
    answer = stored["turns"][1]["answer"]
    assert "Balochistan" in answer and " ".join(answer.split()) in follow_up.text


async def test_chat_item_citations_link_to_item_pages(client: AsyncClient) -> None:
    page = html_page(await ask(client, "What is the status of madrassa registration?"))
    assert any(h.startswith("/items/") for h in page.links())


async def test_chat_empty_message_is_the_form_again(client: AsyncClient) -> None:
    page = html_page(await ask(client, "   "), 422)
    assert "could not be asked" in page.text
    assert page.all("textarea")
    first = html_page(await ask(client, KP_2023))
    empty_follow_up = html_page(await ask(client, "", conversation_id(first)), 422)
    assert conversation_id(empty_follow_up) == conversation_id(first)
    tampered = html_page(await ask(client, KP_2023, "not/an/id"), 422)
    assert not [i for i in tampered.all("input") if i.get("name") == "conversation_id"]


async def test_chat_unknown_conversation_starts_over(client: AsyncClient) -> None:
    page = html_page(await ask(client, KP_2023, "A" * 32), 404)
    assert "expired or never existed" in page.text and KP_2023 in page.text
    assert not [i for i in page.all("input") if i.get("name") == "conversation_id"]


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site", "origin": "http://test"},
        {"sec-fetch-site": "same-site"},
    ],
)
async def test_cross_site_chat_posts_are_refused(
    client: AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post("/chat", data={"message": KP_2023}, headers={**FORM, **headers})
    page = html_page(response, 403)
    assert "Forbidden" in page.text and "174" not in page.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "headers", [{}, {"sec-fetch-site": "same-origin"}, {"sec-fetch-site": "none"}]
)
async def test_same_origin_or_headerless_chat_posts_are_answered(
    client: AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post("/chat", data={"message": KP_2023}, headers={**FORM, **headers})
    assert "174" in html_page(response).text


async def test_chat_post_must_be_a_form(client: AsyncClient) -> None:
    response = await client.post("/chat", json={"message": KP_2023})
    html_page(response, 415)


def test_only_web_addresses_in_citations_become_links() -> None:
    ui = templates.env.get_template("macros.html").module
    unsafe = str(ui.citation({"doc": "d", "url": "javascript:alert(1)", "title": "t"}))  # type: ignore[attr-defined]
    assert "<a" not in unsafe and "d: t" in unsafe
    safe = str(ui.citation({"doc": "d", "url": "https://example.org/x", "title": "t"}))  # type: ignore[attr-defined]
    assert '<a href="https://example.org/x">t</a>' in safe
