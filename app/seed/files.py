"""Read and validate policy_data/: every file, every record, every cross-reference.

Nothing is loaded unless the whole data set is valid; each problem names the file, the record
and the field, so an editor can fix it without reading code.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app.core.names import normalise_name
from app.seed.schema import (
    DocumentRecord,
    GroupRecord,
    InstitutionRecord,
    ItemRecord,
    LinkRecord,
    RegionRecord,
    SourceRef,
    StatisticsFile,
)

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    file: str
    record: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.record}: {self.field}: {self.message}"


class DataSetInvalid(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) in policy_data:\n{shown}{more}")


@dataclass
class DataSet:
    documents: list[DocumentRecord] = field(default_factory=list)
    items: list[ItemRecord] = field(default_factory=list)
    statistics: list[StatisticsFile] = field(default_factory=list)
    groups: list[GroupRecord] = field(default_factory=list)
    regions: list[RegionRecord] = field(default_factory=list)
    institutions: list[InstitutionRecord] = field(default_factory=list)
    links: list[LinkRecord] = field(default_factory=list)
    origin: dict[int, str] = field(default_factory=dict)

    def file_of(self, record: object) -> str:
        return self.origin.get(id(record), "?")


def _record_label(raw: Any, index: int) -> str:
    if isinstance(raw, dict):
        for key in ("slug", "id", "item"):
            if isinstance(raw.get(key), str):
                return f"#{index + 1} ({raw[key]})"
    return f"#{index + 1}"


class _Reader:
    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []
        self.data = DataSet()

    def rel(self, path: Path) -> str:
        return (
            str(path.relative_to(self.root.parent))
            if path.is_relative_to(self.root.parent)
            else str(path)
        )

    def load_yaml(self, path: Path) -> Any:
        try:
            return yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            self.problems.append(Problem(self.rel(path), "-", "-", f"not valid YAML: {exc}"))
            return None

    def parse(self, model: type[Model], raw: Any, path: Path, label: str) -> Model | None:
        try:
            record = model.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"]) or "-"
                self.problems.append(Problem(self.rel(path), label, where, error["msg"]))
            return None
        self.data.origin[id(record)] = self.rel(path)
        return record

    def list_file(self, model: type[Model], path: Path) -> list[Model]:
        raw = self.load_yaml(path)
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problems.append(Problem(self.rel(path), "-", "-", "expected a list of records"))
            return []
        records = (self.parse(model, r, path, _record_label(r, i)) for i, r in enumerate(raw))
        return [r for r in records if r is not None]

    def folder(self, model: type[Model], name: str) -> list[Model]:
        return [
            r for p in sorted((self.root / name).glob("*.yaml")) for r in self.list_file(model, p)
        ]


def read_dataset(root: Path) -> DataSet:
    """Parse every file under root; raise DataSetInvalid listing every problem found."""
    reader = _Reader(root)
    data = reader.data
    data.documents = reader.list_file(DocumentRecord, root / "sources.yaml")
    data.items = reader.folder(ItemRecord, "items")
    for path in sorted((root / "statistics").glob("*.yaml")):
        raw = reader.load_yaml(path)
        if raw is not None:
            parsed = reader.parse(StatisticsFile, raw, path, _record_label(raw, 0))
            if parsed:
                data.statistics.append(parsed)
    entities = root / "entities"
    for model, name, attr in (
        (GroupRecord, "groups.yaml", "groups"),
        (RegionRecord, "regions.yaml", "regions"),
        (InstitutionRecord, "institutions.yaml", "institutions"),
    ):
        if (entities / name).exists():
            setattr(data, attr, reader.list_file(model, entities / name))
    data.links = reader.folder(LinkRecord, "links")
    problems = reader.problems + cross_check(data)
    if problems:
        raise DataSetInvalid(problems)
    return data


def _duplicates(values: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    return {v for v in values if v in seen or seen.add(v)}  # type: ignore[func-returns-value]


def cross_check(data: DataSet) -> list[Problem]:
    problems: list[Problem] = []
    docs = {d.id for d in data.documents}
    slugs = {i.slug for i in data.items}

    def bad_sources(refs: Iterable[SourceRef], file: str, label: str, where: str) -> None:
        for ref in refs:
            if ref.doc not in docs:
                problems.append(Problem(file, label, where, f"unknown document {ref.doc!r}"))
            elif ref.doc == "public-facts" and not ref.url:
                problems.append(
                    Problem(file, label, where, "a public-facts citation needs its url")
                )

    for slug in sorted(_duplicates(i.slug for i in data.items)):
        problems.append(Problem("policy_data/items", slug, "slug", "used by more than one item"))
    institution_names = {
        normalise_name(n) for inst in data.institutions for n in (inst.name, *inst.aliases)
    }
    for item in data.items:
        file, label = data.file_of(item), item.slug
        if item.parent and item.parent not in slugs:
            problems.append(Problem(file, label, "parent", f"no item {item.parent!r}"))
        if item.parent == item.slug:
            problems.append(Problem(file, label, "parent", "an item cannot be its own parent"))
        for slug in item.related:
            if slug not in slugs:
                problems.append(Problem(file, label, "related", f"no item {slug!r}"))
        if institution_names:
            for name in item.institutions:
                if normalise_name(name) not in institution_names:
                    problems.append(
                        Problem(
                            file, label, "institutions", f"{name!r} is not in institutions.yaml"
                        )
                    )
        bad_sources(item.sources, file, label, "sources")
        for status in item.status:
            bad_sources(status.evidence, file, label, "status.evidence")
        for event in item.timeline:
            bad_sources(event.sources, file, label, "timeline.sources")

    for sid in sorted(_duplicates(s.id for s in data.statistics)):
        problems.append(Problem("policy_data/statistics", sid, "id", "used by more than one file"))
    canonical = {
        "region": {r.name for r in data.regions},
        "district": {r.name for r in data.regions},
        "group": {g.name for g in data.groups},
    }
    for stats in data.statistics:
        file = data.file_of(stats)
        if stats.doc not in docs:
            problems.append(Problem(file, stats.id, "doc", f"unknown document {stats.doc!r}"))
        if not (stats.table or stats.section or all(o.section for o in stats.observations)):
            problems.append(Problem(file, stats.id, "section", "cite a table or a section"))
        for n, obs in enumerate(stats.observations, 1):
            label = f"{stats.id} observation #{n}"
            if obs.period is None and stats.period is None:
                problems.append(Problem(file, label, "period", "no period here or on the file"))
            bad_sources(obs.sources, file, label, "sources")
            for dim, value in {**stats.dimensions, **obs.dimensions}.items():
                names = canonical.get(dim)
                if names and value not in names:
                    problems.append(
                        Problem(
                            file, label, f"dimensions.{dim}", f"{value!r} is not a canonical name"
                        )
                    )

    for link in data.links:
        file, label = data.file_of(link), f"{link.item} -> {link.series.metric}"
        if link.item not in slugs:
            problems.append(Problem(file, label, "item", f"no item {link.item!r}"))
        if not any(_series_matches(link, s) for s in data.statistics):
            problems.append(Problem(file, label, "series", "matches no observation in statistics/"))
    for kind, records in (
        ("group", data.groups),
        ("region", data.regions),
        ("institution", data.institutions),
    ):
        for slug in sorted(_duplicates(r.slug for r in records)):
            problems.append(
                Problem(f"policy_data/entities/{kind}s.yaml", slug, "slug", "duplicate")
            )
    return problems


def _series_matches(link: LinkRecord, stats: StatisticsFile) -> bool:
    series = link.series
    if series.table and stats.table != series.table:
        return False
    if series.statistics and stats.id != series.statistics:
        return False
    for obs in stats.observations:
        dims = {**stats.dimensions, **obs.dimensions}
        if series.metric in obs.metrics and all(
            dims.get(k) == v for k, v in series.dimensions.items()
        ):
            return True
    return False
