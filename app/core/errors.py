"""One error hierarchy and one RFC 9457 `application/problem+json` body for every refusal."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


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


def problem(status: int, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update(instance=instance, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def install_error_handlers(app: FastAPI) -> None:
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
        errors = [
            {"field": _location(e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, "Invalid input", detail, request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed"}
        title = titles.get(exc.status_code, "Error")
        return problem(exc.status_code, title, str(exc.detail), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return problem(
            500, "Internal error", "The server failed; the error was logged.", request.url.path
        )
