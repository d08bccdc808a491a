"""CSV for every list endpoint: `?format=csv` or `Accept: text/csv`.

Cells are written for spreadsheets, which run a cell beginning with `=`, `+`, `-` or `@` (or a
tab or carriage return before one) as a formula: an imported incident note or a proposed event
reading `=HYPERLINK(...)` would otherwise become a live link or command on the reader's machine.
Such text cells are prefixed with a single quote, as OWASP advises ("CSV injection"), which
spreadsheets show as text; numbers, negative ones included, are written as they are.
"""

import csv
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import Query, Request
from fastapi.responses import Response

CSV_TYPE = "text/csv; charset=utf-8"
FormatParam = Query(pattern="^(json|csv)$", description="json (default) or csv.")


def wants_csv(request: Request, format: str | None) -> bool:
    if format:
        return format == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, Mapping):
        if "doc" in value:  # a citation reads best as one line
            parts = [
                value.get("document") or value["doc"],
                value.get("table"),
                value.get("section"),
                value.get("url"),
            ]
            return ", ".join(str(p) for p in parts if p)
        return "; ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return str(value)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def neutralize(text: str) -> str:
    """`text` as a spreadsheet shows it rather than runs it: a leading `'` before a formula
    start. A plain number (`-12.5`, from a numeric field written as text) is left alone."""
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _safe_cell(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a number, never a formula
    return neutralize(_cell(value))


def flatten(row: Mapping[str, Any], expand: Iterable[str] = ()) -> dict[str, str]:
    """One CSV row: nested objects named in `expand` become prefixed columns; text that a
    spreadsheet would run as a formula is neutralized."""
    flat: dict[str, str] = {}
    for key, value in row.items():
        if key in expand and isinstance(value, Mapping):
            for sub, subvalue in value.items():
                flat[f"{key}.{sub}"] = _safe_cell(subvalue)
        else:
            flat[key] = _safe_cell(value)
    return flat


def csv_response(
    rows: list[Mapping[str, Any]],
    *,
    filename: str,
    expand: Iterable[str] = (),
    next_cursor: str | None = None,
) -> Response:
    flat = [flatten(r, expand) for r in rows]
    columns: list[str] = []
    for row in flat:
        columns += [c for c in row if c not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(flat)
    headers = {"Content-Disposition": f'attachment; filename="{filename}.csv"'}
    if next_cursor:
        headers["X-Next-Cursor"] = next_cursor
    return Response(buffer.getvalue(), media_type=CSV_TYPE, headers=headers)
