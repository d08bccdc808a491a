"""Every operation's error responses in the OpenAPI schema, in one place.

The routers document what they return when all goes well; what they refuse with is decided
by shared machinery (dependencies, middleware, error handlers), so it is documented here, from
the same machinery: `install_openapi(app)` wraps `app.openapi()`, and after FastAPI has built
the schema, `document_errors` walks the app's API routes and gives each operation the
`application/problem+json` statuses it can really answer with, each with the `Problem` schema
(the body `app.core.errors.problem()` writes):

| status | when                                   | derived from                                |
|--------|----------------------------------------|---------------------------------------------|
| 304    | If-None-Match matched (anonymous GET)  | GET, no role required, path cached          |
| 400    | a NUL character in the address or body | `RefuseNul` among the app's middleware      |
|        | an unparsable body (bytes, not UTF-8)  | a request body                              |
|        | a cursor this API did not issue        | a `cursor` query parameter                  |
| 401    | missing, malformed or unknown key      | reads the key: depends on the HTTPBearer    |
|        |                                        | scheme (OptionalActor, OptionalReader and   |
|        |                                        | require(...) all do)                        |
| 403    | the key's role is too low              | require(reviewer) / require(admin)          |
| 404    | no such resource                       | a path parameter, or `SERVICE_ERRORS`       |
| 409    | Idempotency-Key reused for another     | the endpoint calls `run_once`, or           |
|        | request; already reviewed; ...         | `SERVICE_ERRORS`                            |
| 412    | If-Match names no or another version   | an `If-Match` header parameter              |
| 413    | body over the size limit               | a request body                              |
| 415    | body not of the accepted media type    | `SERVICE_ERRORS` (only the CSV import; a    |
|        |                                        | JSON body sent as another type is a 422)    |
| 422    | validation (FastAPI's default 422 and  | a body, or a parameter some value of which  |
|        | its HTTPValidationError are replaced)  | is refused (not a plain optional string)    |
| 428    | If-Match missing where it is required  | `SERVICE_ERRORS`                            |
| 429    | a rate limit (failed authentications   | reads the key (as for 401)                  |
|        | per address, writes per key, ...)      |                                             |
| 503    | the database is unavailable            | depends on the database session or engine   |

`SERVICE_ERRORS` lists what service code raises that no signature shows; tests/fuzz checks
every entry names a real operation, and the schema fuzzing checks every status the server
answers with is documented.

Also documented here, from the route's parameters: routes with `Idempotency-Key` support get
that header parameter; a `format` query parameter adds its other media types (csv, md, html)
to the success response; and routes that accept a key without needing one say that their
security requirement is optional.
"""

import copy
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from app.accounts.auth import AdminActor, MonitorActor, ReviewerActor
from app.accounts.models import ROLE_RANK, Role
from app.core.cache import NOT_CACHED_PREFIXES
from app.core.db import get_read_engine, get_session, get_sessionmaker
from app.core.errors import PROBLEM_JSON
from app.core.idempotency import run_once
from app.core.limits import RefuseNul

REF = "#/components/schemas/{model}"


def _no_defaults(schema: dict[str, Any]) -> None:
    """Optional members are absent, never null: drop pydantic's `"default": null`."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class ProblemError(BaseModel):
    """One problem in a refused request: a field and what is wrong with it, or (imports) a
    line of the file and why it was refused."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_no_defaults)
    field: str | SkipJsonSchema[None] = Field(
        default=None, description="Where: `query.limit`, `body.status`, a CSV column."
    )
    message: str | SkipJsonSchema[None] = Field(default=None, description="What is wrong.")
    type: str | SkipJsonSchema[None] = Field(
        default=None, description="The validation error's kind (request validation only)."
    )
    line: int | SkipJsonSchema[None] = Field(
        default=None, description="Line of the file (imports only)."
    )
    reason: str | SkipJsonSchema[None] = Field(
        default=None, description="Why the line was refused (imports only)."
    )


class Problem(BaseModel):
    """An RFC 9457 problem: every refusal of this API has this body, as
    `application/problem+json`. Extension members depend on the status."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_no_defaults)
    type: str = Field(description="Always `about:blank`: the status says what happened.")
    title: str = Field(description="The status in words, e.g. `Not found`.")
    status: int = Field(description="The HTTP status code, repeated.")
    detail: str = Field(description="What went wrong with this request, in a sentence.")
    instance: str = Field(description="The path that was requested.")
    errors: list[ProblemError] | SkipJsonSchema[None] = Field(
        default=None, description="422: every problem found, not just the first."
    )
    field: str | SkipJsonSchema[None] = Field(
        default=None, description="422: the parameter at fault, when there is one."
    )
    available: dict[str, Any] | SkipJsonSchema[None] = Field(
        default=None, description="422 (trends): what the data can answer instead."
    )
    retry_after: int | SkipJsonSchema[None] = Field(
        default=None, description="429, 503: seconds to wait, as in the Retry-After header."
    )
    current_version: int | SkipJsonSchema[None] = Field(
        default=None, description="412: the item's version now."
    )
    current_etag: str | SkipJsonSchema[None] = Field(
        default=None, description="412: the ETag to send as If-Match after re-reading."
    )
    prefix: str | SkipJsonSchema[None] = Field(
        default=None, description="409 (keys): the key concerned."
    )


# What each status means, for the operations that can answer with it.
DESCRIPTIONS: dict[int, str] = {
    400: "Bad request: see `detail`.",
    401: "No valid API key: missing, not sent as `Authorization: Bearer <key>`, unknown, "
    "revoked or expired.",
    403: "The key's role may not do this.",
    404: "No such resource.",
    409: "Conflict with the current state (see `detail`).",
    412: "Precondition failed: If-Match names no version, or not the current one "
    "(`current_etag` says which is).",
    413: "Request body too large.",
    415: "Unsupported media type for the request body.",
    422: "Invalid input: `errors` lists every problem.",
    428: "Precondition required: send If-Match with the ETag from your last read.",
    429: "Too many requests: wait `Retry-After` seconds.",
    503: "The database is unavailable: retry after `Retry-After` seconds.",
}
AUTH_OPTIONAL_401 = (
    "The key sent is malformed, unknown, revoked or expired (this endpoint also answers "
    "without a key)."
)
NOT_MODIFIED = (
    "Not modified: If-None-Match matched the ETag (anonymous requests, with the response cache on)."
)

RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}
HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"required": True, "schema": {"type": "string", "const": "Bearer"}}},
    429: {"Retry-After": RETRY_AFTER},
    503: {"Retry-After": RETRY_AFTER},
}

# Statuses raised by service code, which no route signature shows: "METHOD path" -> statuses.
SERVICE_ERRORS: dict[str, dict[int, str]] = {
    "POST /api/v1/items": {409: "An item with this slug already exists."},
    "PATCH /api/v1/items/{slug}": {428: DESCRIPTIONS[428]},
    "POST /api/v1/status-updates/{update_id}/approve": {409: "Already reviewed."},
    "POST /api/v1/status-updates/{update_id}/reject": {409: "Already reviewed."},
    "POST /api/v1/events/{event_id}/approve": {409: "Already reviewed."},
    "POST /api/v1/events/{event_id}/reject": {409: "Already reviewed."},
    "POST /api/v1/corrections/{correction_id}/approve": {409: "Already reviewed."},
    "POST /api/v1/corrections/{correction_id}/reject": {409: "Already reviewed."},
    "GET /api/v1/items": {404: "No item `parent` names."},
    "GET /api/v1/timeline": {404: "No item `item` names."},
    "GET /api/v1/feeds/changes.atom": {404: "No item `item` names."},
    "GET /api/v1/trends/chart.svg": {404: "No item `annotate` names."},
    "GET /api/v1/trends/chart.png": {404: "No item `annotate` names."},
    "POST /api/v1/chat": {404: "No such conversation, or it has expired."},
    "POST /api/v1/chat/stream": {404: "No such conversation, or it has expired."},
    "POST /api/v1/incidents/import": {415: "The body is not CSV."},
}

# Media types a `format` query parameter's values select, besides JSON.
FORMAT_MEDIA_TYPES = {
    "csv": ("text/csv", {"type": "string"}),
    "md": ("text/markdown", {"type": "string"}),
    "html": ("text/html", {"type": "string"}),
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string: a retry with the same key and body gets the first "
    "answer (`Idempotent-Replayed: true`) instead of acting twice; the same key with another "
    "body is a 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
DATABASE_DEPENDENCIES = {get_session, get_sessionmaker, get_read_engine}


def _role_of(actor_type: Any) -> tuple[Callable[..., Any], Role]:
    """The dependency behind `MonitorActor` etc., and the role its `require(role)` checks."""
    dependency = get_args(actor_type)[1].dependency
    return dependency, inspect.getclosurevars(dependency).nonlocals["role"]


ROLE_DEPENDENCIES: dict[Callable[..., Any], Role] = dict(
    _role_of(t) for t in (MonitorActor, ReviewerActor, AdminActor)
)


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` document every operation's error responses (see the module)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_errors(app, build())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _calls(dependant: Dependant) -> Iterator[Any]:
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Each API route as served (router prefixes and dependencies applied)."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context  # type: ignore[misc]  # a RouteContext reads as its APIRoute


def _reads_key(calls: set[Any]) -> bool:
    """Whether the route reads the Authorization header: its key dependencies (OptionalActor,
    OptionalReader, require(...)) all build on the HTTPBearer scheme."""
    return any(isinstance(call, SecurityBase) for call in calls)


def _uses_run_once(endpoint: Callable[..., Any]) -> bool:
    code = getattr(endpoint, "__code__", None)
    return code is not None and run_once.__name__ in code.co_names


def _format_values(operation: dict[str, Any]) -> list[str]:
    """The values a `format` query parameter's pattern allows: `^(json|csv)$` -> json, csv."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query" and parameter["name"] == "format":
            schema = parameter.get("schema", {})
            for option in [schema, *schema.get("anyOf", [])]:
                alternatives = re.fullmatch(r"\^\((.*)\)\$", option.get("pattern", ""))
                if alternatives:
                    return alternatives.group(1).split("|")
    return []


def _may_be_invalid(parameter: dict[str, Any]) -> bool:
    """Whether some value of `parameter` is refused: any but an optional string taking any
    text (a path segment, say, whose only refusal is a 404)."""
    if parameter.get("required") and parameter["in"] != "path":
        return True  # it may be missing
    schema = parameter.get("schema", {})
    options = [o for o in schema.get("anyOf", [schema]) if o.get("type") != "null"]
    return any(
        o.get("type") != "string" or set(o) - {"type", "title", "description"} for o in options
    )


def _bad_request(operation: dict[str, Any], parameters: set[tuple[str, str]], nul: bool) -> str:
    """Why `operation` may answer 400, or an empty string if it never does."""
    body = "requestBody" in operation
    reasons = []
    if nul:
        reasons.append("a NUL character (U+0000) in the address" + (" or the body" if body else ""))
    if body:
        reasons.append("a body that cannot be parsed (not UTF-8 text)")
    if ("query", "cursor") in parameters:
        reasons.append("a `cursor` this API did not issue")
    return f"Bad request: {'; '.join(reasons)}." if reasons else ""


def error_statuses(
    route: APIRoute, method: str, operation: dict[str, Any], *, refuses_nul: bool = False
) -> dict[int, str]:
    """The problem statuses `operation` (one method of `route`) can answer with, described;
    `refuses_nul`: the app runs `RefuseNul`."""
    calls = set(_calls(route.dependant))
    parameters = {(p["in"], p["name"].lower()) for p in operation.get("parameters", [])}
    roles = [ROLE_DEPENDENCIES[c] for c in calls if c in ROLE_DEPENDENCIES]
    authenticates = _reads_key(calls)
    statuses: dict[int, str] = {}
    if bad_request := _bad_request(operation, parameters, refuses_nul):
        statuses[400] = bad_request
    if authenticates:
        statuses[401] = DESCRIPTIONS[401] if roles else AUTH_OPTIONAL_401
        statuses[429] = DESCRIPTIONS[429]
    if any(ROLE_RANK[role] > min(ROLE_RANK.values()) for role in roles):
        statuses[403] = DESCRIPTIONS[403]
    if any(where == "path" for where, _ in parameters):
        statuses[404] = DESCRIPTIONS[404]
    if _uses_run_once(route.endpoint):
        statuses[409] = "This Idempotency-Key was already used for a different request."
    if ("header", "if-match") in parameters:
        statuses[412] = DESCRIPTIONS[412]
    if "requestBody" in operation:
        statuses[413] = DESCRIPTIONS[413]
    if "requestBody" in operation or any(map(_may_be_invalid, operation.get("parameters", []))):
        statuses[422] = DESCRIPTIONS[422]
    if calls & DATABASE_DEPENDENCIES:
        statuses[503] = DESCRIPTIONS[503]
    for status, description in SERVICE_ERRORS.get(f"{method} {route.path_format}", {}).items():
        statuses[status] = (
            f"{statuses[status]} {description}" if status in statuses else description
        )
    return dict(sorted(statuses.items()))


def _problem_response(description: str, status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": REF.format(model="Problem")}}},
    }
    if status in HEADERS:
        response["headers"] = copy.deepcopy(HEADERS[status])
    return response


def _document_operation(
    route: APIRoute, method: str, operation: dict[str, Any], *, refuses_nul: bool
) -> None:
    responses = operation.setdefault("responses", {})
    # FastAPI's own 422 describes a body this app never sends (handlers rewrite it).
    fastapi_422 = responses.get("422", {}).get("content", {}).get("application/json", {})
    if fastapi_422.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
        del responses["422"]
    if _uses_run_once(route.endpoint):
        operation.setdefault("parameters", []).append(copy.deepcopy(IDEMPOTENCY_KEY))
    statuses = error_statuses(route, method, operation, refuses_nul=refuses_nul)
    # Refusals the router documented itself (raised by its service) are problems too.
    for code in responses:
        if code.isdigit() and int(code) >= 400:
            statuses.setdefault(int(code), DESCRIPTIONS.get(int(code), "Refused."))
    for status, description in statuses.items():
        documented = responses.get(str(status))
        problem = _problem_response(description, status)
        if documented is None:
            responses[str(status)] = problem
            continue
        # The router described it already: keep its words (and any other media type).
        documented.setdefault("content", {}).update(problem["content"])
        if "headers" in problem:
            documented.setdefault("headers", {}).update(problem["headers"])
    success = next((code for code in responses if code.startswith("2")), None)
    if success is not None:
        for value in _format_values(operation):
            if value in FORMAT_MEDIA_TYPES:
                media_type, schema = FORMAT_MEDIA_TYPES[value]
                content = responses[success].setdefault("content", {})
                content.setdefault(media_type, {"schema": schema})
    calls = set(_calls(route.dependant))
    requires_role = any(c in ROLE_DEPENDENCIES for c in calls)
    if method == "GET" and not requires_role and not route.path.startswith(NOT_CACHED_PREFIXES):
        responses.setdefault(
            "304",
            {
                "description": NOT_MODIFIED,
                "headers": {"ETag": {"required": True, "schema": {"type": "string"}}},
            },
        )
    if _reads_key(calls) and not requires_role and operation.get("security"):
        operation["security"] = [{}, *operation["security"]]  # a key is accepted, not needed
    operation["responses"] = dict(sorted(responses.items()))


def document_errors(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    """Add the error responses of every API route of `app` to its OpenAPI `schema`."""
    refuses_nul = any(m.cls is RefuseNul for m in app.user_middleware)
    for route in _api_routes(app):
        for method in sorted(route.methods):
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _document_operation(route, method, operation, refuses_nul=refuses_nul)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template=REF)
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    if "HTTPValidationError" not in _refs(schema["paths"]):
        components.pop("HTTPValidationError", None)
        if "ValidationError" not in _refs(schema):
            components.pop("ValidationError", None)
    return schema


def _refs(node: Any) -> set[str]:
    """The component names referenced anywhere under `node`."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found
