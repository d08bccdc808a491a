"""Find passages of the data that repeat the source report word for word.

The report is copyrighted: the data may carry its facts but must say them in its own words.
A run of `window` consecutive words shared with the report counts as copied.
"""

import re
from collections.abc import Iterator
from pathlib import Path

from app.seed.files import DataSet

WORD = re.compile(r"[a-z0-9]+")
DEFAULT_WINDOW = 10


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def _shingles(words: list[str], window: int) -> Iterator[tuple[str, ...]]:
    for start in range(len(words) - window + 1):
        yield tuple(words[start : start + window])


def _texts(data: DataSet) -> Iterator[tuple[str, str, str]]:
    for item in data.items:
        file = data.file_of(item)
        yield file, item.slug, item.summary
        for status in item.status:
            yield file, item.slug, status.note
        for event in item.timeline:
            yield file, item.slug, event.description
    for stats in data.statistics:
        file = data.file_of(stats)
        for text in (stats.title, stats.note or ""):
            yield file, stats.id, text
        for obs in stats.observations:
            yield file, stats.id, obs.note or ""
    for group in data.groups:
        yield data.file_of(group), group.slug, group.summary or ""
    for link in data.links:
        yield data.file_of(link), link.item, link.rationale


def copied_passages(
    data: DataSet, report: Path, window: int = DEFAULT_WINDOW
) -> list[tuple[str, str, str]]:
    """(file, record, passage) for every text sharing `window` consecutive words with the report."""
    source = set(_shingles(_words(report.read_text(encoding="utf-8")), window))
    found = []
    for file, record, text in _texts(data):
        for shingle in _shingles(_words(text), window):
            if shingle in source:
                found.append((file, record, " ".join(shingle)))
                break
    return found
