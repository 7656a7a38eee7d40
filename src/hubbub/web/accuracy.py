""" "How accurate is this?": published figures, the workspace's agreement with its analysts'
corrections (before/after calibration, on held-out corrections), and the correction form and
API. Every correction goes through :func:`correct`, which writes the audit entry with it.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import record_audit
from hubbub.accounts.models import ApiToken
from hubbub.core.errors import Rejected
from hubbub.enrich.sentiment import LABELS
from hubbub.enrich.sentiment.calibration import (
    HOLDOUT_EVERY,
    MIN_CORRECTIONS,
    MIN_HELD_OUT,
    MIN_PER_CLASS,
    SIGN_TEST_P,
)
from hubbub.listening.corrections.actions import correct_post
from hubbub.listening.corrections.models import EnrichmentCorrection
from hubbub.listening.corrections.queries import INTENTS, calibration_report, page_corrections
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.deps import RequestBody, RowId, SessionDep
from hubbub.web.filters import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from hubbub.web.pages import render
from hubbub.web.problems import PROBLEM_RESPONSES, local_path, problem
from hubbub.web.queries import emails_of

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)

ReadAccuracy = Annotated[Access, Depends(Permit("accuracy.read"))]
Correct = Annotated[Access, Depends(Permit("enrichment.correct"))]

RECENT_CORRECTIONS = 20
MAX_INTENTS = 16


@cache
def published() -> dict[str, Any]:
    """The measured figures the package ships (kept equal to the docs by a test)."""
    text = files("hubbub.enrich.sentiment").joinpath("accuracy.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def correct(
    engine: Engine,
    access: Access,
    post_id: int,
    *,
    label: str | None,
    intents: list[str] | None,
) -> EnrichmentCorrection:
    """Record a correction and its audit entry in one transaction; raises ``Rejected``."""
    actor = access.principal.actor
    with transaction(engine) as tx:
        found = correct_post(
            tx,
            access.ws.id,
            post_id,
            label=label,
            intents=intents,
            user_id=actor.user_id,
            token_id=actor.token_id,
        )
        record_audit(
            tx,
            "enrichment.correct",
            actor=actor,
            target=f"post:{post_id}",
            workspace_id=access.ws.id,
            detail={
                "correction": found.id,
                "label": found.label,
                "intents": found.intents,
                "model_label": found.model_label,
                "model_intents": found.model_intents,
            },
        )
    return found


def _intent_agreement(rows: list[EnrichmentCorrection]) -> list[dict[str, Any]]:
    """Per intent: precision and recall of the model's intents against the latest intents
    correction of each post."""
    latest: dict[int, EnrichmentCorrection] = {}
    for row in rows:
        if row.intents is not None:
            latest.setdefault(row.post_id, row)  # rows are newest first
    out = []
    for intent in INTENTS:
        tp = fp = fn = 0
        for row in latest.values():
            said, truth = intent in row.model_intents, intent in (row.intents or [])
            tp += said and truth
            fp += said and not truth
            fn += truth and not said
        if tp + fp + fn:
            out.append(
                {
                    "label": intent,
                    "precision": tp / (tp + fp) if tp + fp else None,
                    "recall": tp / (tp + fn) if tp + fn else None,
                    "support": tp + fn,
                }
            )
    return out


def _all_corrections(session: Session, workspace_id: int) -> list[EnrichmentCorrection]:
    return list(
        session.scalars(
            select(EnrichmentCorrection)
            .where(EnrichmentCorrection.workspace_id == workspace_id)
            .order_by(EnrichmentCorrection.id.desc())
        )
    )


def _who(session: Session, rows: list[EnrichmentCorrection]) -> dict[str, dict[int, str]]:
    tokens = {r.token_id for r in rows if r.token_id is not None}
    names = (
        session.execute(select(ApiToken.id, ApiToken.name).where(ApiToken.id.in_(tokens))).all()
        if tokens
        else []
    )
    return {
        "users": emails_of(session, {r.user_id for r in rows if r.user_id is not None}),
        "tokens": {int(token_id): str(name) for token_id, name in names},
    }


@router.get("/w/{slug}/accuracy")
def accuracy_page(request: Request, session: SessionDep, access: ReadAccuracy) -> Response:
    workspace_id = access.ws.id
    rows = _all_corrections(session, workspace_id)
    recent = rows[:RECENT_CORRECTIONS]
    return render(
        request,
        session,
        access,
        "accuracy",
        {
            "figures": published(),
            "labels": LABELS,
            "report": calibration_report(session, workspace_id),
            "sentiment_tier": request.app.state.settings.sentiment_tier,
            "corrections": len(rows),
            "corrected_posts": len({r.post_id for r in rows}),
            "intent_agreement": _intent_agreement(rows),
            "recent": recent,
            "who": _who(session, recent),
            "rules": {
                "min_corrections": MIN_CORRECTIONS,
                "min_held_out": MIN_HELD_OUT,
                "min_per_class": MIN_PER_CLASS,
                "holdout_every": HOLDOUT_EVERY,
                "sign_test_p": SIGN_TEST_P,
            },
        },
    )


@router.post("/w/{slug}/posts/{post_id}/correction")
def correction_form(
    request: Request,
    access: Correct,
    post_id: RowId,
    label: Annotated[str, Form(max_length=16)] = "",
    intents: Annotated[list[str] | None, Form(max_length=MAX_INTENTS)] = None,
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The form sends the whole verdict: the label chosen and the intents ticked (none ticked
    is a verdict too: no intent)."""
    try:
        correct(
            request.app.state.engine,
            access,
            post_id,
            label=label or None,
            intents=list(intents or []),
        )
    except Rejected as exc:
        raise HTTPException(404 if exc.code == "no_post" else 422, exc.detail) from None
    back = local_path(next, f"/w/{access.ws.slug}/posts")
    if not back.startswith(f"/w/{access.ws.slug}/"):
        back = f"/w/{access.ws.slug}/posts"
    return RedirectResponse(f"{back.split('#')[0]}#post-{post_id}", status_code=303)


class CorrectionIn(RequestBody):
    """At least one of the two; an empty ``intents`` list says the post has no intent."""

    label: str | None = Field(default=None, max_length=16, description=", ".join(LABELS))
    intents: list[str] | None = Field(default=None, max_length=MAX_INTENTS)


class CorrectionOut(BaseModel):
    id: int
    post_id: int
    created_at: datetime
    user_id: int | None
    token_id: int | None
    label: str | None
    intents: list[str] | None
    model_label: str
    model_score: float
    model_intents: list[str]

    @classmethod
    def of(cls, row: EnrichmentCorrection) -> CorrectionOut:
        return cls(
            id=row.id,
            post_id=row.post_id,
            created_at=row.created_at,
            user_id=row.user_id,
            token_id=row.token_id,
            label=row.label,
            intents=row.intents,
            model_label=row.model_label,
            model_score=row.model_score,
            model_intents=list(row.model_intents or []),
        )


class CorrectionList(BaseModel):
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[CorrectionOut]
    next_cursor: str | None
    next: str | None


def _encode(correction_id: int) -> str:
    return base64.urlsafe_b64encode(f"c|{correction_id}".encode()).decode().rstrip("=")


def _decode(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        kind, _, value = raw.partition("|")
        if kind != "c":
            raise ValueError(kind)
        return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("is not one this server issued") from None


@api.post("/w/{slug}/posts/{post_id}/corrections", response_model=CorrectionOut, status_code=201)
def api_correct(
    request: Request, post_id: RowId, body: CorrectionIn, access: Correct
) -> CorrectionOut | JSONResponse:
    """Correct an enriched post's sentiment label and/or intents; the latest one counts."""
    try:
        found = correct(
            request.app.state.engine, access, post_id, label=body.label, intents=body.intents
        )
    except Rejected as exc:
        if exc.code == "no_post":
            return problem(404, exc.detail)
        field = {"invalid_label": "label", "invalid_intent": "intents"}.get(exc.code)
        return problem(422, exc.detail, [{"field": field, "message": exc.detail}])
    return CorrectionOut.of(found)


@api.get("/w/{slug}/corrections", response_model=CorrectionList)
def api_corrections(
    request: Request,
    session: SessionDep,
    access: ReadAccuracy,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CorrectionList | JSONResponse:
    """Every correction of the workspace, superseded ones included."""
    try:
        before = _decode(cursor) if cursor else None
    except ValueError as exc:
        return problem(400, f"cursor {exc}", [{"field": "cursor", "message": str(exc)}])
    rows = page_corrections(session, access.ws.id, limit + 1, before)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode(rows[-1].id) if more else None
    return CorrectionList(
        items=[CorrectionOut.of(r) for r in rows],
        next_cursor=next_cursor,
        next=f"{request.url.path}?limit={limit}&cursor={next_cursor}" if next_cursor else None,
    )
