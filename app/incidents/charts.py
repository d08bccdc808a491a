"""Charts of a trend as SVG or PNG, drawn by matplotlib from exactly the numbers of the JSON.

Each chart carries a title, axis labels, the unit, the sources in a caption, and (SVG) a <title>
and <desc> that say in words what it shows. Periods sit on the x axis in order, so yearly,
quarterly, monthly and published windows all read the same; policy dates can be drawn on it as
labelled markers.
"""

import io
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from app.incidents.schemas import DatasetRef, Period, TrendOut
from app.policies.schemas import Citation

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.0, 100
SERIES_SHOWN = 8
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]


@dataclass(frozen=True)
class Marker:
    on: date
    label: str


def _period_label(period: Period) -> str:
    start, end = period.start, period.end
    if start.month == 1 and start.day == 1 and end == date(start.year, 12, 31):
        return str(start.year)
    if start.day == 1 and (end.year, end.month) == (start.year, start.month):
        return f"{start:%b %Y}"
    if start.day == 1 and start.month in (1, 4, 7, 10) and end.month == start.month + 2:
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    return f"{start:%b %Y} to {end:%b %Y}"


def _series_label(key: dict[str, str]) -> str:
    return ", ".join(v for k, v in key.items() if k != "dataset") or "all"


def source_line(trend: TrendOut) -> str:
    """One caption line: each document once, with the tables and sections used from it."""
    places: dict[str, list[str]] = {}
    for ref in trend.sources:
        if isinstance(ref, Citation):
            where = ref.table or (f"section {ref.section}" if ref.section else ref.url)
            found = places.setdefault(ref.document or ref.doc, [])
            if where and where not in found:
                found.append(where)
        elif isinstance(ref, DatasetRef):
            last = f", last file {ref.last_file}" if ref.last_file else ""
            places.setdefault(f"{ref.dataset} incident records ({ref.records}{last})", [])
    parts = []
    for document, where in places.items():
        shown = ", ".join(where[:6]) + (f" and {len(where) - 6} more" if len(where) > 6 else "")
        parts.append(f"{document}: {shown}" if shown else document)
    return "Source: " + "; ".join(parts) + ". Chart: Nigran."


def title(trend: TrendOut) -> str:
    split = next(
        (g for g in trend.group_by if g not in ("year", "quarter", "month", "published")), None
    )
    period = next((g for g in trend.group_by if g in ("year", "quarter", "month")), None)
    words = trend.unit[0].upper() + trend.unit[1:]
    if split:
        words += f" by {split}"
    if period:
        words += f", per {period}"
    filters = ", ".join(v for k, v in trend.filters.items() if k not in ("from", "to"))
    return words + (f" ({filters})" if filters else "")


def describe(trend: TrendOut) -> str:
    """The chart in words, for screen readers and for anyone who cannot see it."""
    sentences = []
    for series in trend.series[:SERIES_SHOWN]:
        values = "; ".join(f"{_period_label(p.period)}: {p.value}" for p in series.points[:24])
        more = f"; and {len(series.points) - 24} more points" if len(series.points) > 24 else ""
        sentences.append(f"{_series_label(series.key)}: {values}{more}.")
    if len(trend.series) > SERIES_SHOWN:
        sentences.append(f"{len(trend.series) - SERIES_SHOWN} further series are in the data.")
    return f"{title(trend)}. " + " ".join(sentences) + " " + source_line(trend)


def _position(on: date, periods: list[Period]) -> float | None:
    """Where a date falls on the categorical axis: inside its period, in proportion."""
    for index, period in enumerate(periods):
        if period.start <= on <= period.end:
            span = (period.end - period.start).days or 1
            return index - 0.5 + (on - period.start).days / span
    return None


def _marker_positions(markers: Sequence[Marker], periods: list[Period]) -> list[tuple[float, str]]:
    """Markers too close to tell apart share one line and one label."""
    placed: list[tuple[float, list[str]]] = []
    for marker in sorted(markers, key=lambda m: m.on):
        x = _position(marker.on, periods)
        if x is None:
            continue
        if placed and x - placed[-1][0] < max(0.25, len(periods) / 40):
            placed[-1][1].append(marker.label)
        else:
            placed.append((x, [marker.label]))
    return [(x, textwrap.shorten(_merge_labels(labels), 45)) for x, labels in placed]


def _merge_labels(labels: list[str]) -> str:
    """'NAP: start', 'NAP: approved' -> 'NAP: start, approved'."""
    merged: dict[str, list[str]] = {}
    for label in labels:
        head, _, tail = label.partition(": ")
        kinds = merged.setdefault(head, [])
        if tail and tail not in kinds:
            kinds.append(tail)
    return " / ".join(
        f"{head}: {', '.join(kinds)}" if kinds else head for head, kinds in merged.items()
    )


def _draw(trend: TrendOut, markers: Sequence[Marker]) -> "Figure":
    # matplotlib (with numpy, ~30 MB per worker) loads on the first chart, not at start-up:
    # most workers only ever serve cached JSON and pages.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    spans = sorted({(p.period.start, p.period.end) for s in trend.series for p in s.points})
    periods = [Period(start=start, end=end) for start, end in spans]
    index = {span: i for i, span in enumerate(spans)}
    for number, series in enumerate(trend.series[:SERIES_SHOWN]):
        xs = [index[(p.period.start, p.period.end)] for p in series.points]
        ys = [p.value for p in series.points]
        axes.plot(
            xs,
            ys,
            marker="o",
            linewidth=2,
            color=COLOURS[number % len(COLOURS)],
            label=_series_label(series.key),
        )
    labels = [_period_label(p) for p in periods]
    step = max(1, len(labels) // 12)
    axes.set_xticks(range(0, len(labels), step), labels[::step], rotation=30, ha="right")
    axes.set_xlim(-0.6, len(labels) - 0.4)
    if all(p.value >= 0 for s in trend.series for p in s.points):
        axes.set_ylim(bottom=0)  # counts start at zero; changes in % may be negative
    else:
        axes.axhline(0, color="#555555", linewidth=0.8)
    axes.set_ylabel(trend.unit[0].upper() + trend.unit[1:])
    period = next((g for g in trend.group_by if g in ("year", "quarter", "month")), "period")
    axes.set_xlabel(period.capitalize() if period != "published" else "Period as published")
    axes.grid(axis="y", color="#dddddd")
    axes.spines[["top", "right"]].set_visible(False)
    for x, label in _marker_positions(markers, periods):
        axes.axvline(x, color="#555555", linestyle="--", linewidth=1)
        axes.annotate(
            label,
            (x, 1),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=8,
            color="#333333",
        )
    if len(trend.series) > 1:
        figure.legend(loc="outside right upper", fontsize=9, frameon=False)
    figure.suptitle(textwrap.fill(title(trend), 80), fontsize=12, x=0.01, ha="left")
    figure.get_layout_engine().set(h_pad=0.15)
    figure.supxlabel(
        textwrap.fill(source_line(trend), 110), fontsize=8, color="#333333", x=0.01, ha="left"
    )
    return figure


def render_png(trend: TrendOut, markers: Sequence[Marker] = ()) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = _draw(trend, markers)
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(
        buffer, metadata={"Title": title(trend), "Description": describe(trend)}
    )
    return buffer.getvalue()


def render_svg(trend: TrendOut, markers: Sequence[Marker] = ()) -> bytes:
    from matplotlib import rc_context
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    figure = _draw(trend, markers)
    buffer = io.StringIO()
    # Text stays text (not glyph paths): searchable, selectable, read out, and smaller.
    with rc_context({"svg.fonttype": "none"}):
        # No Title in the metadata: matplotlib would add a second <title> beside ours.
        FigureCanvasSVG(figure).print_svg(buffer, metadata={"Description": describe(trend)})
    svg = buffer.getvalue()
    # Scale to the container (phones) and lead with a title and description screen readers use.
    svg = re.sub(
        r'<svg([^>]*?) width="[^"]+" height="[^"]+"',
        r'<svg\1 width="100%" role="img" aria-labelledby="chart-title chart-desc"',
        svg,
        count=1,
    )
    opening = svg.index(">", svg.index("<svg")) + 1
    accessible = (
        f'<title id="chart-title">{escape(title(trend))}</title>'
        f'<desc id="chart-desc">{escape(describe(trend))}</desc>'
    )
    return (svg[:opening] + accessible + svg[opening:]).encode()
