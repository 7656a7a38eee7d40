"""Playbooks: YAML validation by line, runs for an alert (real apprise to a local receiver,
real database), dry runs, drafts and their approval chain, crisis mode."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

import hubbub.inbox.actions  # noqa: F401 - registers the inbox's case opener, as the app does
from hubbub.alerts import actions, queries
from hubbub.alerts import cli as alerts_cli
from hubbub.alerts.cli import alerts_app
from hubbub.alerts.notify import check_notify_url, redacted
from hubbub.alerts.playbooks import PlaybookInvalid, parse_playbook
from hubbub.core.errors import Rejected, UnsafeURL
from hubbub.listening.actions import add_topic
from hubbub.listening.queries import topic_names
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces import access

ALERT: dict[str, Any] = {
    "time": "2026-07-04T12:05:00Z",
    "kind": "sentiment_shift",
    "series": "acme/negative",
    "topic": "acme",
    "severity": "high",
    "explanation": {"summary": "Negative share of acme at 55% vs 10% baseline"},
}


@contextmanager
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP endpoint on 127.0.0.1 that keeps every POSTed JSON body."""
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            bodies.append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()


def crisis_playbook(host: str, min_severity: str = "medium") -> str:
    return f"""\
name: negative-surge
trigger:
  kind: [sentiment_shift, volume_spike]
  topics: [acme]
  min_severity: {min_severity}
templates:
  holding:
    text: "We hear you about {{{{ issue }}}} on {{{{ alert.topic }}}} and are on it."
    approved_by: Dana (comms lead)
actions:
  - notify:
      urls: ["json://{host}/hook"]
  - open_case: {{priority: high}}
  - reply_draft: {{template: holding, variables: {{issue: the outage}}}}
  - require_approval: {{chain: [manager, legal]}}
  - crisis_mode: {{holding_statement: holding}}
"""


# ---- validation -------------------------------------------------------------------------------


def test_a_valid_playbook_parses() -> None:
    spec = parse_playbook(crisis_playbook("hooks.example.com"))
    assert spec.name == "negative-surge"
    assert [a.kind for a in spec.actions] == [
        "notify", "open_case", "reply_draft", "require_approval", "crisis_mode",
    ]  # fmt: skip
    assert spec.trigger.matches(ALERT)
    assert not spec.trigger.matches({**ALERT, "severity": "low"})
    assert not spec.trigger.matches({**ALERT, "topic": "rival"})
    assert not spec.trigger.matches({**ALERT, "kind": "influential_author"})


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("name: x\ntrigger:\n  kind: volume_spike\nactoins: []\n", "line 4: unknown key 'actoins'"),
        ("name: x\ntrigger:\n  kind: spike\nactions:\n  - open_case:\n", "line 3: unknown alert kind 'spike'"),
        ("name: x\ntrigger: {kind: any, min_severity: huge}\nactions:\n  - open_case:\n", "line 2: unknown severity 'huge'"),
        ("name: x\ntrigger: {kind: any, min_severity: 7}\nactions:\n  - open_case:\n", "line 2: unknown severity 7 (expected low, medium, high, critical)"),
        ("name: x\ntrigger: {kind: any}\nactions:\n  - open_case:\n  - tweet: {}\n", "line 5: unknown action 'tweet'"),
        ("name: x\ntrigger: {kind: any}\nactions:\n  - reply_draft: {template: nope}\n", "line 4: reply_draft names template 'nope'"),
        ("name: x\ntrigger: {kind: any}\ntemplates:\n  t:\n    text: hi\nactions:\n  - reply_draft: {template: t}\n", "line 5: template 't' is not approved"),
        ("name: x\ntrigger: {kind: any}\ntemplates:\n  t: {text: '{{ oops', approved_by: me}\nactions:\n  - reply_draft: {template: t}\n", "line 4: template 't': template error"),
        ("name: x\ntrigger: {kind: any}\nactions:\n  - notify: {urls: ['nonsense://secret']}\n", "line 4: not a notification URL apprise knows: nonsense://…"),
        ("name: x\ntrigger: [\n", "line 3: YAML syntax"),
        ("trigger: {kind: any}\nactions:\n  - open_case:\n", "line 1: the playbook needs 'name'"),
    ],
)  # fmt: skip
def test_problems_name_their_line(source: str, problem: str) -> None:
    with pytest.raises(PlaybookInvalid) as caught:
        parse_playbook(source)
    assert caught.value.code == "bad_playbook"
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_templates_render_in_a_sandbox() -> None:
    source = (
        "name: x\ntrigger: {kind: any}\ntemplates:\n"
        "  t: {text: '{{ alert.__class__.__mro__ }}', approved_by: me}\n"
        "actions:\n  - reply_draft: {template: t}\n"
    )
    spec = parse_playbook(source)
    from hubbub.alerts.playbooks import render

    with pytest.raises(Rejected) as caught:
        render(spec.templates["t"].text, {"alert": {}})
    assert caught.value.code == "template_error"


# ---- SSRF rule for notification URLs ------------------------------------------------------------


def test_notify_urls_to_private_hosts_are_refused_by_default(tmp_path: Path) -> None:
    strict = Settings(home=tmp_path)
    with pytest.raises(UnsafeURL):
        check_notify_url("json://127.0.0.1:9/hook", strict)
    with pytest.raises(UnsafeURL):
        check_notify_url("form://10.1.2.3/hook", strict)
    with pytest.raises(UnsafeURL):
        check_notify_url("mailtos://user:pw@localhost", strict)
    check_notify_url(
        "json://127.0.0.1:9/hook", Settings(home=tmp_path, allowed_private_hosts=["127.0.0.1"])
    )
    # Vendor services carry tokens where a host would be; they are not resolved.
    check_notify_url("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", strict)
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in redacted(
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
    )


# ---- runs (database) ----------------------------------------------------------------------------


def test_a_run_notifies_drafts_and_logs_every_action(
    engine: Engine, workspace_id: int, settings: Settings
) -> None:
    with receiver() as (host, bodies):
        with transaction(engine) as session:
            actions.add_playbook(session, workspace_id, crisis_playbook(host))
        with transaction(engine) as session:
            runs = actions.handle_alert(session, workspace_id, ALERT, settings)
            assert len(runs) == 1
            log = {entry["action"]: entry for entry in runs[0].actions}
        assert len(bodies) == 1
    assert bodies[0]["title"] == "[high] sentiment_shift on acme"
    assert bodies[0]["message"] == ALERT["explanation"]["summary"]
    assert log["notify"]["outcome"] == "ok"
    # The alert's example posts are not stored here, so no case can be opened: said, not faked.
    assert log["open_case"]["outcome"] == "failed"
    assert "no case opened" in log["open_case"]["detail"]
    assert log["reply_draft"]["outcome"] == "ok"
    assert log["require_approval"]["outcome"] == "ok"
    assert log["crisis_mode"]["outcome"] == "ok"
    assert log["crisis_mode.pause_scheduled_posts"]["outcome"] == "not_available"
    with transaction(engine) as session:
        (draft,) = queries.drafts(session, workspace_id)
        assert draft.text == "We hear you about the outage on acme and are on it."
        assert (draft.status, draft.approval_chain) == ("pending_approval", ["manager", "legal"])
        crisis = queries.crisis_state(session, workspace_id)
        assert crisis is not None and crisis.active
        assert crisis.holding_statement == draft.text
        assert queries.stored_alerts(session, workspace_id) == [ALERT]


def test_crisis_mode_is_on_since_the_alert_fired_not_since_the_run(
    engine: Engine, workspace_id: int, settings: Settings
) -> None:
    """A run that happens later than its alert (a replayed history, a worker catching up) dates
    the crisis to the alert; a later alert while it is on does not move that moment."""
    with transaction(engine) as session:
        actions.add_playbook(session, workspace_id, crisis_playbook("hooks.invalid"))
        actions.handle_alert(session, workspace_id, ALERT, settings)
        crisis = queries.crisis_state(session, workspace_id)
        assert crisis is not None and crisis.active
        assert crisis.since == datetime(2026, 7, 4, 12, 5, tzinfo=UTC)
        later = {**ALERT, "time": "2026-07-04T15:00:00Z"}
        actions.handle_alert(session, workspace_id, later, settings)
        assert crisis.since == datetime(2026, 7, 4, 12, 5, tzinfo=UTC)
        assert actions.end_crisis(session, workspace_id)
        actions.handle_alert(
            session, workspace_id, {**ALERT, "time": "2026-07-05T09:00:00Z"}, settings
        )
        assert crisis.active and crisis.since == datetime(2026, 7, 5, 9, tzinfo=UTC)


def test_the_same_alert_runs_a_playbook_once(
    engine: Engine, workspace_id: int, settings: Settings
) -> None:
    with receiver() as (host, bodies):
        with transaction(engine) as session:
            actions.add_playbook(session, workspace_id, crisis_playbook(host))
        for _ in range(2):
            with transaction(engine) as session:
                actions.handle_alert(session, workspace_id, ALERT, settings)
    assert len(bodies) == 1
    with transaction(engine) as session:
        assert len(queries.runs(session, workspace_id)) == 1
        assert len(queries.stored_alerts(session, workspace_id)) == 1


def test_filters_and_disabled_playbooks(
    engine: Engine, workspace_id: int, settings: Settings
) -> None:
    with receiver() as (host, bodies):
        with transaction(engine) as session:
            actions.add_playbook(session, workspace_id, crisis_playbook(host, "critical"))
            assert actions.handle_alert(session, workspace_id, ALERT, settings) == []
            actions.update_playbook(session, workspace_id, crisis_playbook(host, "low"))
            actions.set_playbook_enabled(session, workspace_id, "negative-surge", False)
            later = {**ALERT, "time": "2026-07-04T13:00:00Z"}
            assert actions.handle_alert(session, workspace_id, later, settings) == []
    assert bodies == []


def test_a_refused_notify_url_is_logged_not_sent(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    strict = Settings(home=tmp_path)
    with receiver() as (host, bodies):
        with transaction(engine) as session:
            actions.add_playbook(session, workspace_id, crisis_playbook(host))
            (run,) = actions.handle_alert(session, workspace_id, ALERT, strict)
    assert bodies == []
    notify = run.actions[0]
    assert notify["outcome"] == "failed"
    assert "refused" in notify["detail"] and "non-public" in notify["detail"]


def test_approval_chain_in_order(engine: Engine, workspace_id: int, settings: Settings) -> None:
    with transaction(engine) as session:
        actions.add_playbook(session, workspace_id, crisis_playbook("hooks.invalid"))
        parsed = parse_playbook(crisis_playbook("hooks.invalid"))
        found = queries.playbook(session, workspace_id, "negative-surge")
        assert found is not None
        actions.run_playbook(session, found, parsed, ALERT, settings)
        (draft,) = queries.drafts(session, workspace_id)
        with pytest.raises(Rejected) as caught:
            actions.approve_draft(session, workspace_id, draft.id, "legal", "Lee")
        assert caught.value.code == "out_of_order"
        actions.approve_draft(session, workspace_id, draft.id, "manager", "Mia")
        assert draft.status == "pending_approval"
        actions.approve_draft(session, workspace_id, draft.id, "legal", "Lee")
        assert draft.status == "approved"
        assert actions.end_crisis(session, workspace_id)
        assert not actions.end_crisis(session, workspace_id)


def test_dry_run_logs_what_would_happen_and_does_nothing(engine: Engine, workspace_id: int) -> None:
    with receiver() as (host, bodies):
        with transaction(engine) as session:
            actions.add_playbook(session, workspace_id, crisis_playbook(host))
            actions.record_alert(session, workspace_id, ALERT)
            actions.record_alert(
                session, workspace_id, {**ALERT, "time": "2026-07-05T00:00:00Z", "severity": "low"}
            )
            history = queries.stored_alerts(session, workspace_id)
            runs = actions.dry_run_playbook(session, workspace_id, "negative-surge", history)
    assert bodies == []
    assert len(runs) == 1  # the low-severity alert does not match
    outcomes = {e["action"]: e["outcome"] for e in runs[0].actions}
    assert outcomes == {
        "notify": "dry_run", "open_case": "dry_run", "reply_draft": "dry_run",
        "require_approval": "dry_run", "crisis_mode": "dry_run",
    }  # fmt: skip
    assert runs[0].dry_run
    assert runs[0].actions[2]["text"] == "We hear you about the outage on acme and are on it."
    with transaction(engine) as session:
        assert queries.drafts(session, workspace_id) == []
        assert queries.crisis_state(session, workspace_id) is None


def test_duplicate_name_is_refused_and_remove_works(engine: Engine, workspace_id: int) -> None:
    with transaction(engine) as session:
        actions.add_playbook(session, workspace_id, crisis_playbook("hooks.invalid"))
        with pytest.raises(Rejected) as caught:
            actions.add_playbook(session, workspace_id, crisis_playbook("hooks.invalid"))
        assert caught.value.code == "exists"
        actions.remove_playbook(session, workspace_id, "negative-surge")
        assert queries.playbooks(session, workspace_id) == []


# ---- CLI ----------------------------------------------------------------------------------------


class _Store:
    def __init__(self, engine: Engine, workspace_id: int) -> None:
        self.engine = engine
        self._id = workspace_id
        self.settings: Settings | None = None

    def workspace_id(self, slug: str, create: bool = False) -> int:
        return self._id


def test_cli_add_list_dry_run(
    engine: Engine, workspace_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(access, "_opener", [lambda: _Store(engine, workspace_id)])
    monkeypatch.setattr(alerts_cli, "_topic_names", [topic_names])  # as the main CLI sets it
    with transaction(engine) as session:
        add_topic(session, workspace_id, "acme", "acme")  # the trigger's topic
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntrigger: {kind: nope}\nactions:\n  - open_case:\n")
    result = runner.invoke(alerts_app, ["playbook", "add", str(bad), "--json"])
    assert result.exit_code == 2
    assert "line 2: unknown alert kind 'nope'" in json.loads(result.output)["error"]["detail"]
    good = tmp_path / "good.yaml"
    good.write_text(crisis_playbook("hooks.invalid", "low"))
    assert runner.invoke(alerts_app, ["playbook", "add", str(good)]).exit_code == 0
    listed = json.loads(runner.invoke(alerts_app, ["playbook", "list", "--json"]).output)
    assert listed["playbooks"][0]["name"] == "negative-surge"
    with transaction(engine) as session:
        actions.record_alert(session, workspace_id, ALERT)
    result = runner.invoke(alerts_app, ["playbook", "dry-run", "negative-surge", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert (payload["alerts"], payload["matched"]) == (1, 1)
    runs = runner.invoke(alerts_app, ["playbook", "runs", "negative-surge"]).output.splitlines()
    assert json.loads(runs[0])["dry_run"] is True


def test_cli_dry_run_against_the_higgs_backtest(
    engine: Engine, workspace_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.data import shared_path

    folder = shared_path("cascades", "higgs", "higgs-activity_time.txt.gz").parent
    monkeypatch.setattr(access, "_opener", [lambda: _Store(engine, workspace_id)])
    monkeypatch.setattr(alerts_cli, "_topic_names", [topic_names])  # as the main CLI sets it
    source = tmp_path / "higgs.yaml"
    source.write_text(
        "name: higgs-surge\ntrigger: {kind: volume_spike, topics: [higgs]}\n"
        "actions:\n  - notify: {urls: ['json://hooks.invalid/x']}\n  - open_case:\n"
    )
    runner = CliRunner()
    refused = runner.invoke(alerts_app, ["playbook", "add", str(source), "--json"])
    assert refused.exit_code == 2, refused.output
    detail = json.loads(refused.output)["error"]["detail"]
    assert "no topic named 'higgs'" in detail and "would never run" in detail
    with transaction(engine) as session:
        add_topic(session, workspace_id, "higgs", "higgs")
    assert runner.invoke(alerts_app, ["playbook", "add", str(source)]).exit_code == 0
    result = runner.invoke(
        alerts_app, ["playbook", "dry-run", "higgs-surge", "--higgs", str(folder), "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["alerts"] == payload["matched"] == 3  # docs/alerts.md: the week's 3 alerts
    assert "2012-07-04T03:56:00Z" in [run["alert"]["time"] for run in payload["runs"]]
    assert {e["outcome"] for run in payload["runs"] for e in run["actions"]} == {"dry_run"}


# ---- notification channels ----------------------------------------------------------------------

SECRET = "s3cret-Pa55word"


def channel_playbook(*channels: str) -> str:
    return (
        "name: channel-surge\ntrigger: {kind: any}\nactions:\n"
        f"  - notify: {{channels: [{', '.join(channels)}]}}\n"
    )


@pytest.mark.parametrize(
    "url",
    ["slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#alerts", f"json://ops:{SECRET}@x.io/h"],
)
def test_a_url_carrying_a_secret_is_refused_in_the_yaml(url: str) -> None:
    source = f"name: x\ntrigger: {{kind: any}}\nactions:\n  - notify: {{urls: ['{url}']}}\n"
    with pytest.raises(PlaybookInvalid) as caught:
        parse_playbook(source)
    assert caught.value.problems == [
        f"line 4: {url.split('://', maxsplit=1)[0]}://… URL carries a password or token: store it as a"
        " notification channel and name it under channels"
    ]
    assert SECRET not in str(caught.value)


def test_a_channel_is_stored_encrypted_and_notified_through(
    engine: Engine, workspace_id: int, settings: Settings
) -> None:
    from sqlalchemy import text

    with receiver() as (host, bodies):
        with transaction(engine) as session:
            stored = actions.set_channel(
                session, settings, workspace_id, "ops", f"json://ops:{SECRET}@{host}/hook"
            )
            assert SECRET not in stored.target and "ops:****@" in stored.target
            actions.add_playbook(session, workspace_id, channel_playbook("ops"))
        with transaction(engine) as session:
            raw = session.execute(text("SELECT url_encrypted FROM notify_channels")).scalar_one()
            assert SECRET not in raw and host not in raw
            (run,) = actions.handle_alert(session, workspace_id, ALERT, settings)
        assert len(bodies) == 1 and bodies[0]["title"] == "[high] sentiment_shift on acme"
    (notify,) = run.actions
    assert notify["outcome"] == "ok" and notify["detail"].startswith("channel ops: ")
    assert SECRET not in json.dumps(run.actions)


def test_channels_named_by_a_playbook_must_exist_and_a_removed_one_fails_the_notify(
    engine: Engine, workspace_id: int, settings: Settings
) -> None:
    with transaction(engine) as session:
        with pytest.raises(Rejected) as caught:
            actions.add_playbook(session, workspace_id, channel_playbook("ops", "pager"))
        assert caught.value.detail == "no notification channel named 'ops', 'pager'"
    with receiver() as (host, bodies):
        with transaction(engine) as session:
            actions.set_channel(session, settings, workspace_id, "ops", f"json://{host}/hook")
            actions.add_playbook(session, workspace_id, channel_playbook("ops"))
            assert actions.remove_channel(session, workspace_id, "ops")
            assert not actions.remove_channel(session, workspace_id, "ops")
            (run,) = actions.handle_alert(session, workspace_id, ALERT, settings)
    assert bodies == []
    assert run.actions[0]["outcome"] == "failed"
    assert run.actions[0]["detail"] == "channel ops: no such channel"


def test_a_channel_is_checked_before_it_is_stored(
    engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    strict = Settings(home=tmp_path)
    cases = [
        ("Ops!", "json://hooks.example.com/x", "bad_channel", "not a channel name: 'Ops!'"),
        ("ops", "nonsense://x", "bad_channel", "not a notification URL apprise knows"),
        ("ops", "json://127.0.0.1:9/hook", "unsafe_url", "non-public address 127.0.0.1"),
        ("ops", " ", "bad_channel", "a notification URL has 1 to 2048 characters"),
    ]
    for name, url, code, detail in cases:
        with transaction(engine) as session, pytest.raises(Rejected) as caught:
            actions.set_channel(session, strict, workspace_id, name, url)
        assert caught.value.code == code and detail in caught.value.detail
    with transaction(engine) as session:
        assert queries.channels(session, workspace_id) == []


def test_cli_channel_reads_the_url_from_stdin_and_never_prints_it(
    engine: Engine, workspace_id: int, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _Store(engine, workspace_id)
    store.settings = settings
    monkeypatch.setattr(access, "_opener", [lambda: store])
    runner = CliRunner()
    url = f"json://ops:{SECRET}@127.0.0.1:9/hook\n"
    result = runner.invoke(alerts_app, ["channel", "set", "ops", "--json"], input=url)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["name"] == "ops" and SECRET not in result.output
    listed = runner.invoke(alerts_app, ["channel", "list", "--json"]).output
    assert [c["name"] for c in json.loads(listed)["channels"]] == ["ops"]
    assert SECRET not in listed
    assert runner.invoke(alerts_app, ["channel", "remove", "ops"]).exit_code == 0
    assert runner.invoke(alerts_app, ["channel", "remove", "ops"]).exit_code == 2
