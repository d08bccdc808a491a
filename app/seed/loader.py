"""Load a validated policy_data/ set into the database: upsert by stable key, idempotently.

Seed-owned rows (items' facts, seed timeline events, the report's baseline status entries,
statistics, entities, links) follow the files. Rows that monitors or reviewers added through
the API are never touched, so re-seeding cannot erase tracked history.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.core.time import utcnow
from app.incidents.models import (
    DIMENSION_COLUMNS,
    MilitantGroup,
    Observation,
    ObservationMetric,
    Place,
    StatisticsTable,
)
from app.policies.models import (
    Document,
    Institution,
    PolicyItem,
    SeriesLink,
    TimelineEvent,
)
from app.policies.writes import item_columns, replace_item_sets, sources_json
from app.seed.files import DataSet
from app.seed.schema import ItemRecord, PartialDate, StatisticsFile
from app.tracking.models import ReviewState, StatusUpdate
from app.tracking.service import refresh_current_status

SEED_AUTHOR = "Nigran seed (report baseline)"
TIMELINE_FIELDS = ("event_date", "date_precision", "type", "description", "sources", "position")


@dataclass
class LoadReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def __str__(self) -> str:
        if not self.changed:
            return "seed: nothing to change"
        parts = [f"{n} {k} created" for k, n in sorted(self.created.items())]
        parts += [f"{n} {k} updated" for k, n in sorted(self.updated.items())]
        return "seed: " + ", ".join(parts)


def _date(value: PartialDate | None) -> Any:
    return value.date if value else None


def _assign(row: SQLModel, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


class _Loader:
    def __init__(self, session: AsyncSession, data: DataSet):
        self.session = session
        self.data = data
        self.report = LoadReport()

    async def upsert(
        self, model: type[SQLModel], key: str, rows: list[dict[str, Any]], label: str
    ) -> None:
        existing = {getattr(r, key): r for r in await self.session.scalars(select(model))}
        for values in rows:
            row = existing.get(values[key])
            if row is None:
                self.session.add(model(**values))
                self.report.created[label] += 1
            elif _assign(row, values):
                self.report.updated[label] += 1

    async def run(self) -> LoadReport:
        data = self.data
        await self.upsert(Document, "id", [d.model_dump() for d in data.documents], "documents")
        await self.session.flush()
        await self.items()
        await self.statistics()
        await self.entities()
        await self.links()
        await self.session.flush()
        return self.report

    async def items(self) -> None:
        existing = {i.slug: i for i in await self.session.scalars(select(PolicyItem))}
        rows: dict[str, PolicyItem] = {}
        changed: set[str] = set()
        for record in self.data.items:
            values = item_columns(record)
            row = existing.get(record.slug)
            if row is None:
                row = PolicyItem(**values)
                self.session.add(row)
                self.report.created["items"] += 1
            elif _assign(row, values):
                changed.add(record.slug)
            rows[record.slug] = row
        await self.session.flush()
        for record in self.data.items:
            row = rows[record.slug]
            parent_id = rows[record.parent].id if record.parent else None
            if row.parent_id != parent_id:
                row.parent_id = parent_id
                changed.add(record.slug)
            if await self._item_sets(row, record, rows):
                changed.add(record.slug)
            if await self._timeline(row, record):
                changed.add(record.slug)
            if await self._baseline(row, record):
                changed.add(record.slug)
        for slug in changed:
            row = rows[slug]
            if slug in existing:
                row.version += 1
                row.updated_at = utcnow()
                self.report.updated["items"] += 1

    async def _item_sets(
        self, row: PolicyItem, record: ItemRecord, rows: dict[str, PolicyItem]
    ) -> bool:
        return await replace_item_sets(
            self.session,
            row,
            themes=[str(t) for t in record.themes],
            institutions=record.institutions,
            related_ids=[rows[s].id for s in record.related],  # type: ignore[misc]
        )

    async def _timeline(self, row: PolicyItem, record: ItemRecord) -> bool:
        wanted = [
            {
                "event_date": e.date.date,
                "date_precision": e.date.precision,
                "type": str(e.type),
                "description": e.description,
                "sources": sources_json(e.sources),
                "position": n,
            }
            for n, e in enumerate(record.timeline)
        ]
        have = list(
            await self.session.scalars(
                select(TimelineEvent)
                .where(TimelineEvent.item_id == row.id, TimelineEvent.origin == "seed")
                .order_by(TimelineEvent.position)
            )
        )
        if [{key: getattr(event, key) for key in TIMELINE_FIELDS} for event in have] == wanted:
            return False
        await self.session.execute(
            delete(TimelineEvent).where(
                TimelineEvent.item_id == row.id, TimelineEvent.origin == "seed"
            )
        )
        for values in wanted:
            self.session.add(TimelineEvent(item_id=row.id, origin="seed", **values))
        self.report.updated["timelines written"] += 1
        return True

    async def _baseline(self, row: PolicyItem, record: ItemRecord) -> bool:
        have = {
            u.seed_key: u
            for u in await self.session.scalars(
                select(StatusUpdate).where(
                    StatusUpdate.item_id == row.id, StatusUpdate.origin == "seed"
                )
            )
        }
        changed = False
        wanted_keys = set()
        for n, baseline in enumerate(record.status):
            key = f"{record.slug}#{n}"
            wanted_keys.add(key)
            values = {
                "status": str(baseline.status),
                "progress": baseline.progress,
                "note": baseline.note,
                "evidence": sources_json(baseline.evidence),
                "jurisdiction": str(baseline.jurisdiction) if baseline.jurisdiction else None,
                "effective_date": baseline.effective_date.date,
                "effective_precision": baseline.effective_date.precision,
            }
            update = have.get(key)
            if update is None:
                self.session.add(
                    StatusUpdate(
                        item_id=row.id,
                        author=SEED_AUTHOR,
                        origin="seed",
                        seed_key=key,
                        review_state=ReviewState.APPROVED,
                        reviewed_by=SEED_AUTHOR,
                        reviewed_at=utcnow(),
                        **values,
                    )
                )
                changed = True
            elif _assign(update, values):
                changed = True
        for key, update in have.items():
            if key not in wanted_keys:
                await self.session.delete(update)
                changed = True
        if changed:
            await self.session.flush()
            self.report.updated["baseline statuses written"] += 1
        return await refresh_current_status(self.session, row) or changed

    async def statistics(self) -> None:
        tables = {t.id: t for t in await self.session.scalars(select(StatisticsTable))}
        for stats in self.data.statistics:
            values = {
                "id": stats.id,
                "title": stats.title,
                "doc_id": stats.doc,
                "table_label": stats.table,
                "section": stats.section,
                "confidence": stats.confidence,
                "note": stats.note,
            }
            table = tables.get(stats.id)
            if table is None:
                self.session.add(StatisticsTable(**values))
                self.report.created["statistics tables"] += 1
            elif _assign(table, values):
                self.report.updated["statistics tables"] += 1
            await self.session.flush()
            await self._observations(stats)

    async def _observations(self, stats: StatisticsFile) -> None:
        wanted = _observation_rows(stats)
        have = list(
            await self.session.scalars(
                select(Observation)
                .where(Observation.statistics_id == stats.id)
                .order_by(Observation.position)
            )
        )
        compare = [k for k in wanted[0] if k != "statistics_id"] if wanted else []
        if len(have) == len(wanted) and all(
            all(getattr(h, k) == w[k] for k in compare) for h, w in zip(have, wanted, strict=True)
        ):
            return
        for old in have:
            await self.session.delete(old)
        await self.session.flush()
        for values in wanted:
            observation = Observation(**values)
            self.session.add(observation)
            await self.session.flush()
            for metric, value in values["metrics"].items():
                self.session.add(
                    ObservationMetric(observation_id=observation.id, metric=metric, value=value)
                )
        self.report.created["observations"] += len(wanted) if not have else 0
        if have:
            self.report.updated["observation sets"] += 1

    async def entities(self) -> None:
        data = self.data
        await self.upsert(
            MilitantGroup,
            "slug",
            [
                {
                    **g.model_dump(exclude={"parent", "banned_date", "sources"}),
                    "parent_slug": g.parent,
                    "banned_date": _date(g.banned_date),
                    "sources": sources_json(g.sources),
                }
                for g in data.groups
            ],
            "groups",
        )
        await self.upsert(
            Place,
            "slug",
            [
                {
                    **r.model_dump(exclude={"parent", "jurisdiction"}),
                    "parent_slug": r.parent,
                    "jurisdiction": str(r.jurisdiction) if r.jurisdiction else None,
                }
                for r in data.regions
            ],
            "places",
        )
        await self.upsert(
            Institution,
            "slug",
            [{**i.model_dump(exclude={"item"}), "item_slug": i.item} for i in data.institutions],
            "institutions",
        )

    async def links(self) -> None:
        ids = dict((await self.session.execute(select(PolicyItem.slug, PolicyItem.id))).all())
        existing = {
            (lk.item_id, lk.metric, lk.series_key): lk
            for lk in await self.session.scalars(select(SeriesLink))
        }
        wanted: set[tuple[int, str, str]] = set()
        for link in self.data.links:
            series = link.series
            key = (
                ids[link.item],
                series.metric,
                _series_key(series.dimensions, series.table, series.statistics),
            )
            wanted.add(key)
            values = {
                "dimensions": series.dimensions,
                "table_label": series.table,
                "statistics_id": series.statistics,
                "rationale": link.rationale,
            }
            row = existing.get(key)
            if row is None:
                self.session.add(
                    SeriesLink(item_id=key[0], metric=key[1], series_key=key[2], **values)
                )
                self.report.created["links"] += 1
            elif _assign(row, values):
                self.report.updated["links"] += 1
        for key, row in existing.items():
            if key not in wanted:
                await self.session.delete(row)
                self.report.updated["links removed"] += 1


def _series_key(dimensions: dict[str, str], table: str | None, statistics: str | None) -> str:
    parts = [f"{k}={v}" for k, v in sorted(dimensions.items())]
    return "|".join([*parts, f"table={table or ''}", f"statistics={statistics or ''}"])


def _observation_rows(stats: StatisticsFile) -> list[dict[str, Any]]:
    rows = []
    for position, obs in enumerate(stats.observations):
        period = obs.period or stats.period
        assert period is not None  # guaranteed by cross_check
        dimensions = {**stats.dimensions, **obs.dimensions}
        citation: dict[str, Any] = {"doc": stats.doc}
        if stats.table:
            citation["table"] = stats.table
        if obs.section or stats.section:
            citation["section"] = obs.section or stats.section
        if stats.confidence:
            citation["confidence"] = stats.confidence
        rows.append(
            {
                "statistics_id": stats.id,
                "position": position,
                "table_label": stats.table,
                "section": obs.section or stats.section,
                "period_start": period[0].date,
                "period_end": period[1].date,
                "is_total": obs.total,
                **{column: dimensions.get(dim) for dim, column in DIMENSION_COLUMNS.items()},
                "metrics": dict(obs.metrics),
                "note": obs.note,
                "sources": sources_json(obs.sources) or [citation],
            }
        )
    return rows


async def load_dataset(session: AsyncSession, data: DataSet) -> LoadReport:
    """Apply the data set in the caller's transaction; the caller commits or rolls back."""
    return await _Loader(session, data).run()
