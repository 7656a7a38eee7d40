"""Outgoing webhooks (admins and owners): the JSON API under ``/api/v1/w/{slug}/webhooks`` and
the page ``/w/{slug}/webhooks``.

The signing secret is returned by the creating request only; it is stored encrypted and never
listed. Each change is written to the audit log with the caller as actor.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from hubbub.accounts.actions import record_audit
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.deps import NO_NUL, RequestBody, RowId, SessionDep
from hubbub.web.pages import render
from hubbub.web.problems import PROBLEM_RESPONSES, problem
from hubbub.webhooks import queries
from hubbub.webhooks.actions import (
    EVENTS,
    WebhookError,
    add_endpoint,
    redeliver,
    remove_endpoint,
    set_active,
)
from hubbub.webhooks.models import DELIVERY_STATES, WebhookEndpoint

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)

ManageWebhooks = Annotated[Access, Depends(Permit("webhooks.manage"))]

MAX_URL_CHARS = 2048
MAX_DESCRIPTION_CHARS = 200


class WebhookOut(BaseModel):
    """An endpoint as listed: never its secret."""

    id: int
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookOut:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            events=list(endpoint.events),
            description=endpoint.description,
            active=endpoint.active,
            created_at=endpoint.created_at,
        )


class WebhookIn(RequestBody):
    url: str = Field(min_length=1, max_length=MAX_URL_CHARS, pattern=NO_NUL)
    events: list[str] = Field(
        default_factory=list, description=f"Empty for all: {', '.join(EVENTS)}."
    )
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS, pattern=NO_NUL)


class WebhookCreated(WebhookOut):
    """The new endpoint; ``secret`` signs its deliveries and is shown this once."""

    secret: str


class AttemptOut(BaseModel):
    attempt: int
    status: int | None
    error: str | None
    duration_ms: int
    at: datetime


class DeliveryOut(BaseModel):
    id: int
    delivery_id: str
    endpoint_id: int
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[AttemptOut]


def _where(url: str) -> str:
    """The URL without its query (which may hold a receiver's token) for the audit log."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _audit(session: Session, access: Access, action: str, endpoint: WebhookEndpoint) -> None:
    record_audit(
        session,
        action,
        actor=access.principal.actor,
        target=f"webhook:{endpoint.id}",
        workspace_id=access.ws.id,
        detail={"url": _where(endpoint.url), "events": list(endpoint.events)},
    )


@router.get("/w/{slug}/webhooks", response_model=list[WebhookOut])
def api_webhooks(session: SessionDep, access: ManageWebhooks) -> list[WebhookOut]:
    """The workspace's webhook endpoints."""
    return [WebhookOut.of(e) for e in queries.endpoints(session, access.ws.id)]


@router.post("/w/{slug}/webhooks", response_model=WebhookCreated, status_code=201)
def api_add_webhook(
    request: Request, body: WebhookIn, access: ManageWebhooks
) -> WebhookCreated | JSONResponse:
    """A new endpoint for the events named (all when none); its secret is in this answer only."""
    try:
        with transaction(request.app.state.engine) as session:
            endpoint, secret = add_endpoint(
                session,
                request.app.state.settings,
                access.ws.id,
                body.url,
                events=body.events,
                description=body.description,
            )
            _audit(session, access, "webhook.add", endpoint)
    except WebhookError as exc:
        return problem(400, exc.detail)
    return WebhookCreated(**WebhookOut.of(endpoint).model_dump(), secret=secret)


@router.delete("/w/{slug}/webhooks/{webhook_id}", status_code=204)
def api_remove_webhook(request: Request, webhook_id: RowId, access: ManageWebhooks) -> Response:
    """Remove an endpoint; its pending deliveries are dropped."""
    try:
        with transaction(request.app.state.engine) as session:
            endpoint = remove_endpoint(session, access.ws.id, webhook_id)
            _audit(session, access, "webhook.remove", endpoint)
    except WebhookError as exc:
        return problem(404, exc.detail)
    return Response(status_code=204)


@router.get("/w/{slug}/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryOut])
def api_webhook_deliveries(
    session: SessionDep,
    webhook_id: RowId,
    access: ManageWebhooks,
    state: Annotated[str | None, Query(description=", ".join(DELIVERY_STATES))] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryOut] | JSONResponse:
    """The endpoint's latest deliveries, newest first, each with its attempts."""
    if queries.endpoint(session, access.ws.id, webhook_id) is None:
        return problem(404, f"no webhook {webhook_id} in this workspace")
    if state is not None and state not in DELIVERY_STATES:
        return problem(400, f"state is one of {', '.join(DELIVERY_STATES)}")
    rows = queries.deliveries(
        session, access.ws.id, endpoint_id=webhook_id, state=state, limit=limit
    )
    log = queries.attempts(session, [row.id for row in rows])
    return [
        DeliveryOut(
            id=row.id,
            delivery_id=row.delivery_id,
            endpoint_id=row.endpoint_id,
            event_type=row.event_type,
            state=row.state,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_status=row.last_status,
            last_error=row.last_error,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            attempt_log=[
                AttemptOut(
                    attempt=a.attempt,
                    status=a.status,
                    error=a.error,
                    duration_ms=a.duration_ms,
                    at=a.at,
                )
                for a in log[row.id]
            ],
        )
        for row in rows
    ]


# ---- the page ---------------------------------------------------------------------------------

page_router = APIRouter(include_in_schema=False)

PAGE_DELIVERIES = 30


def _page(
    request: Request,
    session: Session,
    access: Access,
    *,
    error: str | None = None,
    created: tuple[WebhookEndpoint, str] | None = None,
    entered: Mapping[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    endpoints = queries.endpoints(session, access.ws.id)
    recent = queries.deliveries(session, access.ws.id, limit=PAGE_DELIVERIES)
    return render(
        request,
        session,
        access,
        "webhooks",
        {
            "endpoints": endpoints,
            "urls": {e.id: _where(e.url) for e in endpoints},
            "deliveries": recent,
            "events": EVENTS,
            "error": error,
            "created": created,
            "entered": entered or {},
        },
        status_code,
    )


@page_router.get("/w/{slug}/webhooks")
def webhooks_page(request: Request, session: SessionDep, access: ManageWebhooks) -> Response:
    """Endpoints (their URLs without the query, which may hold a receiver's token) and the
    latest deliveries with their state."""
    return _page(request, session, access)


@page_router.post("/w/{slug}/webhooks")
async def webhooks_add(request: Request, session: SessionDep, access: ManageWebhooks) -> Response:
    """Add an endpoint; its signing secret is on this answer only."""
    form = await request.form()
    url = str(form.get("url") or "")
    events = list(dict.fromkeys(str(e) for e in form.getlist("events")))
    description = str(form.get("description") or "")
    try:
        # Refused, never cut: a shortened URL would be another URL.
        if len(url) > MAX_URL_CHARS or len(description) > MAX_DESCRIPTION_CHARS:
            raise WebhookError(
                f"the URL has at most {MAX_URL_CHARS} characters and the description "
                f"{MAX_DESCRIPTION_CHARS}"
            )
        with transaction(request.app.state.engine) as tx:
            endpoint, secret = add_endpoint(
                tx,
                request.app.state.settings,
                access.ws.id,
                url,
                events=events,
                description=description,
            )
            _audit(tx, access, "webhook.add", endpoint)
    except WebhookError as exc:
        entered = {"url": url, "events": events, "description": description}
        return _page(request, session, access, error=exc.detail, entered=entered, status_code=400)
    return _page(request, session, access, created=(endpoint, secret), status_code=201)


@page_router.post("/w/{slug}/webhooks/{webhook_id}/active")
async def webhooks_active(request: Request, webhook_id: RowId, access: ManageWebhooks) -> Response:
    """Pause or resume (form field ``active``: on/off)."""
    active = (await request.form()).get("active") == "on"
    try:
        with transaction(request.app.state.engine) as tx:
            endpoint = set_active(tx, access.ws.id, webhook_id, active)
            _audit(tx, access, "webhook.resume" if active else "webhook.pause", endpoint)
    except WebhookError as exc:
        raise HTTPException(404, exc.detail) from None
    return RedirectResponse(f"/w/{access.ws.slug}/webhooks", status_code=303)


@page_router.post("/w/{slug}/webhooks/{webhook_id}/remove")
def webhooks_remove(request: Request, webhook_id: RowId, access: ManageWebhooks) -> Response:
    """Remove an endpoint; one already gone is not an error (a second click)."""
    try:
        with transaction(request.app.state.engine) as tx:
            endpoint = remove_endpoint(tx, access.ws.id, webhook_id)
            _audit(tx, access, "webhook.remove", endpoint)
    except WebhookError:
        pass
    return RedirectResponse(f"/w/{access.ws.slug}/webhooks", status_code=303)


@page_router.post("/w/{slug}/webhooks/deliveries/{delivery_id}/redeliver")
def webhooks_redeliver(request: Request, delivery_id: RowId, access: ManageWebhooks) -> Response:
    """Send a dead or delivered delivery again (the worker picks it up at its next tick)."""
    try:
        with transaction(request.app.state.engine) as tx:
            row = redeliver(tx, access.ws.id, delivery_id)
            record_audit(
                tx,
                "webhook.redeliver",
                actor=access.principal.actor,
                target=f"webhook:{row.endpoint_id}",
                workspace_id=access.ws.id,
                detail={"delivery": row.delivery_id},
            )
    except WebhookError as exc:
        raise HTTPException(404, exc.detail) from None
    return RedirectResponse(f"/w/{access.ws.slug}/webhooks", status_code=303)
