"""Sources page: each source's health (last event, lag, errors, dead letters), and for admins
connecting, pausing, re-keying and removing sources, and the brand's own accounts that replies
go out through.

The add form is generated from each connector's settings model, so a new connector gets its
form without a line here. Fields that name a file on the server (paths) are left to the CLI:
a web form must not make the server read files of the admin's choosing. Credentials are
write-only: stored encrypted, never shown again.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hubbub.accounts.actions import record_audit
from hubbub.core.clock import utcnow
from hubbub.core.errors import ConfigError, Rejected
from hubbub.inbox.actions import ACCOUNT_SECRETS, add_account, remove_account
from hubbub.inbox.queries import accounts
from hubbub.sources.actions import (
    add_source,
    remove_source_by_id,
    replace_credentials,
    set_source_enabled,
)
from hubbub.sources.base import connectors
from hubbub.sources.models import Source
from hubbub.sources.queries import dead_letters_by_source
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.deps import RowId, SessionDep
from hubbub.web.pages import render
from hubbub.web.queries import list_sources

router = APIRouter(include_in_schema=False)

ReadSources = Annotated[Access, Depends(Permit("sources.read"))]
ManageSources = Annotated[Access, Depends(Permit("sources.manage"))]

MAX_FIELD_CHARS = 4000


@dataclass(frozen=True)
class FormField:
    name: str
    input: str  # text | number | checkbox | select | list
    required: bool
    default: str
    help: str
    choices: tuple[str, ...] = ()


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _form_field(name: str, info: FieldInfo) -> FormField | None:
    annotation = _unwrap_optional(info.annotation)
    if annotation is Path:
        return None
    default = "" if info.is_required() or info.default is None else info.default
    if get_origin(annotation) is Literal:
        choices = tuple(str(c) for c in get_args(annotation))
        kind = "select"
    elif annotation is bool:
        choices, kind = (), "checkbox"
    elif annotation in (int, float):
        choices, kind = (), "number"
    elif get_origin(annotation) in (list, tuple, set):
        choices, kind = (), "list"
        default = ", ".join(str(v) for v in info.get_default(call_default_factory=True) or [])
    elif annotation is str:
        choices, kind = (), "text"
    else:
        return None
    return FormField(name, kind, info.is_required(), str(default), info.description or "", choices)


def connector_forms() -> dict[str, tuple[list[FormField], tuple[str, ...]]]:
    """Per connector kind: its settings as form fields, and its secret fields."""
    forms = {}
    for kind in connectors:
        connector = connectors.get(kind)
        model: type[BaseModel] = connector.Config
        fields = [f for n, i in model.model_fields.items() if (f := _form_field(n, i))]
        forms[kind] = (fields, tuple(connector.secret_fields))
    return forms


def _lag_seconds(source: Source, now: datetime) -> float | None:
    if source.newest_event_at is None:
        return None
    return max(0.0, (now - source.newest_event_at).total_seconds())


def _page(
    request: Request,
    session: SessionDep,
    access: Access,
    *,
    error: str | None = None,
    entered: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    sources = list_sources(session, access.ws.id)
    now = utcnow()
    return render(
        request,
        session,
        access,
        "sources",
        {
            "sources": sources,
            "lags": {s.id: _lag_seconds(s, now) for s in sources},
            "dead_letters": dead_letters_by_source(session, access.ws.id),
            "forms": connector_forms(),
            "error": error,
            "entered": entered or {},
            "accounts": accounts(session, access.ws.id),
            "account_networks": ACCOUNT_SECRETS,
        },
        status_code,
    )


@router.get("/w/{slug}/sources")
def sources(request: Request, session: SessionDep, access: ReadSources) -> Response:
    return _page(request, session, access)


def _text(form: FormData, key: str) -> str:
    values = form.getlist(key)
    value = values[-1] if values else ""
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be text")
    if len(value) > MAX_FIELD_CHARS:
        raise ConfigError(f"{key} is longer than {MAX_FIELD_CHARS} characters")
    return value.strip()


def _submitted(form: FormData, kind: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    """Name, settings (only those given: the rest keep their defaults) and secrets."""
    fields, secret_fields = connector_forms()[kind]
    config: dict[str, Any] = {}
    for field in fields:
        value = _text(form, f"cfg.{field.name}")
        if field.input == "checkbox":
            config[field.name] = value in ("on", "true")
        elif value:
            config[field.name] = value
    secrets = {name: _text(form, f"secret.{name}") for name in secret_fields}
    return _text(form, "name"), config, {k: v for k, v in secrets.items() if v}


@router.post("/w/{slug}/sources")
async def sources_add(request: Request, access: ManageSources, session: SessionDep) -> Response:
    """Connect a source; a refused one re-renders the form with what was entered (no secrets)."""
    form = await request.form()
    kind = form.get("kind")
    entered: dict[str, Any] = {"kind": kind}
    try:
        if not isinstance(kind, str) or kind not in connectors:
            raise ConfigError(f"unknown kind of source: {str(kind)[:40]!r}")
        name, config, secrets = _submitted(form, kind)
        entered.update({"name": name, "config": config})
        settings = request.app.state.settings
        with transaction(request.app.state.engine) as tx:
            source = add_source(tx, settings, access.ws.id, kind, name, config, secrets)
            record_audit(
                tx,
                "source.add",
                actor=access.principal.actor,
                target=f"source:{source.id}",
                workspace_id=access.ws.id,
                detail={
                    "name": name,
                    "kind": kind,
                    "config": source.config,
                    "secrets": sorted(secrets),
                },
            )
    except ConfigError as exc:
        return _page(request, session, access, error=str(exc), entered=entered, status_code=400)
    return RedirectResponse(f"/w/{access.ws.slug}/sources", status_code=303)


def _audit(tx: Session, access: Access, action: str, source_id: int, **detail: Any) -> None:
    record_audit(
        tx,
        action,
        actor=access.principal.actor,
        target=f"source:{source_id}",
        workspace_id=access.ws.id,
        detail=detail,
    )


@router.post("/w/{slug}/sources/{source_id}/enabled")
async def sources_enable(
    request: Request, access: ManageSources, session: SessionDep, source_id: RowId
) -> Response:
    """Pause or resume (form field ``enabled``: on/off)."""
    form = await request.form()
    enabled = form.get("enabled") in ("on", "true")
    try:
        with transaction(request.app.state.engine) as tx:
            set_source_enabled(tx, access.ws.id, source_id, enabled)
            _audit(tx, access, "source.enabled", source_id, enabled=enabled)
    except ConfigError:
        return _page(request, session, access, error="no such source", status_code=404)
    return RedirectResponse(f"/w/{access.ws.slug}/sources", status_code=303)


@router.post("/w/{slug}/sources/{source_id}/credentials")
async def sources_credentials(
    request: Request, access: ManageSources, session: SessionDep, source_id: RowId
) -> Response:
    """Replace the stored credentials (write-only; empty fields clear them)."""
    form = await request.form()
    try:
        with transaction(request.app.state.engine) as tx:
            source = tx.get(Source, source_id)
            if source is None or source.workspace_id != access.ws.id:
                raise ConfigError("no such source")
            names = connectors.get(source.kind).secret_fields
            secrets = {name: _text(form, f"secret.{name}") for name in names}
            replace_credentials(tx, request.app.state.settings, access.ws.id, source_id, secrets)
            given = sorted(k for k, v in secrets.items() if v)
            _audit(tx, access, "source.credentials", source_id, secrets=given)
    except ConfigError as exc:
        status = 404 if str(exc) == "no such source" else 400
        return _page(request, session, access, error=str(exc), status_code=status)
    return RedirectResponse(f"/w/{access.ws.slug}/sources", status_code=303)


@router.post("/w/{slug}/sources/{source_id}/remove")
def sources_remove(request: Request, access: ManageSources, source_id: RowId) -> Response:
    """Remove a source (its posts stay); one already gone is not an error (a second click)."""
    with transaction(request.app.state.engine) as tx:
        name = remove_source_by_id(tx, access.ws.id, source_id)
        if name is not None:
            _audit(tx, access, "source.remove", source_id, name=name)
    return RedirectResponse(f"/w/{access.ws.slug}/sources", status_code=303)


# ---- the brand's own accounts (replies go out through them) -------------------------------------


@router.post("/w/{slug}/accounts")
async def accounts_add(request: Request, access: ManageSources, session: SessionDep) -> Response:
    """Record (or update) one of the brand's own accounts, with the secret replies need."""
    form = await request.form()
    try:
        network = _text(form, "network")
        if network not in ACCOUNT_SECRETS:
            raise ConfigError(f"replies go out on {', '.join(ACCOUNT_SECRETS)} only")
        secrets = {name: _text(form, f"secret.{name}") for name in ACCOUNT_SECRETS[network]}
        given = {name: value for name, value in secrets.items() if value}
        with transaction(request.app.state.engine) as tx:
            add_account(
                tx,
                request.app.state.settings,
                access.ws.id,
                network,
                _text(form, "native_id"),
                _text(form, "handle"),
                service_url=_text(form, "service_url") or None,
                secrets=given or None,
                actor=access.principal.actor,
            )
    except (ConfigError, Rejected) as exc:
        reason = exc.detail if isinstance(exc, Rejected) else str(exc)
        return _page(request, session, access, error=reason, status_code=400)
    return RedirectResponse(f"/w/{access.ws.slug}/sources#accounts", status_code=303)


@router.post("/w/{slug}/accounts/{account_id}/remove")
def accounts_remove(request: Request, access: ManageSources, account_id: RowId) -> Response:
    """Forget an account and its credentials; one already gone is not an error."""
    with transaction(request.app.state.engine) as tx:
        remove_account(tx, access.ws.id, account_id, actor=access.principal.actor)
    return RedirectResponse(f"/w/{access.ws.slug}/sources#accounts", status_code=303)
