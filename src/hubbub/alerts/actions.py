"""Writes of the alerts feature: playbooks, their runs for an alert, drafts and crisis mode.

A real run of a playbook for an alert happens once: the run row is inserted first under a
unique ``playbook|alert`` key, so a re-delivered alert finds it and does nothing. That makes
actions at most once — a crash between the insert and a notification loses that notification
rather than sending it twice. Inbox cases are opened by the inbox's registered opener
(:mod:`hubbub.alerts.cases`); what needs parts of Hubbub not built yet (pausing scheduled
posts) is written to the run log as ``not_available``, never pretended.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, cast

import apprise
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from hubbub.alerts import notify, queries
from hubbub.alerts.cases import case_openers
from hubbub.alerts.models import (
    AlertRecord,
    CrisisState,
    NotifyChannel,
    Playbook,
    PlaybookRun,
    ReplyDraft,
)
from hubbub.alerts.playbooks import (
    ASSET,
    CHANNEL_NAME,
    CHANNEL_RULE,
    ActionSpec,
    PlaybookInvalid,
    PlaybookSpec,
    parse_playbook,
    render,
    scheme_only,
)
from hubbub.core.clock import parse_timestamp, utcnow
from hubbub.core.errors import ConfigError, Rejected, UnsafeURL
from hubbub.settings import Settings
from hubbub.sources.secrets import decrypt_credentials, encrypt_credentials
from hubbub.store.dialect import insert_ignoring_conflicts
from hubbub.webhooks.actions import enqueue

RUNS = cast(Table, PlaybookRun.__table__)
MAX_CHANNEL_URL = 2048
ALERTS = cast(Table, AlertRecord.__table__)


# ---- playbooks ------------------------------------------------------------------------------


def _parse(
    session: Session, workspace_id: int, source: str, topics: Collection[str] | None
) -> PlaybookSpec:
    """A valid playbook whose notify actions name only channels the workspace has and whose
    trigger names only its ``topics`` (the caller knows them: listening sits beside alerts)."""
    spec = parse_playbook(source)
    if topics is not None:
        unknown = sorted((spec.trigger.topics or frozenset()) - set(topics))
        if unknown:
            have = ", ".join(sorted(topics)) or "none yet"
            raise PlaybookInvalid(
                [
                    f"trigger topics: no topic named {', '.join(map(repr, unknown))} in this"
                    f" workspace (its topics: {have}); the playbook would never run"
                ]
            )
    named = {name for a in spec.actions if a.kind == "notify" for name in a.params["channels"]}
    missing = sorted(named - {c.name for c in queries.channels(session, workspace_id)})
    if missing:
        raise Rejected(
            "no_channel", f"no notification channel named {', '.join(map(repr, missing))}"
        )
    return spec


def add_playbook(
    session: Session,
    workspace_id: int,
    source: str,
    replace: bool = False,
    topics: Collection[str] | None = None,
) -> Playbook:
    """Store a validated playbook; with `replace`, a playbook of the same name is updated.

    ``topics``: the workspace's topic names, to refuse a trigger naming another (None: not
    checked)."""
    spec = _parse(session, workspace_id, source, topics)
    now = utcnow()
    existing = queries.playbook(session, workspace_id, spec.name)
    if existing is not None:
        if not replace:
            raise Rejected("exists", f"playbook {spec.name!r} exists; update it instead")
        existing.source = source
        existing.enabled = spec.enabled
        existing.updated_at = now
        session.flush()
        return existing
    found = Playbook(
        workspace_id=workspace_id,
        name=spec.name,
        source=source,
        enabled=spec.enabled,
        created_at=now,
        updated_at=now,
    )
    session.add(found)
    session.flush()
    return found


def update_playbook(
    session: Session, workspace_id: int, source: str, topics: Collection[str] | None = None
) -> Playbook:
    """Replace an existing playbook's YAML (found by the name inside it)."""
    spec = _parse(session, workspace_id, source, topics)
    if queries.playbook(session, workspace_id, spec.name) is None:
        raise Rejected("not_found", f"no playbook {spec.name!r}")
    return add_playbook(session, workspace_id, source, replace=True, topics=topics)


def edit_playbook(
    session: Session,
    workspace_id: int,
    playbook_id: int,
    source: str,
    topics: Collection[str] | None = None,
) -> Playbook:
    """Replace a playbook's YAML by id, so an edit may also rename it (to a free name)."""
    spec = _parse(session, workspace_id, source, topics)
    found = queries.playbook_by_id(session, workspace_id, playbook_id)
    if found is None:
        raise Rejected("not_found", f"no playbook {playbook_id}")
    clash = queries.playbook(session, workspace_id, spec.name)
    if clash is not None and clash.id != found.id:
        raise Rejected("exists", f"another playbook is named {spec.name!r}")
    found.name = spec.name
    found.source = source
    found.enabled = spec.enabled
    found.updated_at = utcnow()
    session.flush()
    return found


def remove_playbook(session: Session, workspace_id: int, name: str) -> None:
    """Delete a playbook and its run log."""
    found = _require(session, workspace_id, name)
    session.delete(found)
    session.flush()


def set_playbook_enabled(session: Session, workspace_id: int, name: str, enabled: bool) -> None:
    _require(session, workspace_id, name).enabled = enabled
    session.flush()


def _require(session: Session, workspace_id: int, name: str) -> Playbook:
    found = queries.playbook(session, workspace_id, name)
    if found is None:
        raise Rejected("not_found", f"no playbook {name!r}")
    return found


# ---- notification channels -------------------------------------------------------------------


def set_channel(
    session: Session, settings: Settings, workspace_id: int, name: str, url: str
) -> NotifyChannel:
    """Add or replace a named notification URL, stored encrypted; the URL is checked first."""
    if not CHANNEL_NAME.fullmatch(name):
        raise Rejected("bad_channel", f"not a channel name: {name!r} ({CHANNEL_RULE})")
    url = url.strip()
    if not url or len(url) > MAX_CHANNEL_URL:
        raise Rejected("bad_channel", f"a notification URL has 1 to {MAX_CHANNEL_URL} characters")
    plugin = apprise.Apprise.instantiate(url, asset=ASSET)
    if plugin is None:
        raise Rejected("bad_channel", f"not a notification URL apprise knows: {scheme_only(url)}")
    try:
        notify.check_notify_url(url, settings)
    except UnsafeURL as exc:
        raise Rejected("unsafe_url", str(exc)) from None
    now = utcnow()
    encrypted = encrypt_credentials(settings, {"url": url}) or ""
    target = notify.redacted(url)[:300]
    found = queries.channel(session, workspace_id, name)
    if found is None:
        found = NotifyChannel(
            workspace_id=workspace_id,
            name=name,
            url_encrypted=encrypted,
            target=target,
            created_at=now,
            updated_at=now,
        )
        session.add(found)
    else:
        found.url_encrypted, found.target, found.updated_at = encrypted, target, now
    session.flush()
    return found


def remove_channel(session: Session, workspace_id: int, name: str) -> bool:
    """Delete a channel; playbooks naming it log a failed notify until they are edited."""
    found = queries.channel(session, workspace_id, name)
    if found is None:
        return False
    session.delete(found)
    session.flush()
    return True


def channel_url(settings: Settings, channel: NotifyChannel) -> str:
    return decrypt_credentials(settings, channel.url_encrypted)["url"]


# ---- alerts and runs ------------------------------------------------------------------------


def alert_key(alert: Mapping[str, Any]) -> str:
    """kind|series|time: what makes an alert the same alert when it is delivered again."""
    return f"{alert.get('kind')}|{alert.get('series')}|{alert.get('time')}"[:400]


def record_alert(session: Session, workspace_id: int, alert: Mapping[str, Any]) -> bool:
    """Keep a raised alert for history and dry runs; False when it was stored already."""
    statement = insert_ignoring_conflicts(session, ALERTS).values(
        workspace_id=workspace_id,
        key=alert_key(alert),
        kind=str(alert.get("kind", "")),
        topic=str(alert.get("topic", ""))[:200],
        severity=str(alert.get("severity", "low")),
        time=parse_timestamp(str(alert["time"])),
        payload=dict(alert),
    )
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT DO NOTHING.
    return session.execute(statement.returning(ALERTS.c.id)).first() is not None


def handle_alert(
    session: Session, workspace_id: int, alert: Mapping[str, Any], settings: Settings
) -> list[PlaybookRun]:
    """Store the alert and run every enabled playbook its trigger matches (once each); a new
    alert also goes out to the workspace's webhooks."""
    if record_alert(session, workspace_id, alert):
        enqueue(session, workspace_id, "alert.fired", {"alert": dict(alert)})
    done: list[PlaybookRun] = []
    for found in queries.playbooks(session, workspace_id):
        if not found.enabled:
            continue
        spec = parse_playbook(found.source)
        if spec.trigger.matches(alert):
            run = run_playbook(session, found, spec, alert, settings)
            if run is not None:
                done.append(run)
    return done


def run_playbook(
    session: Session,
    found: Playbook,
    spec: PlaybookSpec,
    alert: Mapping[str, Any],
    settings: Settings | None,
    dry_run: bool = False,
) -> PlaybookRun | None:
    """Run (or dry-run) one playbook for one alert; None when this alert already ran it."""
    now = utcnow()
    values = {
        "workspace_id": found.workspace_id,
        "playbook_id": found.id,
        "playbook_name": found.name,
        "alert": dict(alert),
        "actions": [],
        "dry_run": dry_run,
        "dedupe_key": None if dry_run else f"{found.id}|{alert_key(alert)}",
        "at": now,
    }
    statement = insert_ignoring_conflicts(session, RUNS).values(**values).returning(RUNS.c.id)
    run_id = session.execute(statement).scalar_one_or_none()
    if run_id is None:
        return None
    runner = _Runner(session, found.workspace_id, run_id, spec, alert, settings, dry_run, now)
    log = runner.run()
    session.execute(update(PlaybookRun).where(PlaybookRun.id == run_id).values(actions=log))
    session.flush()
    run = session.get(PlaybookRun, run_id)
    if run is None:  # pragma: no cover - inserted above in this transaction
        raise Rejected("not_found", f"run {run_id} vanished")
    session.refresh(run)
    return run


def dry_run_playbook(
    session: Session, workspace_id: int, name: str, alerts: Iterable[Mapping[str, Any]]
) -> list[PlaybookRun]:
    """What the playbook would have done for each matching alert; logged as dry runs."""
    found = _require(session, workspace_id, name)
    spec = parse_playbook(found.source)
    done: list[PlaybookRun] = []
    for alert in alerts:
        if spec.trigger.matches(alert):
            run = run_playbook(session, found, spec, alert, None, dry_run=True)
            if run is not None:
                done.append(run)
    return done


class _Runner:
    """Carries out one run's actions in order, writing one log entry per action."""

    def __init__(
        self,
        session: Session,
        workspace_id: int,
        run_id: int,
        spec: PlaybookSpec,
        alert: Mapping[str, Any],
        settings: Settings | None,
        dry_run: bool,
        now: datetime,
    ) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.run_id = run_id
        self.spec = spec
        self.alert = alert
        self.settings = settings
        self.dry_run = dry_run
        self.now = now
        self.log: list[dict[str, Any]] = []
        self.chain: list[str] = []
        self.variables: dict[str, Any] = {}
        for action in spec.actions:
            if action.kind == "require_approval":
                self.chain = list(action.params["chain"])
            if action.kind == "reply_draft":  # the holding statement may use the same wording
                self.variables.update(action.params.get("variables") or {})
        self.drafts: list[ReplyDraft] = []
        explanation = alert.get("explanation") or {}
        self.context: dict[str, Any] = {
            "alert": {
                **{k: alert.get(k) for k in ("time", "kind", "series", "topic", "severity")},
                "summary": explanation.get("summary", ""),
                "explanation": explanation,
            }
        }

    def entry(self, action: ActionSpec, outcome: str, detail: str, **extra: Any) -> None:
        self.log.append(
            {"action": action.kind, "line": action.line, "outcome": outcome, "detail": detail}
            | extra
        )

    def run(self) -> list[dict[str, Any]]:
        for action in self.spec.actions:
            try:
                getattr(self, f"_{action.kind}")(action)
            except Rejected as exc:
                self.entry(action, "failed", f"{exc.code}: {exc.detail}")
        return self.log

    def _notify(self, action: ActionSpec) -> None:
        alert = self.context["alert"]
        title_template = action.params.get("title") or "[{{ alert.severity }}] {{ alert.kind }}"
        title_template += "" if action.params.get("title") else " on {{ alert.topic }}"
        title = render(title_template, self.context)
        body = render(action.params.get("body") or "{{ alert.summary }}", self.context)
        urls: list[str] = action.params["urls"]
        names: list[str] = action.params.get("channels", [])
        stored = {c.name: c for c in queries.channels(self.session, self.workspace_id)}
        targets = [f"channel {name}" for name in names] + [notify.redacted(url) for url in urls]
        if self.dry_run or self.settings is None:
            self.entry(action, "dry_run", f"would notify {', '.join(targets)}", title=title)
            return
        deliveries: list[notify.Delivery] = []
        for name in names:
            if name not in stored:
                deliveries.append(notify.Delivery(f"channel {name}", False, "no such channel"))
                continue
            try:
                url = channel_url(self.settings, stored[name])
            except ConfigError as exc:
                deliveries.append(notify.Delivery(f"channel {name}", False, str(exc)))
                continue
            sent = notify.send([url], title, body, self.settings)[0]
            deliveries.append(notify.Delivery(f"channel {name}", sent.ok, sent.detail))
        deliveries += notify.send(urls, title, body, self.settings)
        failed = [d for d in deliveries if not d.ok]
        self.entry(
            action,
            "failed" if failed else "ok",
            "; ".join(f"{d.target}: {d.detail}" for d in deliveries),
            title=title,
            severity=alert["severity"],
        )

    def _open_case(self, action: ActionSpec) -> None:
        priority = action.params.get("priority", "high")
        if self.dry_run:
            self.entry(action, "dry_run", f"would open a {priority}-priority inbox case")
            return
        if "inbox" not in case_openers:
            self.entry(action, "not_available", "no inbox is loaded in this process")
            return
        opener = case_openers.get("inbox")
        detail = opener(self.session, self.workspace_id, self.alert, action.params, self.spec.name)
        self.entry(action, "ok", detail)

    def _reply_draft(self, action: ActionSpec) -> None:
        template = self.spec.templates[action.params["template"]]
        variables = action.params.get("variables") or {}
        text = render(template.text, {**variables, **self.context})
        status = "pending_approval" if self.chain else "draft"
        if self.dry_run:
            self.entry(
                action, "dry_run", f"would draft ({status}) from {template.name!r}", text=text
            )
            return
        draft = ReplyDraft(
            workspace_id=self.workspace_id,
            run_id=self.run_id,
            template=template.name,
            text=text,
            status=status,
            approval_chain=list(self.chain),
            approvals=[],
            created_at=self.now,
        )
        self.session.add(draft)
        self.session.flush()
        self.drafts.append(draft)
        self.entry(
            action,
            "ok",
            f"draft {draft.id} from template {template.name!r} approved by "
            f"{template.approved_by} ({status}); not sent",
            draft_id=draft.id,
            text=text,
        )

    def _require_approval(self, action: ActionSpec) -> None:
        chain = " → ".join(self.chain)
        has_drafts = any(a.kind == "reply_draft" for a in self.spec.actions)
        if not has_drafts:
            self.entry(action, "skipped", "no reply draft in this playbook to approve")
            return
        verb = "would need" if self.dry_run else "need"
        self.entry(action, "dry_run" if self.dry_run else "ok", f"drafts {verb} {chain}")

    def _alert_time(self) -> datetime:
        """When the alert fired, which is when a crisis it turns on began: a replayed history
        (the demo) or a late run must not date it to the moment the run happened. Never later
        than the run itself; the run's time when the alert carries none."""
        try:
            fired = parse_timestamp(str(self.alert["time"]))
        except (KeyError, ValueError):
            return self.now
        return min(fired, self.now)

    def _crisis_mode(self, action: ActionSpec) -> None:
        statement = None
        name = action.params.get("holding_statement")
        if name:
            statement = render(self.spec.templates[name].text, {**self.variables, **self.context})
        unavailable = (
            "pausing scheduled posts and pinning the holding statement are not available "
            "(publishing is not built yet); nothing was paused or pinned"
        )
        if self.dry_run:
            self.entry(
                action, "dry_run", f"would turn crisis mode on; {unavailable}", text=statement
            )
            return
        reason = str(self.context["alert"]["summary"])[:2000]
        began = self._alert_time()
        state = queries.crisis_state(self.session, self.workspace_id)
        if state is None:
            state = CrisisState(workspace_id=self.workspace_id, since=began)
            self.session.add(state)
        elif not state.active:
            state.since = began
        state.active = True
        state.reason = reason
        state.holding_statement = statement
        state.run_id = self.run_id
        state.updated_at = self.now
        self.session.flush()
        self.entry(action, "ok", "crisis mode on (flag recorded)", text=statement)
        self.log.append(
            {
                "action": "crisis_mode.pause_scheduled_posts",
                "line": action.line,
                "outcome": "not_available",
                "detail": unavailable,
            }
        )


# ---- drafts and crisis mode -----------------------------------------------------------------


def approve_draft(
    session: Session, workspace_id: int, draft_id: int, role: str, who: str, approve: bool = True
) -> ReplyDraft:
    """Record the next step of a draft's approval chain; the last approval makes it approved."""
    draft = session.get(ReplyDraft, draft_id)
    if draft is None or draft.workspace_id != workspace_id:
        raise Rejected("not_found", f"no draft {draft_id}")
    if draft.status != "pending_approval":
        raise Rejected("bad_state", f"draft {draft_id} is {draft.status}, not pending approval")
    step = len(draft.approvals)
    expected = draft.approval_chain[step]
    if role != expected:
        raise Rejected("out_of_order", f"draft {draft_id} waits for {expected!r}, not {role!r}")
    approvals = [
        *draft.approvals,
        {"role": role, "by": who, "approved": approve, "at": utcnow().isoformat()},
    ]
    draft.approvals = approvals
    if not approve:
        draft.status = "rejected"
    elif len(approvals) == len(draft.approval_chain):
        draft.status = "approved"
    session.flush()
    return draft


def end_crisis(session: Session, workspace_id: int) -> bool:
    """Turn crisis mode off; False when it was not on."""
    state = session.scalar(
        select(CrisisState).where(CrisisState.workspace_id == workspace_id, CrisisState.active)
    )
    if state is None:
        return False
    state.active = False
    state.updated_at = utcnow()
    session.flush()
    return True
