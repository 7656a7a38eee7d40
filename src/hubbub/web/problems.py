"""Errors as ``application/problem+json`` (RFC 9457) under ``/api``, as an HTML page elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from hubbub.web.auth import PasswordChangeRequired, SignInRequired
from hubbub.web.filters import FilterError
from hubbub.web.headers import apply_security_headers
from hubbub.web.render import templates

PROBLEM_TYPE = "application/problem+json"
API_PREFIX = "/api/"


class Problem(BaseModel):
    """RFC 9457 problem details; ``errors`` lists each refused parameter."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, Any]] = []


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_TYPE: {}}}
    for status in (400, 401, 403, 404, 422, 429, 500, 503)
}


#: A request that clashes with the stored state (a name taken, a reply already sent …).
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": Problem, "content": {PROBLEM_TYPE: {}}}}


def problem(
    status: int,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        title=HTTPStatus(status).phrase, status=status, detail=detail, errors=errors or []
    )
    return JSONResponse(
        body.model_dump(),
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=dict(headers) if headers else None,
    )


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def error_page(request: Request, status: int, detail: str | None) -> Response:
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status": status,
            "title": HTTPStatus(status).phrase,
            "detail": detail,
            "workspace": None,
            "workspaces": [],
            "role": None,
            "tab": "",
        },
        status_code=status,
    )


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if _is_api(request):
        return problem(exc.status_code, detail, headers=exc.headers)
    return error_page(request, exc.status_code, detail)


def _field(error: Mapping[str, Any]) -> str:
    """Where a validation error is: ``query.limit`` style without the source, or the source
    itself (``body``) for an error about the whole of it, such as JSON that does not parse
    (whose location pydantic gives as a character offset)."""
    loc = tuple(error.get("loc", ()))
    source = str(loc[0]) if loc else "request"
    if error.get("type") == "json_invalid":
        return source
    return ".".join(str(part) for part in loc[1:]) or source


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field(err), "message": str(err.get("msg", ""))} for err in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    if _is_api(request):
        return problem(422, detail, errors)
    return error_page(request, 422, detail)


async def on_server_error(request: Request, exc: Exception) -> Response:
    """Never a traceback to the client; uvicorn still logs it.

    Starlette sends this response from outside every middleware, so the security headers are
    set here too.
    """
    detail = "the server failed to answer; the error is in its log"
    response = problem(500, detail) if _is_api(request) else error_page(request, 500, detail)
    apply_security_headers(response.headers)
    return response


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in "\\\r\n\t"):
        return default
    return target


async def on_sign_in_required(request: Request, exc: Exception) -> Response:
    """The API answers 401 with a Bearer challenge; pages send the browser to sign in."""
    assert isinstance(exc, SignInRequired)
    if _is_api(request):
        return problem(401, exc.detail, headers={"WWW-Authenticate": 'Bearer realm="hubbub"'})
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/login" if here == "/" else f"/login?{urlencode({'next': local_path(here)})}"
    return RedirectResponse(target, status_code=303)


async def on_password_change_required(request: Request, exc: Exception) -> Response:
    """Pages send the browser to choose a password (and back here after); the API says why."""
    assert isinstance(exc, PasswordChangeRequired)
    if _is_api(request):
        return problem(403, exc.detail)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/account/password"
    if here != "/" and request.method in ("GET", "HEAD"):
        target += f"?{urlencode({'next': local_path(here)})}"
    return RedirectResponse(target, status_code=303)


def filter_problem(exc: FilterError) -> JSONResponse:
    return problem(
        400, f"{exc.field} {exc.message}", [{"field": exc.field, "message": exc.message}]
    )
