"""After `hubbub demo`: the crisis day raised an alert that explains itself, and the sample
playbook ran for it (a holding reply waiting for a manager, crisis mode on) — once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.alerts import queries
from hubbub.alerts.models import AlertRecord, PlaybookRun
from hubbub.core.clock import parse_timestamp
from hubbub.demo.alerts import sample_playbook
from hubbub.demo.generate import key_days
from hubbub.demo.load import load_demo
from hubbub.inbox.models import Conversation
from hubbub.settings import Settings
from hubbub.workspaces.models import Workspace

pytestmark = pytest.mark.db

END = datetime(2026, 3, 9, 12, tzinfo=UTC)
DAYS = 42  # the default demo: baselines need weeks of hourly history


def _counts(engine: Engine, workspace_id: int) -> tuple[int, int]:
    with Session(engine) as session:
        alerts = session.scalar(
            select(func.count())
            .select_from(AlertRecord)
            .where(AlertRecord.workspace_id == workspace_id)
        )
        runs = session.scalar(
            select(func.count())
            .select_from(PlaybookRun)
            .where(PlaybookRun.workspace_id == workspace_id)
        )
    return int(alerts or 0), int(runs or 0)


def test_the_crisis_day_raises_an_alert_and_runs_the_sample_playbook(
    engine: Engine, settings: Settings
) -> None:
    load_demo(engine, settings, "demo", days=DAYS, end=END)
    _viral, crisis = key_days(DAYS, END)
    with Session(engine) as session:
        workspace_id = session.scalars(select(Workspace.id).where(Workspace.slug == "demo")).one()
        alerts = queries.stored_alerts(session, workspace_id)
        shifts = [
            a
            for a in alerts
            if a["kind"] == "sentiment_shift" and a["time"].startswith(crisis.isoformat())
        ]
        assert shifts, [(a["time"], a["kind"], a["series"]) for a in alerts]
        why = shifts[0]["explanation"]
        assert why["share"] > why["baseline"]["share"]
        assert "battery" in [d["value"] for d in why["drivers"]["terms"]]
        assert why["drivers"]["authors"] and why["examples"]
        # and a volume spike of the product on the same day
        assert any(
            a["kind"] == "volume_spike" and a["time"].startswith(crisis.isoformat()) for a in alerts
        )

        playbooks = queries.playbooks(session, workspace_id)
        assert [p.source for p in playbooks] == [sample_playbook()]
        runs = queries.runs(session, workspace_id)
        assert [r.alert["time"] for r in runs] == [shifts[0]["time"]]
        outcomes = {entry["action"]: entry["outcome"] for entry in runs[0].actions}
        assert outcomes["reply_draft"] == "ok" and outcomes["crisis_mode"] == "ok"
        assert outcomes["open_case"] == "ok", runs[0].actions
        case = session.scalars(
            select(Conversation).where(
                Conversation.workspace_id == workspace_id,
                Conversation.priority_explanation.is_not(None),
            )
        ).all()
        escalated = [c for c in case if any(p["factor"] == "alert" for p in c.priority_explanation)]
        assert len(escalated) == 1 and escalated[0].status in ("new", "open")
        drafts = queries.pending_drafts(session, workspace_id)
        assert len(drafts) == 1 and "Lumen Arc battery" in drafts[0].text
        assert drafts[0].approval_chain == ["manager"]
        state = queries.crisis_state(session, workspace_id)
        assert state is not None and state.active and state.holding_statement == drafts[0].text
        # on since the crisis day's alert, not since the demo was loaded
        assert state.since == parse_timestamp(shifts[0]["time"])
        assert state.since.date() == crisis
    before = _counts(engine, workspace_id)
    load_demo(engine, settings, "demo", days=DAYS, end=END)
    assert _counts(engine, workspace_id) == before  # alerts stored once, the playbook ran once
