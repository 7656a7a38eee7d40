"""The web app: ``create_app`` wires pages, API, static files and the security headers.

Every route declares its permission (:mod:`hubbub.web.auth`). Requests whose Host header is not
one of ``HUBBUB_ALLOWED_HOSTS`` (loopback names by default) are refused, which also stops
DNS-rebinding pages in the user's own browser from reaching it.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from hubbub.settings import Settings
from hubbub.store.engine import engine_for
from hubbub.web import (
    account,
    accuracy,
    alerts,
    inbox,
    inbox_api,
    influence,
    metrics,
    pages,
    reports,
    rest,
    sources,
    topics,
    topics_api,
    webhooks,
)
from hubbub.web.auth import Access, PasswordChangeRequired, Permit, SignInRequired
from hubbub.web.deps import loop_engine
from hubbub.web.guards import RefuseNul
from hubbub.web.headers import CONTENT_SECURITY_POLICY, SECURITY_HEADERS, SecurityHeaders
from hubbub.web.problems import (
    on_http_error,
    on_password_change_required,
    on_server_error,
    on_sign_in_required,
    on_validation_error,
)
from hubbub.web.render import STATIC_DIR

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "SecurityHeaders", "create_app"]


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    *,
    allowed_hosts: Sequence[str] | None = None,
) -> FastAPI:
    """The ASGI app over an already migrated database (``engine``, or one made from settings).

    ``allowed_hosts`` are the Host header names answered (default: the setting).
    """
    owned = engine is None
    db = engine_for(settings) if engine is None else engine

    loop_db = loop_engine(db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if loop_db is not None:
            loop_db.dispose()
        if owned:
            db.dispose()

    app = FastAPI(
        title="Hubbub",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,  # their pages load scripts from a CDN
        openapi_url=None,  # served below, so that it too declares its permission
    )
    app.state.engine = db
    app.state.loop_engine = loop_db
    app.state.settings = settings
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(SignInRequired, on_sign_in_required)
    app.add_exception_handler(PasswordChangeRequired, on_password_change_required)
    app.add_exception_handler(Exception, on_server_error)

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    def openapi(_access: Annotated[Access, Depends(Permit("public"))]) -> dict[str, Any]:
        return app.openapi()

    app.include_router(rest.router)
    app.include_router(accuracy.api)
    app.include_router(inbox_api.router)
    app.include_router(metrics.api)
    app.include_router(topics_api.api)
    app.include_router(pages.router)
    app.include_router(sources.router)
    app.include_router(topics.router)
    app.include_router(accuracy.router)
    app.include_router(inbox.router)
    app.include_router(account.router)
    app.include_router(influence.router)
    app.include_router(metrics.router)
    app.include_router(alerts.router)
    app.include_router(webhooks.router)
    app.include_router(webhooks.page_router)
    app.include_router(reports.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    hosts = list(allowed_hosts) if allowed_hosts is not None else list(settings.allowed_hosts)
    app.add_middleware(RefuseNul, limit=settings.max_payload_bytes)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    app.add_middleware(SecurityHeaders)
    return app


def app_from_environment() -> FastAPI:
    """The app as each process of ``hubbub serve --workers N`` builds it (uvicorn imports it
    by name there): settings from the ``HUBBUB_*`` variables, connectors loaded; the heap
    settled for serving."""
    from hubbub.runtime import runtime

    rt = runtime()
    app = create_app(rt.settings, rt.engine)
    settle_heap()
    return app


def settle_heap() -> None:
    """Call once a server process has loaded what it serves with: collect, then move what is
    left (modules, the app, its routes and models) out of the collector's sight. Every full
    collection walked all of it: 95-115 ms pauses every few seconds under load, the API's
    slowest answers. A long-running process, not a test, is the place for this."""
    gc.collect()
    gc.freeze()
