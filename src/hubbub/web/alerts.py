"""Alert and playbook pages: stored alerts explaining themselves, crisis mode, playbooks as YAML
(add, edit, enable, remove, dry-run), the run log and reply drafts waiting for approval.

Every change goes through :mod:`hubbub.alerts.actions` and is written to the audit log in the
same transaction. A playbook's YAML is shown back as text (autoescaped), never as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from hubbub.accounts.actions import record_audit
from hubbub.accounts.permissions import Role, at_least
from hubbub.alerts import actions, queries
from hubbub.alerts.models import Playbook, PlaybookRun, ReplyDraft
from hubbub.alerts.playbooks import PlaybookInvalid, PlaybookSpec, parse_playbook
from hubbub.core.errors import Rejected
from hubbub.listening.queries import topic_names
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.charts import bar_chart
from hubbub.web.deps import RowId, SessionDep
from hubbub.web.pages import render

router = APIRouter(include_in_schema=False)

ReadAlerts = Annotated[Access, Depends(Permit("alerts.read"))]
ManagePlaybooks = Annotated[Access, Depends(Permit("playbooks.manage"))]
ApproveDrafts = Annotated[Access, Depends(Permit("drafts.approve"))]

ALERTS_PER_PAGE = 25
RUNS_SHOWN = 100
MAX_PLAYBOOK_CHARS = 100_000
NEW_PLAYBOOK = """name: my-playbook
trigger:
  kind: [sentiment_shift, volume_spike]
  min_severity: medium
templates:
  holding:
    text: "We know about {{ issue }} and are on it."
    approved_by: Your name (role)
actions:
  - reply_draft: {template: holding, variables: {issue: "the problem"}}
  - require_approval: {chain: [manager]}
"""
# Parts of an explanation shown in their own section rather than in the figures table.
STRUCTURED = ("summary", "drivers", "terms", "examples", "chart", "baseline")


# ---- explaining a stored alert --------------------------------------------------------------


def _label(key: str) -> str:
    return key.replace("_", " ")


def figures(explanation: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The numbers of an explanation, baseline included, as (label, value) rows."""
    rows = [
        (_label(key), value)
        for key, value in explanation.items()
        if key not in STRUCTURED and not isinstance(value, dict | list)
    ]
    baseline = explanation.get("baseline")
    if isinstance(baseline, dict):
        rows += [(f"baseline {_label(key)}", value) for key, value in baseline.items()]
    return rows


def alert_chart(explanation: Mapping[str, Any], title: str) -> Markup | None:
    """The counts (or shares, in %) of the buckets before the alert and its own, as SVG."""
    chart = explanation.get("chart")
    if not isinstance(chart, dict):
        terms = explanation.get("terms") or []
        chart = terms[0].get("chart") if terms and isinstance(terms[0], dict) else None
    if not isinstance(chart, dict):
        return None
    if isinstance(chart.get("counts"), list):
        values = [int(v) for v in chart["counts"]]
        unit = "posts"
    elif isinstance(chart.get("shares"), list):
        values = [round(100 * float(v)) for v in chart["shares"]]
        unit = "%"
    else:
        return None
    if not values:
        return None
    last = len(values) - 1
    bars = [
        (f"{i - last} ({unit})" if i < last else f"alert ({unit})", v) for i, v in enumerate(values)
    ]
    return bar_chart(bars, title)


def explain(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What an alert page shows of a stored alert: summary, numbers, drivers, terms, posts."""
    explanation = payload.get("explanation")
    if not isinstance(explanation, dict):
        explanation = {}
    examples = list(explanation.get("examples") or [])
    terms = [t for t in explanation.get("terms") or [] if isinstance(t, dict)]
    for term in terms:
        examples += [e for e in term.get("examples") or [] if e not in examples]
    title = f"{payload.get('kind', 'alert')} on {payload.get('series', payload.get('topic', ''))}"
    return {
        "summary": str(explanation.get("summary", "")),
        "figures": figures(explanation),
        "drivers": {
            _label(str(name)): [d for d in found if isinstance(d, dict)]
            for name, found in (explanation.get("drivers") or {}).items()
            if isinstance(found, list)
        },
        "terms": terms,
        "examples": [e for e in examples if isinstance(e, dict)][:10],
        "chart": alert_chart(explanation, title),
    }


@router.get("/w/{slug}/alerts")
def alerts(
    request: Request,
    session: SessionDep,
    access: ReadAlerts,
    topic: Annotated[str, Query(max_length=200)] = "",
    kind: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    ended: Annotated[str, Query(max_length=1)] = "",
) -> Response:
    """Newest first, a page at a time; topic and kind filters are a GET form. ``ended`` (set
    by ending crisis mode) says it is off, if it still is."""
    found = queries.alert_records(
        session,
        access.ws.id,
        topic=topic or None,
        kind=kind or None,
        offset=(page - 1) * ALERTS_PER_PAGE,
        limit=ALERTS_PER_PAGE + 1,
    )
    topics, kinds = queries.alert_facets(session, access.ws.id)
    rows = [{"record": r, "why": explain(r.payload)} for r in found[:ALERTS_PER_PAGE]]
    return render(
        request,
        session,
        access,
        "alerts",
        {
            "rows": rows,
            "topics": topics,
            "kinds": kinds,
            "form": {"topic": topic, "kind": kind},
            "page": page,
            "more": len(found) > ALERTS_PER_PAGE,
            "crisis": queries.crisis_state(session, access.ws.id),
            "crisis_ended": bool(ended),
        },
    )


@router.get("/w/{slug}/alerts/{alert_id}")
def alert_page(
    request: Request, session: SessionDep, access: ReadAlerts, alert_id: RowId
) -> Response:
    record = queries.alert_record(session, access.ws.id, alert_id)
    if record is None:
        raise HTTPException(404, f"no alert {alert_id} in this workspace")
    runs = queries.runs_for_alert(session, access.ws.id, actions.alert_key(record.payload))
    return render(
        request,
        session,
        access,
        "alerts_detail",
        {
            "record": record,
            "why": explain(record.payload),
            "runs": runs,
            "crisis": queries.crisis_state(session, access.ws.id),
        },
    )


@router.post("/w/{slug}/crisis/end")
def crisis_end(request: Request, access: ManagePlaybooks) -> Response:
    """Turn crisis mode off; a second click (already off) is not an error."""
    with transaction(request.app.state.engine) as tx:
        if actions.end_crisis(tx, access.ws.id):
            record_audit(
                tx,
                "crisis.end",
                actor=access.principal.actor,
                target=f"workspace:{access.ws.id}",
                workspace_id=access.ws.id,
            )
    return RedirectResponse(f"/w/{access.ws.slug}/alerts?ended=1", status_code=303)


# ---- playbooks ------------------------------------------------------------------------------


def _trigger_text(spec: PlaybookSpec) -> str:
    kinds = ", ".join(sorted(spec.trigger.kinds)) if spec.trigger.kinds is not None else "any"
    topics = ", ".join(sorted(spec.trigger.topics)) if spec.trigger.topics is not None else "any"
    return f"{kinds} on {topics}, severity ≥ {spec.trigger.min_severity}"


def _summary(found: Playbook, topics: set[str]) -> dict[str, Any]:
    """Trigger and actions of a stored playbook (its YAML was valid when stored), and what
    keeps it from running now: a topic it names was removed or renamed since."""
    try:
        spec = parse_playbook(found.source)
    except PlaybookInvalid as exc:
        return {"trigger": "", "actions": [], "problems": exc.problems}
    gone = sorted((spec.trigger.topics or frozenset()) - topics)
    problems = [f"no topic named {', '.join(map(repr, gone))} any more"] if gone else []
    return {
        "trigger": _trigger_text(spec),
        "actions": [a.kind for a in spec.actions],
        "problems": problems,
    }


def _problems(error: Rejected | None) -> list[str]:
    if isinstance(error, PlaybookInvalid):
        return error.problems
    return [error.detail] if error is not None else []


def _next_step(draft: ReplyDraft) -> str | None:
    step = len(draft.approvals)
    return draft.approval_chain[step] if step < len(draft.approval_chain) else None


def _playbooks_page(
    request: Request,
    session: Session,
    access: Access,
    *,
    source: str = NEW_PLAYBOOK,
    error: Rejected | None = None,
    draft_error: str | None = None,
    channel_error: str | None = None,
    channel_name: str = "",
    status_code: int = 200,
) -> Response:
    found = queries.playbooks(session, access.ws.id)
    topics = topic_names(session, access.ws.id)
    drafts = queries.pending_drafts(session, access.ws.id)
    return render(
        request,
        session,
        access,
        "playbooks",
        {
            "playbooks": [(p, _summary(p, topics)) for p in found],
            "last_runs": queries.last_runs(session, access.ws.id),
            "drafts": [(d, _next_step(d)) for d in drafts],
            "decided": queries.decided_drafts(session, access.ws.id),
            "source": source,
            "problems": _problems(error),
            "draft_error": draft_error,
            "channels": queries.channels(session, access.ws.id),
            "channel_error": channel_error,
            "channel_name": channel_name,
            "max_chars": MAX_PLAYBOOK_CHARS,
            "crisis": queries.crisis_state(session, access.ws.id),
        },
        status_code,
    )


@router.get("/w/{slug}/playbooks")
def playbooks(request: Request, session: SessionDep, access: ReadAlerts) -> Response:
    return _playbooks_page(request, session, access)


@router.post("/w/{slug}/playbooks")
def playbook_add(
    request: Request,
    session: SessionDep,
    access: ManagePlaybooks,
    source: Annotated[str, Form(max_length=MAX_PLAYBOOK_CHARS)] = "",
) -> Response:
    """Add a playbook; a refused one comes back in the textarea with every problem listed."""
    try:
        with transaction(request.app.state.engine) as tx:
            found = actions.add_playbook(
                tx, access.ws.id, source, topics=topic_names(tx, access.ws.id)
            )
            record_audit(
                tx,
                "playbook.add",
                actor=access.principal.actor,
                target=f"playbook:{found.id}",
                workspace_id=access.ws.id,
                detail={"name": found.name, "source": source},
            )
    except Rejected as exc:
        return _playbooks_page(request, session, access, source=source, error=exc, status_code=400)
    return RedirectResponse(f"/w/{access.ws.slug}/playbooks", status_code=303)


@router.post("/w/{slug}/playbooks/channels")
def channel_set(
    request: Request,
    session: SessionDep,
    access: ManagePlaybooks,
    name: Annotated[str, Form(max_length=64)] = "",
    url: Annotated[str, Form(max_length=actions.MAX_CHANNEL_URL)] = "",
) -> Response:
    """Add or replace a notification channel; the URL is write-only (stored encrypted)."""
    try:
        with transaction(request.app.state.engine) as tx:
            found = actions.set_channel(tx, request.app.state.settings, access.ws.id, name, url)
            record_audit(
                tx,
                "channel.set",
                actor=access.principal.actor,
                target=f"channel:{found.id}",
                workspace_id=access.ws.id,
                detail={"name": found.name, "target": found.target},
            )
    except Rejected as exc:
        return _playbooks_page(
            request, session, access, channel_error=exc.detail, channel_name=name, status_code=400
        )
    return RedirectResponse(f"/w/{access.ws.slug}/playbooks#channels", status_code=303)


@router.post("/w/{slug}/playbooks/channels/{channel_id}/remove")
def channel_remove(request: Request, access: ManagePlaybooks, channel_id: RowId) -> Response:
    """Remove a channel; one already gone is not an error (a second click)."""
    with transaction(request.app.state.engine) as tx:
        found = queries.channel_by_id(tx, access.ws.id, channel_id)
        if found is not None:
            name = found.name
            actions.remove_channel(tx, access.ws.id, name)
            record_audit(
                tx,
                "channel.remove",
                actor=access.principal.actor,
                target=f"channel:{channel_id}",
                workspace_id=access.ws.id,
                detail={"name": name},
            )
    return RedirectResponse(f"/w/{access.ws.slug}/playbooks#channels", status_code=303)


@router.get("/w/{slug}/playbooks/runs")
def playbook_runs(
    request: Request,
    session: SessionDep,
    access: ReadAlerts,
    playbook: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """The run log, newest first: real runs and dry runs, each action's outcome."""
    only = queries.playbook_by_id(session, access.ws.id, playbook) if playbook else None
    if playbook and only is None:
        raise HTTPException(404, f"no playbook {playbook} in this workspace")
    runs = queries.runs(session, access.ws.id, only.id if only else None, RUNS_SHOWN)
    return render(
        request,
        session,
        access,
        "playbook_runs",
        {"runs": runs, "only": only, "limit": RUNS_SHOWN},
    )


def _playbook(session: Session, access: Access, playbook_id: int) -> Playbook:
    found = queries.playbook_by_id(session, access.ws.id, playbook_id)
    if found is None:
        raise HTTPException(404, f"no playbook {playbook_id} in this workspace")
    return found


def _playbook_page(
    request: Request,
    session: Session,
    access: Access,
    found: Playbook,
    *,
    source: str | None = None,
    error: Rejected | None = None,
    dry_runs: Sequence[PlaybookRun] | None = None,
    alerts_checked: int = 0,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        session,
        access,
        "playbook",
        {
            "playbook": found,
            "summary": _summary(found, topic_names(session, access.ws.id)),
            "source": found.source if source is None else source,
            "problems": _problems(error),
            "dry_runs": dry_runs,
            "alerts_checked": alerts_checked,
            "runs": queries.runs(session, access.ws.id, found.id, 20),
            "max_chars": MAX_PLAYBOOK_CHARS,
        },
        status_code,
    )


@router.get("/w/{slug}/playbooks/{playbook_id}")
def playbook_page(
    request: Request, session: SessionDep, access: ReadAlerts, playbook_id: RowId
) -> Response:
    return _playbook_page(request, session, access, _playbook(session, access, playbook_id))


@router.post("/w/{slug}/playbooks/{playbook_id}/edit")
def playbook_edit(
    request: Request,
    session: SessionDep,
    access: ManagePlaybooks,
    playbook_id: RowId,
    source: Annotated[str, Form(max_length=MAX_PLAYBOOK_CHARS)] = "",
) -> Response:
    found = _playbook(session, access, playbook_id)
    try:
        with transaction(request.app.state.engine) as tx:
            before = _playbook(tx, access, playbook_id).source
            changed = actions.edit_playbook(
                tx, access.ws.id, playbook_id, source, topics=topic_names(tx, access.ws.id)
            )
            record_audit(
                tx,
                "playbook.edit",
                actor=access.principal.actor,
                target=f"playbook:{playbook_id}",
                workspace_id=access.ws.id,
                detail={"name": changed.name, "from": before, "to": source},
            )
    except Rejected as exc:
        return _playbook_page(
            request, session, access, found, source=source, error=exc, status_code=400
        )
    return RedirectResponse(f"/w/{access.ws.slug}/playbooks/{playbook_id}", status_code=303)


@router.post("/w/{slug}/playbooks/{playbook_id}/enabled")
def playbook_enabled(
    request: Request,
    access: ManagePlaybooks,
    playbook_id: RowId,
    enabled: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """``enabled=on`` turns the playbook on, anything else off."""
    with transaction(request.app.state.engine) as tx:
        found = _playbook(tx, access, playbook_id)
        actions.set_playbook_enabled(tx, access.ws.id, found.name, enabled == "on")
        record_audit(
            tx,
            "playbook.enable" if enabled == "on" else "playbook.disable",
            actor=access.principal.actor,
            target=f"playbook:{playbook_id}",
            workspace_id=access.ws.id,
            detail={"name": found.name},
        )
    return RedirectResponse(f"/w/{access.ws.slug}/playbooks", status_code=303)


@router.post("/w/{slug}/playbooks/{playbook_id}/remove")
def playbook_remove(request: Request, access: ManagePlaybooks, playbook_id: RowId) -> Response:
    """Remove a playbook and its run log; one already gone is not an error (a second click)."""
    with transaction(request.app.state.engine) as tx:
        found = queries.playbook_by_id(tx, access.ws.id, playbook_id)
        if found is not None:
            name = found.name
            actions.remove_playbook(tx, access.ws.id, name)
            record_audit(
                tx,
                "playbook.remove",
                actor=access.principal.actor,
                target=f"playbook:{playbook_id}",
                workspace_id=access.ws.id,
                detail={"name": name},
            )
    return RedirectResponse(f"/w/{access.ws.slug}/playbooks", status_code=303)


@router.post("/w/{slug}/playbooks/{playbook_id}/dry-run")
def playbook_dry_run(
    request: Request, session: SessionDep, access: ManagePlaybooks, playbook_id: RowId
) -> Response:
    """What the playbook would have done for every stored alert; logged as dry runs only."""
    found = _playbook(session, access, playbook_id)
    try:
        with transaction(request.app.state.engine) as tx:
            history = queries.stored_alerts(tx, access.ws.id)
            done = actions.dry_run_playbook(tx, access.ws.id, found.name, history)
            record_audit(
                tx,
                "playbook.dry_run",
                actor=access.principal.actor,
                target=f"playbook:{playbook_id}",
                workspace_id=access.ws.id,
                detail={"name": found.name, "alerts": len(history), "matched": len(done)},
            )
    except Rejected as exc:
        return _playbook_page(request, session, access, found, error=exc, status_code=400)
    return _playbook_page(
        request, session, access, found, dry_runs=done, alerts_checked=len(history)
    )


# ---- reply drafts ---------------------------------------------------------------------------


def may_approve(role: Role | None, step: str) -> bool:
    """A step named after a role needs that role or above; a step named after a team that has
    no role here (``legal``) is signed off by a manager or above, whose name is recorded."""
    if step in {r.value for r in Role}:
        return at_least(role, Role(step))
    return at_least(role, Role.MANAGER)


@router.post("/w/{slug}/drafts/{draft_id}/approve")
def draft_approve(
    request: Request,
    session: SessionDep,
    access: ApproveDrafts,
    draft_id: RowId,
    decision: Annotated[str, Form(max_length=8)] = "approve",
) -> Response:
    """Record the draft's next approval step (``decision=reject`` rejects it)."""
    draft = queries.reply_draft(session, access.ws.id, draft_id)
    if draft is None:
        raise HTTPException(404, f"no draft {draft_id} in this workspace")
    step = _next_step(draft)
    if step is not None and not may_approve(access.role, step):
        role = access.role.value if access.role else "none"
        message = f"draft {draft_id} waits for {step!r}; your role ({role}) cannot sign it off"
        return _playbooks_page(request, session, access, draft_error=message, status_code=400)
    approve = decision != "reject"
    who = f"{access.principal.label} ({access.role.value if access.role else '?'})"
    try:
        with transaction(request.app.state.engine) as tx:
            done = actions.approve_draft(
                tx, access.ws.id, draft_id, step or "", who, approve=approve
            )
            record_audit(
                tx,
                "draft.approve" if approve else "draft.reject",
                actor=access.principal.actor,
                target=f"draft:{draft_id}",
                workspace_id=access.ws.id,
                detail={"step": step, "status": done.status},
            )
    except Rejected as exc:
        return _playbooks_page(request, session, access, draft_error=exc.detail, status_code=400)
    return RedirectResponse(f"/w/{access.ws.slug}/playbooks#drafts", status_code=303)
