"""Writes on sources and dead letters."""

from __future__ import annotations

from datetime import datetime
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.core.errors import ConfigError, Rejected, UnsafeURL
from hubbub.core.items import RawEvent
from hubbub.settings import Settings
from hubbub.sources.base import connectors
from hubbub.sources.ingest import Ingestor, IngestResult, Target
from hubbub.sources.models import DeadLetter, Source
from hubbub.sources.net import refuse_private_literal
from hubbub.sources.secrets import encrypt_credentials

REPLAYED = "stored"
ALREADY_STORED = "already stored"
NAME_MAX = 100  # the column's width


def name_problem(name: str) -> str | None:
    """Why a source name is refused, or None: 1–100 characters, no control characters or
    slashes, no surrounding spaces (the web form and ``hubbub source add`` alike; a name with
    spaces is typed quoted in ``listen --source``)."""
    shown = repr(name[:NAME_MAX])
    if not name.strip() or len(name) > NAME_MAX:
        return f"a source name is 1-{NAME_MAX} characters; {shown} is {len(name)}"
    if name != name.strip():
        return f"source name {shown} starts or ends with a space"
    if any(not ch.isprintable() or ch in "/\\" for ch in name):
        return f"source name {shown} holds a control character or a slash"
    return None


def _is_list_field(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return origin in (Union, UnionType) and any(_is_list_field(a) for a in get_args(annotation))


def coerce_settings(config_model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """Command-line text to field types: ``a,b`` becomes a list where the field is a list."""
    coerced = dict(values)
    for key, value in values.items():
        field = config_model.model_fields.get(key)
        if field is not None and isinstance(value, str) and _is_list_field(field.annotation):
            coerced[key] = [part.strip() for part in value.split(",") if part.strip()]
    return coerced


def add_source(
    session: Session,
    settings: Settings,
    workspace_id: int,
    kind: str,
    name: str,
    config: dict[str, Any],
    secrets: dict[str, str],
) -> Source:
    """Validate and store a source; secrets are encrypted, config is checked by the connector."""
    try:
        connector = connectors.get(kind)
    except KeyError as exc:
        raise ConfigError(exc.args[0]) from None
    problem = name_problem(name)
    if problem is not None:
        raise ConfigError(problem)
    unknown = set(secrets) - set(connector.secret_fields)
    if unknown:
        raise ConfigError(f"{kind} takes no secret {', '.join(sorted(unknown))}")
    try:
        parsed = connector.parse_config(coerce_settings(connector.Config, config))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid {kind} settings: {problems}") from None
    for value in parsed.model_dump(mode="json").values():
        if isinstance(value, str) and "://" in value:
            try:
                refuse_private_literal(value, settings)
            except UnsafeURL as exc:
                raise ConfigError(str(exc)) from None
    if session.scalar(
        select(Source.id).where(Source.workspace_id == workspace_id, Source.name == name)
    ):
        raise ConfigError(f"a source named {name!r} exists already")
    source = Source(
        workspace_id=workspace_id,
        kind=kind,
        name=name,
        config=parsed.model_dump(mode="json"),
        credentials=encrypt_credentials(settings, secrets),
    )
    session.add(source)
    session.flush()
    return source


def remove_source(session: Session, workspace_id: int, name: str) -> None:
    """Delete a source; its posts stay (they belong to the workspace, not the pipe)."""
    result = session.execute(
        delete(Source).where(Source.workspace_id == workspace_id, Source.name == name)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise ConfigError(f"no source named {name!r}")


def remove_source_by_id(session: Session, workspace_id: int, source_id: int) -> str | None:
    """Delete a source of this workspace by id; its name, or None if there was none."""
    source = session.get(Source, source_id)
    if source is None or source.workspace_id != workspace_id:
        return None
    name = source.name
    session.delete(source)
    session.flush()
    return name


def _source(session: Session, workspace_id: int, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None or source.workspace_id != workspace_id:
        raise ConfigError(f"no source {source_id}")
    return source


def set_source_enabled(
    session: Session, workspace_id: int, source_id: int, enabled: bool
) -> Source:
    """Pause or resume a source; a running listener stops or starts it at its next rescan."""
    source = _source(session, workspace_id, source_id)
    source.enabled = enabled
    return source


def replace_credentials(
    session: Session, settings: Settings, workspace_id: int, source_id: int, secrets: dict[str, str]
) -> Source:
    """Store new credentials (e.g. a rotated token), encrypted; the old ones are gone."""
    source = _source(session, workspace_id, source_id)
    connector = connectors.get(source.kind)
    unknown = set(secrets) - set(connector.secret_fields)
    if unknown:
        raise ConfigError(f"{source.kind} takes no secret {', '.join(sorted(unknown))}")
    source.credentials = encrypt_credentials(settings, {k: v for k, v in secrets.items() if v})
    return source


def record_source_error(
    session: Session, source_id: int, message: str, at: datetime | None = None
) -> None:
    """Store ``message`` as the source's last error, that happened ``at`` (default now); an
    error older than the one stored (a log line read at a later rescan) does not replace it."""
    source = session.get(Source, source_id)
    if source is None:
        return
    at = at or utcnow()
    if source.last_error_at is not None and source.last_error_at > at:
        return
    source.last_error = message[:2000]
    source.last_error_at = at


def replay_dead_letter(ingestor: Ingestor, dead_letter_id: int) -> tuple[str, IngestResult | None]:
    """Run a dead letter through today's normalisers and settings again.

    On success its items are stored (idempotently) and the letter is marked replayed; on a new
    refusal the letter stays, with the latest reason, so nothing is lost either way.
    """
    from hubbub.store.engine import transaction

    with transaction(ingestor.engine) as session:
        letter = session.get(DeadLetter, dead_letter_id)
        if letter is None:
            raise ConfigError(f"no dead letter {dead_letter_id}")
        if letter.replay_outcome == REPLAYED:  # its items are in; running it again is moot
            return ALREADY_STORED, None
        if letter.truncated:
            return "kept: payload was cut when stored; replay the original instead", None
        event = RawEvent(
            payload=letter.payload, format=letter.format, cursor=None, meta=dict(letter.meta or {})
        )
        target = Target(workspace_id=letter.workspace_id)
    from hubbub.sources.ingest import normalise_event

    try:
        normalise_event(event, ingestor.settings, utcnow())
    except Rejected as rejected:
        with transaction(ingestor.engine) as session:
            letter = session.get(DeadLetter, dead_letter_id)
            assert letter is not None
            letter.replayed_at = utcnow()
            letter.replay_outcome = f"still refused: {rejected.code}: {rejected.detail}"[:2000]
        return f"still refused: {rejected.code}: {rejected.detail}", None
    result = ingestor.ingest(target, [event])
    with transaction(ingestor.engine) as session:
        letter = session.get(DeadLetter, dead_letter_id)
        assert letter is not None
        letter.replayed_at = utcnow()
        letter.replay_outcome = REPLAYED
    return REPLAYED, result
