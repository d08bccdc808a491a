"""JSON built by the database, in one statement, on SQLite and on PostgreSQL alike.

A nested record (an item with its history, timeline and relations) read as one JSON value
costs one round trip and one statement's overhead instead of one per part. The two engines
spell the functions differently; these constructs compile to each engine's spelling.
"""

from typing import Any

from sqlalchemy import String, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import Select


class json_object(FunctionElement[str]):
    """`json_object('key', value, ...)`; PostgreSQL: `json_build_object`."""

    type = String()
    inherit_cache = True


class json_array_agg(FunctionElement[str]):
    """The rows' values as a JSON array, `[]` when there are none."""

    type = String()
    inherit_cache = True


class as_json(FunctionElement[str]):
    """A value that already is JSON (a JSON column, a subquery building JSON), to be nested as
    JSON rather than as a string. SQLite needs `json(...)` for that: a subquery's result loses
    the JSON mark its functions gave it."""

    type = String()
    inherit_cache = True


@compiles(json_object)
def _object_sqlite(element: json_object, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


@compiles(json_object, "postgresql")
def _object_postgresql(element: json_object, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


@compiles(json_array_agg)
def _agg_sqlite(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


@compiles(json_array_agg, "postgresql")
def _agg_postgresql(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"coalesce(json_agg({compiler.process(element.clauses, **kw)}), '[]'::json)"


@compiles(as_json)
def _json_sqlite(element: as_json, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json({compiler.process(element.clauses, **kw)})"


@compiles(as_json, "postgresql")
def _json_postgresql(element: as_json, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


def record(**fields: ColumnElement[Any]) -> json_object:
    """A JSON object of named columns; keys are code, never input, so they are inlined."""
    pairs: list[ColumnElement[Any]] = []
    for key, value in fields.items():
        pairs += [literal_column(f"'{key}'"), value]
    return json_object(*pairs)


def records(query: Select[Any]) -> as_json:
    """`select(record(...)).where(...)` as one JSON array of its rows (in no particular order:
    sort by a field), correlated to the enclosing query like any scalar subquery."""
    (value,) = query.selected_columns
    return as_json(query.with_only_columns(json_array_agg(value)).scalar_subquery())
