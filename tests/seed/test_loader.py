"""The loader: idempotent, all-or-nothing, and never overwriting tracked history."""

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from app.policies.models import PolicyItem, TimelineEvent
from app.seed.files import DataSetInvalid, read_dataset
from app.seed.service import seed_database
from app.tracking.models import ReviewState, StatusUpdate
from app.tracking.service import refresh_current_status
from tests.conftest import Database

SOURCE = [{"doc": "pips-2024", "section": "6.1.4"}]


def _item(slug: str, **extra: object) -> dict[str, object]:
    return {
        "slug": slug,
        "kind": "institution",
        "title": f"Title of {slug}",
        "summary": "A body created to coordinate the national counter-terrorism response.",
        "themes": ["coordination"],
        "institutions": ["NACTA"],
        "sources": SOURCE,
        "status": {
            "status": "partially_implemented",
            "note": "The report finds it under-resourced.",
            "effective_date": "2024",
            "evidence": SOURCE,
        },
        "timeline": [
            {
                "date": "2013-03",
                "type": "enacted",
                "description": "Its act was passed.",
                "sources": SOURCE,
            }
        ],
        **extra,
    }


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "policy_data"
    (root / "items").mkdir(parents=True)
    shutil.copyfile(Path("policy_data/sources.yaml"), root / "sources.yaml")
    items = [_item("coordination-body"), _item("sub-unit", parent="coordination-body")]
    (root / "items" / "items.yaml").write_text(yaml.safe_dump(items))
    return root


async def _count(db: Database, model: type) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_second_seed_changes_nothing(empty_db: Database, data_dir: Path) -> None:
    first = await seed_database(data_dir, empty_db.engine)
    assert first.created["items"] == 2
    second = await seed_database(data_dir, empty_db.engine)
    assert not second.changed, str(second)
    async with empty_db.session() as session:
        item = (
            await session.scalars(select(PolicyItem).where(PolicyItem.slug == "sub-unit"))
        ).one()
        parent = (
            await session.scalars(select(PolicyItem).where(PolicyItem.slug == "coordination-body"))
        ).one()
    assert item.version == 1
    assert item.parent_id == parent.id
    assert item.status == "partially_implemented"
    assert await _count(empty_db, TimelineEvent) == 2
    assert await _count(empty_db, StatusUpdate) == 2


async def test_edited_file_updates_the_item_and_its_version(
    empty_db: Database, data_dir: Path
) -> None:
    await seed_database(data_dir, empty_db.engine)
    path = data_dir / "items" / "items.yaml"
    items = yaml.safe_load(path.read_text())
    items[0]["summary"] = "A corrected summary of the coordinating body and its mandate."
    path.write_text(yaml.safe_dump(items))
    report = await seed_database(data_dir, empty_db.engine)
    assert report.updated["items"] == 1
    async with empty_db.session() as session:
        item = (
            await session.scalars(select(PolicyItem).where(PolicyItem.slug == "coordination-body"))
        ).one()
    assert item.version == 2
    assert item.summary.startswith("A corrected summary")


async def test_reseeding_keeps_monitor_history(empty_db: Database, data_dir: Path) -> None:
    await seed_database(data_dir, empty_db.engine)
    async with empty_db.session() as session, session.begin():
        item = (
            await session.scalars(select(PolicyItem).where(PolicyItem.slug == "coordination-body"))
        ).one()
        session.add(
            StatusUpdate(
                item_id=item.id,
                status="implemented",
                note="Fully staffed as of the 2026 budget.",
                evidence=[
                    {"doc": "pips-2024", "url": "https://example.org/budget", "title": "Budget"}
                ],
                author="monitor@example.org",
                effective_date=date(2026, 6, 1),
                review_state=ReviewState.APPROVED,
                origin="api",
            )
        )
        await session.flush()
        await refresh_current_status(session, item)
    report = await seed_database(data_dir, empty_db.engine)
    assert not report.changed, str(report)
    async with empty_db.session() as session:
        item = (
            await session.scalars(select(PolicyItem).where(PolicyItem.slug == "coordination-body"))
        ).one()
        origins = sorted(
            await session.scalars(
                select(StatusUpdate.origin).where(StatusUpdate.item_id == item.id)
            )
        )
    assert item.status == "implemented"
    assert origins == ["api", "seed"]


async def test_a_bad_file_loads_nothing_and_names_the_problem(
    empty_db: Database, data_dir: Path
) -> None:
    path = data_dir / "items" / "items.yaml"
    items = yaml.safe_load(path.read_text())
    items[1]["status"]["status"] = "mostly_done"
    items[0]["parent"] = "no-such-parent"
    path.write_text(yaml.safe_dump(items))
    with pytest.raises(DataSetInvalid) as caught:
        await seed_database(data_dir, empty_db.engine)
    message = str(caught.value)
    assert "policy_data/items/items.yaml: #2 (sub-unit): status.0.status" in message
    assert "no item 'no-such-parent'" in message
    assert await _count(empty_db, PolicyItem) == 0


def test_copied_sentences_are_caught(tmp_path: Path, data_dir: Path) -> None:
    from app.seed.copying import copied_passages

    report = tmp_path / "report.txt"
    report.write_text(
        "Intro. A body created to coordinate the national counter-terrorism response. End."
    )
    found = copied_passages(read_dataset(data_dir), report, window=8)
    assert {record for _, record, _ in found} == {"coordination-body", "sub-unit"}


async def test_seeding_the_real_data_twice_changes_nothing(seeded_db: Database) -> None:
    report = await seed_database(Path("policy_data"), seeded_db.engine)
    assert not report.changed, str(report)


def test_real_data_is_valid_and_in_its_own_words() -> None:
    from app.core.config import get_settings
    from app.seed.copying import copied_passages

    data = read_dataset(Path("policy_data"))
    assert len(data.items) > 100 and len(data.statistics) >= 15
    report = get_settings().source_report
    if report is None or not report.exists():
        pytest.skip(f"SOURCE REPORT NOT FOUND at {report}: copy check skipped")
    assert copied_passages(data, report) == []
