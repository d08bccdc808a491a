"""The HTTP benchmark's report: the table printed at the end and the section of RESULTS.md.

RESULTS.md holds two sections, each between its own markers: this one (http) and the import
benchmark's (imports, written by benchmarks/imports.py). Writing one keeps the other as it is.
"""

import os
import platform
import sqlite3
import statistics
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.imports import IMPORTS_END, IMPORTS_START, PROJECT_ROOT, RESULTS

HTTP_START = "<!-- http:start -->"
HTTP_END = "<!-- http:end -->"
TITLE = "# Benchmark results"


@dataclass
class Row:
    """One target line as judged: its figure (or why there is none) and the rates behind it."""

    key: str
    what: str
    figure: str
    target: str
    passed: bool
    detail: str = ""


def print_table(rows: list[Row]) -> None:
    """what | figure | target | PASS/FAIL, in columns, on stdout."""
    header = ("what", "figure", "target", "PASS/FAIL")
    cells = [header, *((r.what, r.figure, r.target, verdict(r)) for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(3)]
    print()
    for row in cells:
        print(
            " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), end=""
        )
        print(f" | {row[3]}")


def verdict(row: Row) -> str:
    return "PASS" if row.passed else "FAIL"


def machine(postgres: str | None) -> str:
    """CPU, cores, Python, SQLite and PostgreSQL versions and the commit, on one line."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [
        f"{cpu}, {os.cpu_count()} cores ({platform.machine()}, {platform.system()})",
        f"Python {platform.python_version()}",
        f"SQLite {sqlite3.sqlite_version}",
        f"PostgreSQL {postgres}" if postgres else "no PostgreSQL",
        commit(),
    ]
    return "; ".join(parts)


def commit() -> str:
    """The commit measured. Only `git rev-parse`: the benchmark never touches the index."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return f"commit {done.stdout.strip()}"


def section(
    rows: list[Row],
    method: str,
    bare: list[list[float]],
    about: str,
    moved: list[str],
    minutes: float,
) -> str:
    """The http section of RESULTS.md, markers included. `bare` holds, per round, every
    requests/s the bare endpoint answered in that round (one run before each subject)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        HTTP_START,
        "## HTTP targets against a bare endpoint",
        "",
        f"`make bench` (`python -m benchmarks.http`) on {now}, {minutes:.1f} min in all. "
        f"Machine: {about}.",
    ]
    if moved:
        lines[-1] += f" Files under app/ changed during the run: {', '.join(moved)}."
    lines += [
        "",
        method,
        "",
        "The bare endpoint, requests/s per round: "
        + "; ".join(
            f"round {n}: median {statistics.median(rates):,.0f} "
            f"({min(rates):,.0f}-{max(rates):,.0f} over {len(rates)} runs)"
            for n, rates in enumerate(bare, 1)
            if rates
        )
        + ".",
        "",
        "| what | figure | target | PASS/FAIL | measured |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        cells = (row.what, row.figure, row.target, f"**{verdict(row)}**", row.detail)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    passed = sum(r.passed for r in rows)
    lines += ["", f"{passed} of {len(rows)} targets met.", HTTP_END]
    return "\n".join(lines)


def write_results(block: str) -> None:
    """RESULTS.md as the title, this section, then the imports section if there is one.

    Anything else (the old in-process summary section) is dropped; the imports section is
    copied unchanged."""
    previous = RESULTS.read_text() if RESULTS.exists() else ""
    text = f"{TITLE}\n\n{block}\n"
    start, end = previous.find(IMPORTS_START), previous.find(IMPORTS_END)
    if start != -1 and end > start:
        text += "\n" + previous[start : end + len(IMPORTS_END)] + "\n"
    RESULTS.write_text(text)
    print(f"wrote the http section of {RESULTS}")
