"""One error hierarchy and one RFC 9457 `application/problem+json` body for every refusal."""

import logging
import sqlite3
from types import TracebackType
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("nigran.errors")


class NigranError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(NigranError):
    status_code = 422
    title = "Invalid input"


class BadRequest(NigranError):
    status_code = 400
    title = "Bad request"


class NotFound(NigranError):
    status_code = 404
    title = "Not found"


class UnsupportedMediaType(NigranError):
    status_code = 415
    title = "Unsupported media type"


class Conflict(NigranError):
    status_code = 409
    title = "Conflict"


class DatabaseUnavailable(NigranError):
    """The database cannot be reached (or is locked) right now: 503, try again shortly."""

    status_code = 503
    title = "Database unavailable"


def problem(status: int, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update(instance=instance, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


MAX_ERRORS = 50


def install_error_handlers(app: FastAPI) -> None:
    install_database_error_handlers(app)

    @app.exception_handler(NigranError)
    async def _nigran(request: Request, exc: NigranError) -> JSONResponse:
        response = problem(exc.status_code, exc.title, exc.detail, request.url.path, **exc.extra)
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        if "retry_after" in exc.extra:
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = exc.errors()
        # At most MAX_ERRORS listed: a body of 6,000 wrong keys would get a reply ten times
        # its own size.
        errors = [
            {"field": _location(e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in found[:MAX_ERRORS]
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        if len(found) > MAX_ERRORS:
            detail += f" (and {len(found) - MAX_ERRORS} more problems not listed)"
        return problem(422, "Invalid input", detail, request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {400: "Bad request", 404: "Not found", 405: "Method not allowed"}
        title = titles.get(exc.status_code, "Error")
        return problem(exc.status_code, title, str(exc.detail), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return problem(
            500, "Internal error", "The server failed; the error was logged.", request.url.path
        )


# --- the database is unavailable: 503, not 500 ---------------------------------------------
# What a stopped, refusing, hung or cut-off database raises, as seen through SQLAlchemy,
# asyncpg and sqlite3. asyncpg's connect errors (ConnectionRefusedError, TimeoutError) reach
# the app unwrapped, so plain OSError and TimeoutError count too, but only when raised inside
# the database layers (see _raised_by_database): a failed file write elsewhere is still a 500.

DATABASE_MODULES = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3", "app.core.db")
# asyncpg's errors for "the server is not there or will not talk now": SQLSTATE class 08
# (connection exception), 57P01-03 (shut down, crashed, starting up), 53 (too many
# connections, out of memory or disk), 57014 (a statement timeout cancelled the query).
ASYNCPG_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.QueryCanceledError,
)
SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
)


def database_unavailable(exc: BaseException) -> str | None:
    """Why `exc` means the database cannot serve now (a short phrase), or None when it is any
    other error: a constraint violation, bad SQL, a missing table or a bug stay what they are.

    Looks through the causes SQLAlchemy and asyncpg chain onto what they raise."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        reason = _unavailable_reason(current)
        if reason:
            return reason
        for linked in (current.__cause__, current.__context__, getattr(current, "orig", None)):
            if isinstance(linked, BaseException):
                todo.append(linked)
    return None


def _unavailable_reason(exc: BaseException) -> str | None:
    if isinstance(exc, sa_exc.TimeoutError):  # QueuePool: no connection came free in time
        return "no database connection became free in time"
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return "the connection to the database was lost"
    if isinstance(exc, ASYNCPG_UNAVAILABLE):
        return f"the database refused or dropped the connection ({type(exc).__name__})"
    if isinstance(exc, asyncpg.exceptions.InterfaceError) and "connection is closed" in str(exc):
        return "the connection to the database was lost"
    if isinstance(exc, sqlite3.OperationalError):
        message = str(exc).lower()
        if message.startswith(SQLITE_UNAVAILABLE):
            return f"the database file is unavailable ({message})"
        return None
    if isinstance(exc, sa_exc.OperationalError) and not isinstance(exc.orig, sqlite3.Error):
        # PostgreSQL drivers raise OperationalError for connection-level failures; SQLite's
        # (bad SQL, no such table) are judged by the sqlite3 error it wraps, above.
        return "the database could not be reached"
    if isinstance(exc, TimeoutError) and _raised_by_database(exc.__traceback__):
        return "the database did not answer in time"
    if isinstance(exc, OSError) and _raised_by_database(exc.__traceback__):
        return f"the database could not be reached ({exc.strerror or type(exc).__name__})"
    return None


def _raised_by_database(tb: TracebackType | None) -> bool:
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith(DATABASE_MODULES):
            return True
        tb = tb.tb_next
    return False


def database_unavailable_response(request: Request, reason: str) -> JSONResponse:
    from app.core.config import get_settings  # config imports nothing of ours; keep it lazy

    retry = get_settings().db_retry_after_seconds
    response = problem(
        503,
        DatabaseUnavailable.title,
        f"The database is unavailable: {reason}. Retry in {retry} s.",
        request.url.path,
        retry_after=retry,
    )
    response.headers["Retry-After"] = str(retry)
    return response


DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    sqlite3.Error,
    OSError,  # TimeoutError, ConnectionRefusedError, ConnectionResetError...
)


def install_database_error_handlers(app: FastAPI) -> None:
    """503 + Retry-After for an unreachable database; anything else is re-raised, so it meets
    the catch-all handler above (a logged 500) exactly as before."""

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        reason = database_unavailable(exc)
        if reason is None:
            raise exc
        log.warning(
            "%s %s: 503, database unavailable: %s (%s: %s)",
            request.method,
            request.url.path,
            reason,
            type(exc).__name__,
            str(exc).splitlines()[0][:200] if str(exc) else "",
        )
        return database_unavailable_response(request, reason)

    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, _database)
