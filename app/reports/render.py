"""The summary as a Markdown briefing and as a printable HTML page."""

from html import escape

from app.reports.schemas import Breakdown, Summary

SHOWN = ["implemented", "partially_implemented", "in_progress", "stalled", "not_started", "unknown"]


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def _row(name: str, b: Breakdown) -> list[str]:
    return [
        name,
        str(b.total),
        *(str(b.by_status[s]) for s in SHOWN),
        _pct(b.share_implemented + b.share_partially_implemented),
    ]


def _tables(summary: Summary) -> list[tuple[str, list[str], list[list[str]]]]:
    head = ["", "items", *(s.replace("_", " ") for s in SHOWN), "implemented (fully or partly)"]
    return [
        ("By kind", head, [_row(kind, b) for kind, b in summary.by_kind.items()]),
        (
            "National Action Plan 2014: the 20 points",
            ["point", "clause", "status"],
            [[c.number or "", c.title, c.status.replace("_", " ")] for c in summary.nap_clauses],
        ),
        (
            "Recommendations by report section",
            head,
            [_row(s.title, s) for s in summary.by_recommendation_section],
        ),
        (
            "By responsible institution (10 with most items)",
            head,
            [
                _row(name, b)
                for name, b in sorted(summary.by_institution.items(), key=lambda kv: -kv[1].total)[
                    :10
                ]
            ],
        ),
    ]


def _headline(summary: Summary) -> str:
    return (
        f"Of {summary.total} tracked items, {summary.implemented} are implemented "
        f"({_pct(summary.share_implemented)}) and {summary.partially_implemented} partially implemented "
        f"({_pct(summary.share_partially_implemented)}); {summary.by_status['stalled']} are stalled."
    )


def markdown(summary: Summary) -> str:
    lines = [
        f"# Nigran progress briefing, as of {summary.as_of.isoformat()}",
        "",
        _headline(summary),
        "",
        "Source: Nigran tracker; baseline assessments from PIPS, *Pakistan's Evolving Militant Landscape* (2024).",
    ]
    for title, head, rows in _tables(summary):
        lines += ["", f"## {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    if summary.stalled:
        lines += ["", "## Stalled", ""] + [f"- {i.title} (`{i.slug}`)" for i in summary.stalled]
    if summary.past_target_date:
        lines += ["", "## Past their target date", ""]
        lines += [
            f"- {i.title}: target {i.date}, {i.status.replace('_', ' ')}"
            for i in summary.past_target_date
        ]
    if summary.changes:
        c = summary.changes
        lines += [
            "",
            f"## Since {c.since}",
            "",
            f"{c.status_changes} status changes, {c.new_events} new events, {c.new_items} new items.",
        ]
    return "\n".join(lines) + "\n"


def html_page(summary: Summary) -> str:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Nigran briefing {summary.as_of}</title>",
        "<style>body{font:14px/1.45 Georgia,serif;max-width:60rem;margin:2rem auto;color:#111}"
        "table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}"
        "th,td{border:1px solid #999;padding:.2rem .4rem;text-align:left}"
        "th{background:#eee}@media print{body{margin:0}h2{break-after:avoid}table{break-inside:avoid}}</style>",
        "</head><body>",
        f"<h1>Nigran progress briefing, as of {summary.as_of}</h1>",
        f"<p>{escape(_headline(summary))}</p>",
    ]
    for title, head, rows in _tables(summary):
        parts.append(f"<h2>{escape(title)}</h2><table><thead><tr>")
        parts += [f"<th>{escape(h)}</th>" for h in head]
        parts.append("</tr></thead><tbody>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>")
        parts.append("</tbody></table>")
    if summary.stalled:
        parts.append(
            "<h2>Stalled</h2><ul>"
            + "".join(f"<li>{escape(i.title)}</li>" for i in summary.stalled)
            + "</ul>"
        )
    parts.append("</body></html>")
    return "".join(parts)
