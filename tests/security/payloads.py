"""Hostile values, and the endpoints and text parameters to send them to, read from the app itself
(its OpenAPI schema for the API, its routes for the HTML pages) so a new endpoint or parameter is
covered without editing this file."""

import base64
import json
from dataclasses import dataclass, field
from typing import Any, get_args
from urllib.parse import quote

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_params


def _cursor(payload: object) -> str:
    """A cursor as this API encodes them, holding whatever a forger chose."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'

# label -> value; bytes are sent percent-encoded as they are (not valid UTF-8, on purpose).
HOSTILE: dict[str, str | bytes] = {
    "sql-or": "' OR 1=1 --",
    "sql-drop": "'; DROP TABLE policy_item; --",
    "sql-union": "x' UNION SELECT key_hash, prefix FROM api_key --",
    "double-quote": '"',
    "unbalanced-quote": '"national action',
    "star": "*",
    "fts-near": "NEAR(",
    "fts-near-words": "NEAR(a b, 2)",
    "fts-and": "a AND",
    "fts-not": "NOT",
    "fts-column": "title:nacta",
    "fts-caret": "^nacta",
    "tsquery": "a & | ! <-> :*",
    "parens": ")(",
    "percent": "%",
    "underscore": "_",
    "like-both": "%_%",
    "backslash": "\\",
    "backslash-quote": "\\'",
    "nul": "\x00",
    "nul-inside": "nac\x00ta",
    "control": "\x01\x07\x08\x0b\x1b",
    "crlf": "a\r\nSet-Cookie: x=1",
    "long": "a" * 10_000,
    "long-words": "national action plan " * 100,
    "urdu": "نیشنل ایکشن پلان",
    "rtl-marks": "\u202enacta\u202c\u200f\u200e",
    "zero-width": "na\u200bc\u200dta\ufeff",
    "emoji": "💣🔥👨‍👩‍👧 🇵🇰",
    "combining": "e\u0301\u0301\u0301\u0301\u0301",
    "script": SCRIPT,
    "img": IMG,
    "template": "{{7*7}}${7*7}{%raw%}",
    "invalid-utf8": b"\xff\xfe\xc3(",
}
# A parameter declared once and shared by several endpoints (the trend filters, the timeline
# filters) gets every value where it is first seen and these where it is seen again: the same
# code parses it, and the trend endpoints are each slow enough to make the sweep slow.
CORE = ("sql-or", "fts-near", "percent", "nul", "long", "rtl-marks", "script", "invalid-utf8")
# Forged cursors, sent to every parameter named cursor (to any other they are plain text).
CURSORS: dict[str, str | bytes] = {
    "cursor-huge": _cursor({"after": 10**30}),
    "cursor-negative": _cursor({"after": -(10**30)}),
    "cursor-float": _cursor({"after": 1e308}),
    "cursor-keyset": _cursor({"after": ["9" * 400, 10**30]}),
    "cursor-keyset-types": _cursor({"after": [{"a": 1}, None]}),
    "cursor-nested": _cursor({"after": {"after": [1, [2, [3]]]}}),
    "cursor-not-base64": "!!!not*base64",
}


def encoded(value: str | bytes, *, path: bool = False) -> str:
    """`value` percent-encoded for a query string or (with `path`) one path segment."""
    return quote(value, safe="" if path else "/")


@dataclass
class Target:
    """One GET endpoint: its path template, its text parameters, and sane values for the
    others that must be present (a required metric, a real slug)."""

    path: str
    page: bool
    text_query: list[str] = field(default_factory=list)
    text_path: list[str] = field(default_factory=list)
    int_path: list[str] = field(default_factory=list)
    required: dict[str, str] = field(default_factory=dict)
    authenticated: bool = False
    # parameter -> the function declaring it (the endpoint, or a dependency several share)
    declared_by: dict[str, str] = field(default_factory=dict)

    def url(self, path_values: dict[str, str], query: list[tuple[str, str]]) -> str:
        """The address with `path_values` (already encoded) and `query` (name, encoded value)."""
        path = self.path
        for name in [*self.text_path, *self.int_path]:
            path = path.replace("{" + name + "}", path_values.get(name) or SANE[name])
        pairs = {k: encoded(v) for k, v in self.required.items()}
        pairs.update(dict(query))
        return path + ("?" + "&".join(f"{k}={v}" for k, v in pairs.items()) if pairs else "")


# Values that let a request reach the code behind its other parameters.
SANE: dict[str, str] = {
    "slug": "nacta",
    "metric": "attacks",
    "q": "national action plan",
    "since": "2024-01-01",
    "record_id": "1",
    "update_id": "1",
    "event_id": "1",
    "correction_id": "1",
    "conversation_id": "A" * 32,
    "prefix": "abcdef012345",
    "ident": "1",
}


def _is_text(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(o.get("type") == "string" and "format" not in o for o in options)


def _is_int(schema: dict[str, Any]) -> bool:
    return any(o.get("type") == "integer" for o in schema.get("anyOf", [schema]))


def _declarations(dependant: Dependant) -> dict[str, str]:
    """Parameter name -> qualified name of the function that declares it."""
    found: dict[str, str] = {}
    for sub in dependant.dependencies:
        found.update(_declarations(sub))
    owner = (
        f"{getattr(dependant.call, '__module__', '')}.{getattr(dependant.call, '__qualname__', '')}"
    )
    for param in [*dependant.query_params, *dependant.path_params]:
        found.setdefault(param.alias, owner)
    return found


def _get_routes(app: FastAPI) -> list[routing.RouteContext]:
    return [
        context
        for context in routing.iter_route_contexts(app.routes)
        if isinstance(context.original_route, routing.APIRoute) and "GET" in context.methods
    ]


def api_targets(app: FastAPI) -> list[Target]:
    """Every GET operation of the OpenAPI schema with a text or integer parameter."""
    declared = {c.path_format: _declarations(c.dependant) for c in _get_routes(app)}
    targets = []
    for path, operations in app.openapi()["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        target = Target(
            path=path,
            page=False,
            authenticated=bool(operation.get("security")),
            declared_by=declared.get(path, {}),
        )
        for parameter in operation.get("parameters", []):
            name, where, schema = parameter["name"], parameter["in"], parameter.get("schema", {})
            if where == "query" and _is_text(schema):
                target.text_query.append(name)
            elif where == "path" and _is_text(schema):
                target.text_path.append(name)
            elif where == "path" and _is_int(schema):
                target.int_path.append(name)
            if where == "query" and parameter.get("required"):
                target.required[name] = SANE[name]
        if target.text_query or target.text_path or target.int_path:
            targets.append(target)
    return targets


def _annotation_is_text(annotation: Any) -> bool:
    return annotation is str or str in get_args(annotation)


def page_targets(app: FastAPI) -> list[Target]:
    """Every HTML page answering GET (they are left out of the OpenAPI schema)."""
    targets = []
    for context in _get_routes(app):
        if context.include_in_schema:
            continue
        declared = _declarations(context.dependant)
        target = Target(path=context.path_format, page=True, declared_by=declared)
        for param in get_flat_params(context.dependant):
            in_path = "{" + param.alias + "}" in context.path_format
            annotation = param.field_info.annotation
            if _annotation_is_text(annotation):
                (target.text_path if in_path else target.text_query).append(param.alias)
            elif in_path and annotation is int:
                target.int_path.append(param.alias)
        targets.append(target)
    return targets


def plan(targets: list[Target]) -> list[tuple[Target, str, str, str]]:
    """(target, parameter, value label, address) for each request of the sweep:

    - every hostile value once per endpoint, in all its text query parameters at once (the
      long ones only alone);
    - each text parameter alone with the CORE values (all of them for path parameters and
      for `q`, the full-text searches), unless a dependency that declares it for several
      endpoints was swept already;
    - forged cursors in `cursor`, out-of-range numbers in integer path parameters.
    """
    swept: set[str] = set()
    out = []
    for target in targets:
        fresh = []
        for name in [*target.text_query, *target.text_path]:
            owner = target.declared_by.get(name)
            # A page's model-declared fields (the trends form) have no owner of their own.
            key = f"{owner}:{name}" if owner else f"{target.path}:{name}"
            if key not in swept:
                fresh.append(name)
            swept.add(key)
        if target.text_query:
            together = HOSTILE if fresh else {k: HOSTILE[k] for k in CORE}
            for label, value in together.items():
                if label.startswith("long"):  # sent alone: sixteen at once overflow a URL
                    continue
                query = [(name, encoded(value)) for name in target.text_query]
                out.append((target, "*", label, target.url({}, query)))
        for name in fresh:
            values = (
                dict(HOSTILE)
                if name in target.text_path or name == "q"
                else {k: HOSTILE[k] for k in CORE}
            )
            if name == "cursor":
                values.update(CURSORS)
            for label, value in values.items():
                if name in target.text_path:
                    url = target.url({name: encoded(value, path=True)}, [])
                else:
                    url = target.url({}, [(name, encoded(value))])
                out.append((target, name, label, url))
        for name in target.int_path:
            for number in HUGE_INTEGERS:
                out.append((target, name, f"int {number}", target.url({name: number}, [])))
    return out


HUGE_INTEGERS = ["99999999999999999999999", "9223372036854775808", "-9223372036854775809", "-1"]
