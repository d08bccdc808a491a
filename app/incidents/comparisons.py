"""Before/after: an item's linked series compared over equal windows around its key dates.

A window's value is the sum of the series' points that tile it from its first day without gaps;
a window is covered when those points reach to within a month of its last day (the report's
"about two years" after the Kabul takeover ends on 8 July 2023, not 31 July). Nothing is
interpolated: a window the points do not tile is reported as not covered, and why.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import InvalidInput
from app.incidents.schemas import (
    Comparison,
    ItemTrends,
    LinkedTrend,
    TrendOut,
    TrendPoint,
    WindowValue,
)
from app.incidents.trends import RECORD_METRICS, RECORD_SPLITS, TrendQuery, TrendSource, trend
from app.policies.models import PolicyItem, SeriesLink, TimelineEvent

WINDOW_MONTHS = (12, 24, 36)
SHORTFALL_DAYS = 31
# Timeline event types that mark a change of course; 'all' asks for every type.
DEFAULT_EVENT_TYPES = frozenset(
    {
        "launched",
        "enacted",
        "established",
        "promulgated",
        "approved",
        "announced",
        "operation",
        "ceasefire",
        "lapsed",
        "amended",
        "extended",
        "designation",
        "talks",
    }
)


@dataclass(frozen=True)
class KeyDate:
    on: date
    precision: str
    kind: str
    description: str | None


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


async def key_dates(
    session: AsyncSession, item: PolicyItem, event_types: frozenset[str] | None
) -> list[KeyDate]:
    """Start, end and the dated timeline events of the chosen types, oldest first, one per day."""
    found: list[KeyDate] = []
    if item.start_date:
        found.append(KeyDate(item.start_date, item.start_precision or "day", "start", None))
    if item.end_date:
        found.append(KeyDate(item.end_date, item.end_precision or "day", "end", None))
    events = await session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.item_id == item.id, TimelineEvent.review_state == "approved")
        .order_by(TimelineEvent.event_date, TimelineEvent.id)
    )
    for event in events:
        if event_types is None or event.type in event_types:
            found.append(
                KeyDate(event.event_date, event.date_precision, event.type, event.description)
            )
    unique: dict[tuple[date, str], KeyDate] = {}
    for key in sorted(found, key=lambda k: k.on):
        unique.setdefault((key.on, key.precision), key)
    return list(unique.values())


def _windows(key: KeyDate, months: int) -> list[tuple[str, date, date, date, date]]:
    """(alignment, before start, before end, after start, after end) for one window length."""
    anchor = date(key.on.year, 1 if key.precision == "year" else key.on.month, 1)
    found = [
        (
            "month",
            _add_months(anchor, -months),
            anchor - timedelta(days=1),
            anchor,
            _add_months(anchor, months) - timedelta(days=1),
        )
    ]
    if months % 12 == 0 and anchor.month != 1:
        years = months // 12
        year = key.on.year
        found.append(
            (
                "calendar_year",
                date(year - years, 1, 1),
                date(year - 1, 12, 31),
                date(year + 1, 1, 1),
                date(year + years, 12, 31),
            )
        )
    return found


def _cover(points: list[TrendPoint], start: date, end: date) -> WindowValue:
    inside = [p for p in points if p.period.start >= start and p.period.end <= end]
    chain: list[TrendPoint] = []
    cursor = start
    while True:
        nexts = [p for p in inside if p.period.start == cursor]
        if not nexts:
            break
        step = max(nexts, key=lambda p: p.period.end)
        chain.append(step)
        cursor = step.period.end + timedelta(days=1)
    reached = cursor - timedelta(days=1)
    periods = [p.period for p in chain]
    if not chain:
        return WindowValue(
            start=start,
            end=end,
            value=None,
            covered_by=[],
            statement=f"no data point of the series starts on {start:%-d %B %Y}",
        )
    short = (end - reached).days
    if short > SHORTFALL_DAYS:
        return WindowValue(
            start=start,
            end=end,
            value=None,
            covered_by=periods,
            statement=f"the data covers {start:%-d %B %Y} to {reached:%-d %B %Y} only, "
            f"{short} days short of {end:%-d %B %Y}",
        )
    value = sum(p.value for p in chain)
    statement = (
        f"covered by {len(chain)} data point(s) from {start:%-d %B %Y} to {reached:%-d %B %Y}"
    )
    if short:
        statement += f", {short} days short of the window's last day"
    return WindowValue(start=start, end=end, value=value, covered_by=periods, statement=statement)


def compare(
    series_key: dict[str, str], points: list[TrendPoint], key: KeyDate, months: int
) -> list[Comparison]:
    found: list[Comparison] = []
    for alignment, b_start, b_end, a_start, a_end in _windows(key, months):
        before, after = _cover(points, b_start, b_end), _cover(points, a_start, a_end)
        covered = before.value is not None and after.value is not None
        change = change_pct = printed = None
        if covered:
            change = after.value - before.value  # type: ignore[operator]
            change_pct = round(change / before.value * 100, 1) if before.value else None
            if len(before.covered_by) == 1 and len(after.covered_by) == 1:
                printed = next(
                    (p.reported_change_pct for p in points if p.period == after.covered_by[0]), None
                )
        statement = f"{months} months before vs after ({alignment.replace('_', ' ')} windows): " + (
            f"{before.value} then {after.value}, a change of {change:+}"
            + (f" ({change_pct:+}%)" if change_pct is not None else "")
            if covered
            else f"before: {before.statement}; after: {after.statement}"
        )
        found.append(
            Comparison(
                key_date=key.on,
                key_date_precision=key.precision,
                key_date_kind=key.kind,
                key_date_description=key.description,
                window_months=months,
                alignment=alignment,
                series_key=series_key,
                before=before,
                after=after,
                change=change,
                change_pct=change_pct,
                reported_change_pct=printed,
                covered=covered,
                statement=statement,
            )
        )
    return found


def _coverage(key: KeyDate, comparisons: list[Comparison], trend_out: TrendOut | None) -> str:
    when = (
        f"{key.kind} on {key.on:%-d %B %Y}"
        if key.precision == "day"
        else (
            f"{key.kind} in {key.on:%B %Y}"
            if key.precision == "month"
            else f"{key.kind} in {key.on.year}"
        )
    )
    covered = [c for c in comparisons if c.covered]
    if covered:
        windows = ", ".join(sorted({f"{c.window_months} months ({c.alignment})" for c in covered}))
        return f"Around the {when}: the data covers equal windows of {windows}."
    points = [p for s in (trend_out.series if trend_out else []) for p in s.points]
    if not points:
        return f"Around the {when}: the series has no data."
    spans = "; ".join(f"{p.period.start} to {p.period.end}" for p in points[:6])
    more = f" and {len(points) - 6} more" if len(points) > 6 else ""
    return (
        f"Around the {when}: no equal windows before and after are covered; the series has "
        f"data for {spans}{more}."
    )


def _link_query(link: SeriesLink, source: TrendSource) -> TrendQuery | str:
    if source == TrendSource.REPORT:
        return TrendQuery(
            metric=link.metric,
            dimensions=tuple(sorted(link.dimensions.items())),
            table=link.table_label,
            statistics=link.statistics_id,
        )
    if link.metric not in RECORD_METRICS:
        return f"incident records carry no {link.metric} metric"
    other = sorted(set(link.dimensions) - set(RECORD_SPLITS))
    if other:
        return f"incident records carry no {', '.join(other)}"
    return TrendQuery(
        metric=link.metric,
        source=TrendSource.RECORDS,
        period="month",
        dimensions=tuple(sorted(link.dimensions.items())),
    )


def _trend_url(link: SeriesLink, source: TrendSource) -> str:
    params = {"metric": link.metric, "source": source.value, **link.dimensions}
    if source == TrendSource.REPORT:
        params |= {"table": link.table_label or "", "statistics": link.statistics_id or ""}
    return "/api/v1/trends?" + urlencode({k: v for k, v in params.items() if v})


async def item_trends(
    session: AsyncSession,
    item: PolicyItem,
    *,
    source: TrendSource = TrendSource.REPORT,
    event_types: frozenset[str] | None = DEFAULT_EVENT_TYPES,
    windows: tuple[int, ...] = WINDOW_MONTHS,
) -> ItemTrends:
    if any(not 1 <= w <= 240 for w in windows):
        raise InvalidInput("window lengths are whole months from 1 to 240")
    dates = await key_dates(session, item, event_types)
    links = await session.scalars(
        select(SeriesLink).where(SeriesLink.item_id == item.id).order_by(SeriesLink.id)
    )
    out: list[LinkedTrend] = []
    for link in links:
        query = _link_query(link, source)
        trend_out: TrendOut | None = None
        unavailable = query if isinstance(query, str) else None
        if isinstance(query, TrendQuery):
            try:
                trend_out = await trend(session, query)
            except InvalidInput as exc:
                unavailable = exc.detail
        comparisons: list[Comparison] = []
        coverage: list[str] = []
        # Percentages (a change, a share) are not summed over a window.
        percentages = link.metric.endswith("_pct")
        for key in [] if percentages else dates:
            around: list[Comparison] = []
            for series in trend_out.series if trend_out else []:
                for months in windows:
                    around += compare(series.key, series.points, key, months)
            comparisons += [c for c in around if c.covered]
            coverage.append(_coverage(key, around, trend_out))
        if percentages:
            coverage = ["A series of percentages: windows before and after are not summed."]
        elif not dates:
            coverage = ["The item has no key dates to compare around."]
        out.append(
            LinkedTrend(
                metric=link.metric,
                dimensions=link.dimensions,
                table=link.table_label,
                statistics=link.statistics_id,
                rationale=link.rationale,
                trend_url=_trend_url(link, source),
                trend=trend_out,
                unavailable=unavailable,
                comparisons=comparisons,
                coverage=coverage,
            )
        )
    return ItemTrends(
        item=item.slug,
        title=item.title,
        source=source,
        key_dates=[
            {
                "date": k.on.isoformat(),
                "precision": k.precision,
                "kind": k.kind,
                "description": k.description,
            }
            for k in dates
        ],
        links=out,
    )
