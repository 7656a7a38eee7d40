"""Alert and playbook pages over HTTP: alerts explaining themselves, the crisis banner, playbook
YAML added and edited with inline errors, enable/remove, dry runs, the run log and draft
approval; roles, CSRF, other workspaces and escaping."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.alerts import actions, queries
from hubbub.alerts.detectors import SpikeConfig, VolumeSpikeDetector
from hubbub.alerts.influence import InfluentialAuthorDetector
from hubbub.alerts.models import PlaybookRun, ReplyDraft
from hubbub.alerts.signals import Mention
from hubbub.listening.actions import add_topic, remove_topic
from hubbub.listening.queries import topic_names
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web.auth import SESSION_COOKIE
from hubbub.workspaces.actions import ensure_workspace
from tests.web.conftest import csrf_token, member, session_cookie

pytestmark = pytest.mark.db

START = 1_760_000_000.0  # 2025-10-09, a Unix time on a bucket boundary of 60 s


def holding_playbook(name: str = "holding-reply", chain: str = "[manager]") -> str:
    return f"""\
name: {name}
trigger:
  kind: [volume_spike]
  topics: [skates]
templates:
  holding:
    text: "We know about {{{{ issue }}}} on {{{{ alert.topic }}}} and are on it."
    approved_by: Dana (comms lead)
actions:
  - open_case: {{priority: high}}
  - reply_draft: {{template: holding, variables: {{issue: the wheel recall}}}}
  - require_approval: {{chain: {chain}}}
  - crisis_mode: {{holding_statement: holding}}
"""


def spike_alert() -> dict[str, Any]:
    """A real volume-spike alert of topic ``skates``: 2 posts a minute, then 40 in one."""
    config = SpikeConfig(bucket_seconds=60, window=10, min_history=5, min_volume=10)
    detector = VolumeSpikeDetector("skates", config)
    raised = []
    for minute in range(12):
        count = 40 if minute == 10 else 2
        for i in range(count):
            author = "wheelie.example" if i % 2 else f"rider{i}.example"
            drivers = {"author": author, "network": "bluesky" if i % 3 else "mastodon"}
            raised += detector.observe(START + minute * 60 + i, drivers)
    raised += detector.advance(START + 13 * 60 + 61)
    assert len(raised) == 1
    return raised[0].as_dict()


def influence_alert(topic: str = "skates") -> dict[str, Any]:
    """A real influential-author alert whose post text carries markup."""
    mention = Mention(
        time=START + 3600,
        topic=topic,
        text="<b>skates</b> broke <script>alert(1)</script>",
        post="https://bsky.app/profile/big.example/post/1",
        author="big.example",
        followers=50_000,
        network="bluesky",
        sentiment="negative",
    )
    found = InfluentialAuthorDetector(topic).observe(mention)
    assert len(found) == 1
    return found[0].as_dict()


@dataclass(frozen=True)
class AlertWorld:
    alert_id: int
    playbook_id: int
    spare_playbook_id: int
    draft_id: int


def seed_alerts(engine: Engine, settings: Settings, workspace_id: int) -> AlertWorld:
    """Two playbooks, an influence alert, then a spike that runs ``holding-reply`` for real
    (a draft waiting for a manager, crisis mode on)."""
    with transaction(engine) as session:
        if "skates" not in topic_names(session, workspace_id):  # its playbooks name it
            add_topic(session, workspace_id, "skates", "skates", "brand")
        playbook = actions.add_playbook(session, workspace_id, holding_playbook())
        spare = actions.add_playbook(session, workspace_id, holding_playbook("spare"))
        actions.set_playbook_enabled(session, workspace_id, "spare", False)
        actions.handle_alert(session, workspace_id, influence_alert(), settings)
        runs = actions.handle_alert(session, workspace_id, spike_alert(), settings)
        assert [r.playbook_name for r in runs] == ["holding-reply"]
        draft_id = runs[0].actions[1]["draft_id"]
        alert_id = queries.alert_records(session, workspace_id, kind="volume_spike")[0].id
        return AlertWorld(alert_id, playbook.id, spare.id, draft_id)


@pytest.fixture
def world(engine: Engine, settings: Settings, workspace_id: int) -> AlertWorld:
    return seed_alerts(engine, settings, workspace_id)


def as_role(client: TestClient, engine: Engine, settings: Settings, ws: int, role: Role) -> str:
    """Make ``client`` a member of acme with ``role``; returns its page's CSRF token."""
    user_id = member(engine, ws, role, f"{role.value}@acme.example")
    client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, user_id))
    return csrf_token(client.get("/w/acme/alerts").text)


def audit_actions(engine: Engine) -> list[str]:
    """The audit log's entries about alerts, playbooks and drafts (sign-ins left out)."""
    with transaction(engine) as session:
        found = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))
        return [a for a in found if a.startswith(("playbook.", "draft.", "crisis."))]


# ---- alerts ---------------------------------------------------------------------------------


def test_alerts_list_explains_each_alert_newest_first(
    client: TestClient, world: AlertWorld, engine: Engine, workspace_id: int
) -> None:
    page = client.get("/w/acme/alerts")
    assert page.status_code == 200
    html = page.text
    # the influential post (START + 1 h) is newer than the spike (minute 10)
    assert html.index("influential_author") < html.index("volume_spike")
    assert "40 mentions of skates" in html  # the summary against the baseline
    assert "wheelie.example (20)" in html  # top author driving it
    assert "bluesky" in html and "<svg" in html and 'data-value="40"' in html
    assert "Crisis mode is on" in html and "We know about the wheel recall" in html
    # on since the spike that turned it on fired, not since the run (or the server) started
    with transaction(engine) as session:
        spike = queries.alert_records(session, workspace_id, kind="volume_spike")[0]
    assert f"Crisis mode is on</strong> since {spike.time:%Y-%m-%d %H:%M:%S} UTC." in html


def test_alert_detail_shows_numbers_drivers_posts_and_runs(
    client: TestClient, world: AlertWorld
) -> None:
    html = client.get(f"/w/acme/alerts/{world.alert_id}").text
    assert re.search(r"<th>observed</th><td class=\"num\">40</td>", html)
    assert re.search(r"<th>baseline median</th><td class=\"num\">2", html)
    assert "Top author" in html and "wheelie.example" in html
    runs = html.split("Playbook runs for this alert")[1]
    assert f"/w/acme/playbooks/runs?playbook={world.playbook_id}#run-" in runs
    assert ">holding-reply</a>" in runs  # the playbook run this alert caused
    influence = client.get("/w/acme/alerts?kind=influential_author").text
    assert "volume_spike" not in influence.split('<ol class="alerts">')[1]
    alert_id = re.search(r"/w/acme/alerts/(\d+)", influence)
    assert alert_id is not None
    detail = client.get(f"/w/acme/alerts/{alert_id.group(1)}").text
    # the post's text is data: escaped, never markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail and "<script>" not in detail
    assert 'href="https://bsky.app/profile/big.example/post/1"' in detail


def test_alert_filters_and_paging(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        for n in range(30):
            alert = influence_alert("skates" if n % 2 else "rival")
            alert["time"] = f"2025-10-0{1 + n // 10}T0{n % 10}:00:00Z"
            alert["series"] = f"{alert['topic']}/{n}"
            actions.record_alert(session, workspace_id, alert)
    first = client.get("/w/acme/alerts").text
    assert first.count('class="card alert"') == 25 and 'rel="next"' in first
    second = client.get("/w/acme/alerts?page=2").text
    assert second.count('class="card alert"') == 5 and 'rel="prev"' in second
    assert "skates/29" in first and "rival/0" in second  # newest first
    rival = client.get("/w/acme/alerts?topic=rival").text
    assert rival.count('class="card alert"') == 15 and "skates/" not in rival
    assert client.get("/w/acme/alerts?page=0").status_code == 422


def test_end_crisis_is_for_managers_and_audited(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int, world: AlertWorld
) -> None:
    token = as_role(client, engine, settings, workspace_id, Role.ANALYST)
    assert "End crisis" not in client.get("/w/acme/alerts").text
    refused = client.post("/w/acme/crisis/end", data={"csrf_token": token})
    assert refused.status_code == 403
    token = as_role(client, engine, settings, workspace_id, Role.MANAGER)
    assert client.post("/w/acme/crisis/end", data={}, follow_redirects=False).status_code == 403
    done = client.post("/w/acme/crisis/end", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    with transaction(engine) as session:
        state = queries.crisis_state(session, workspace_id)
        assert state is not None and not state.active
    after = client.get(done.headers["location"]).text
    assert "Crisis mode is on" not in after and 'id="crisis-ended"' in after
    assert 'id="crisis-ended"' not in client.get("/w/acme/alerts").text
    assert audit_actions(engine).count("crisis.end") == 1


# ---- playbooks ------------------------------------------------------------------------------


def test_playbooks_list_shows_state_and_last_run(client: TestClient, world: AlertWorld) -> None:
    html = client.get("/w/acme/playbooks").text
    row = html.split(f'id="playbook-{world.playbook_id}"')[1].split("</tr>")[0]
    assert "enabled" in row and "volume_spike on skates" in row and "UTC" in row
    spare = html.split(f'id="playbook-{world.spare_playbook_id}"')[1].split("</tr>")[0]
    assert "disabled" in spare and "never" in spare


def test_add_playbook_with_script_is_stored_and_shown_escaped(
    client: TestClient, engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", "skates", "brand")
    token = csrf_token(client.get("/w/acme/playbooks").text)
    source = holding_playbook("xss").replace(
        "trigger:", 'description: "</textarea><script>alert(1)</script>"\ntrigger:'
    )
    added = client.post(
        "/w/acme/playbooks", data={"source": source, "csrf_token": token}, follow_redirects=False
    )
    assert added.status_code == 303
    with transaction(engine) as session:
        found = queries.playbook(session, workspace_id, "xss")
        assert found is not None and found.source == source
    page = client.get(f"/w/acme/playbooks/{found.id}").text
    assert "<script>alert(1)</script>" not in page and "</textarea><script>" not in page
    assert "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert audit_actions(engine) == ["playbook.add"]


def test_invalid_yaml_shows_every_problem_with_its_line(
    client: TestClient, engine: Engine, workspace_id: int
) -> None:
    token = csrf_token(client.get("/w/acme/playbooks").text)
    bad = "name: x\ntrigger:\n  kind: [nonsense]\nactoins: []\n"
    refused = client.post("/w/acme/playbooks", data={"source": bad, "csrf_token": token})
    assert refused.status_code == 400
    assert "line 3: unknown alert kind &#39;nonsense&#39;" in refused.text
    assert "line 4: unknown key &#39;actoins&#39;" in refused.text
    assert "actoins: []" in refused.text  # the user's YAML comes back in the textarea
    syntax = client.post(
        "/w/acme/playbooks", data={"source": "name: [unclosed\n", "csrf_token": token}
    )
    assert syntax.status_code == 400 and re.search(r"line \d+: YAML syntax", syntax.text)
    injected = client.post(
        "/w/acme/playbooks",
        data={"source": "name: x\n<script>: 1\n", "csrf_token": token},
    )
    assert injected.status_code == 400
    assert "&#39;&lt;script&gt;&#39;" in injected.text and "<script>" not in injected.text
    with transaction(engine) as session:
        assert queries.playbooks(session, workspace_id) == []
    assert audit_actions(engine) == []


def test_a_playbook_must_name_topics_the_workspace_has(
    client: TestClient, engine: Engine, workspace_id: int, world: AlertWorld
) -> None:
    """One naming no topic here would never run: refused, and flagged once its topic is gone."""
    token = csrf_token(client.get("/w/acme/playbooks").text)
    source = holding_playbook("typo").replace("topics: [skates]", "topics: [skates, skaets]")
    refused = client.post("/w/acme/playbooks", data={"source": source, "csrf_token": token})
    assert refused.status_code == 400
    assert "no topic named &#39;skaets&#39; in this workspace (its topics: skates)" in refused.text
    assert "skaets]" in refused.text  # the YAML comes back in the textarea
    url = f"/w/acme/playbooks/{world.playbook_id}"
    edit = client.post(f"{url}/edit", data={"source": source, "csrf_token": token})
    assert edit.status_code == 400 and "no topic named &#39;skaets&#39;" in edit.text
    with transaction(engine) as session:
        assert queries.playbook(session, workspace_id, "typo") is None
        remove_topic(session, workspace_id, "skates")
    row = client.get("/w/acme/playbooks").text.split(f'id="playbook-{world.playbook_id}"')[1]
    assert "no topic named &#39;skates&#39; any more" in row.split("</tr>")[0]
    assert "no topic named &#39;skates&#39; any more" in client.get(url).text


def test_edit_rename_enable_and_remove(
    client: TestClient, engine: Engine, workspace_id: int, world: AlertWorld
) -> None:
    token = csrf_token(client.get("/w/acme/playbooks").text)
    url = f"/w/acme/playbooks/{world.playbook_id}"
    clash = client.post(
        f"{url}/edit", data={"source": holding_playbook("spare"), "csrf_token": token}
    )
    assert clash.status_code == 400 and "another playbook is named" in clash.text
    renamed = client.post(
        f"{url}/edit",
        data={"source": holding_playbook("renamed", "[agent]"), "csrf_token": token},
        follow_redirects=False,
    )
    assert renamed.status_code == 303
    spare = f"/w/acme/playbooks/{world.spare_playbook_id}"
    on = client.post(f"{spare}/enabled", data={"enabled": "on", "csrf_token": token})
    assert on.status_code == 200  # followed the redirect to the list
    with transaction(engine) as session:
        names = {p.name: p.enabled for p in queries.playbooks(session, workspace_id)}
    assert names == {"renamed": True, "spare": True}
    for _ in range(2):  # a second click of the same form is not an error
        gone = client.post(f"{spare}/remove", data={"csrf_token": token}, follow_redirects=False)
        assert gone.status_code == 303
    assert client.get(spare).status_code == 404
    assert audit_actions(engine) == ["playbook.edit", "playbook.enable", "playbook.remove"]


def test_dry_run_shows_what_would_have_fired(
    client: TestClient, engine: Engine, workspace_id: int, world: AlertWorld
) -> None:
    token = csrf_token(client.get("/w/acme/playbooks").text)
    page = client.post(
        f"/w/acme/playbooks/{world.spare_playbook_id}/dry-run", data={"csrf_token": token}
    )
    assert page.status_code == 200
    html = page.text
    dry = html.split('id="dry-run"')[1].split("<h2>")[0]
    assert "1 of 2 stored alerts would have run it" in html
    assert "volume_spike on skates" in dry
    assert "would draft (pending_approval)" in dry and "We know about the wheel recall" in dry
    assert "would turn crisis mode on" in dry and "would open a high-priority inbox case" in dry
    with transaction(engine) as session:
        dry_runs = session.scalar(
            select(func.count()).select_from(PlaybookRun).where(PlaybookRun.dry_run.is_(True))
        )
        drafts = session.scalar(select(func.count()).select_from(ReplyDraft))
    assert dry_runs == 1 and drafts == 1  # logged as a dry run; no new draft
    log = client.get(f"/w/acme/playbooks/runs?playbook={world.spare_playbook_id}").text
    assert "dry run" in log and "holding-reply" not in log
    everything = client.get("/w/acme/playbooks/runs").text
    assert "holding-reply" in everything and "draft 1 from template" in everything
    assert client.get("/w/acme/playbooks/runs?playbook=999999").status_code == 404


def test_approve_draft_follows_the_chain(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    workspace_id: int,
    world: AlertWorld,
) -> None:
    url = f"/w/acme/drafts/{world.draft_id}/approve"
    token = as_role(client, engine, settings, workspace_id, Role.AGENT)
    page = client.get("/w/acme/playbooks").text
    assert "Approve as manager" in page and 'Waiting for: <strong class="step">manager' in page
    early = client.post(url, data={"decision": "approve", "csrf_token": token})
    assert early.status_code == 400 and "waits for &#39;manager&#39;" in early.text
    token = as_role(client, engine, settings, workspace_id, Role.MANAGER)
    done = client.post(
        url, data={"decision": "approve", "csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    with transaction(engine) as session:
        draft = session.get(ReplyDraft, world.draft_id)
        assert draft is not None and draft.status == "approved"
        assert draft.approvals[0]["by"] == "manager@acme.example (manager)"
    again = client.post(url, data={"decision": "approve", "csrf_token": token})
    assert again.status_code == 400 and "is approved, not pending approval" in again.text
    page = client.get("/w/acme/playbooks").text
    assert f'id="draft-{world.draft_id}"' not in page
    # No longer waiting, it is listed as ready to post, with who approved it.
    ready = page.split(f'id="decided-{world.draft_id}"')[1].split("</li>")[0]
    assert "ready to post" in ready and "manager: approved by manager@acme.example" in ready
    assert audit_actions(engine) == ["draft.approve"]


def test_a_team_step_is_signed_off_by_a_manager_and_a_rejection_ends_the_chain(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        actions.add_playbook(session, workspace_id, holding_playbook("legal", "[legal, owner]"))
        runs = actions.handle_alert(session, workspace_id, spike_alert(), settings)
        draft_id = runs[0].actions[1]["draft_id"]
    url = f"/w/acme/drafts/{draft_id}/approve"
    token = as_role(client, engine, settings, workspace_id, Role.AGENT)
    assert client.post(url, data={"csrf_token": token}).status_code == 400
    token = as_role(client, engine, settings, workspace_id, Role.MANAGER)
    assert client.post(url, data={"csrf_token": token}, follow_redirects=False).status_code == 303
    owner_step = client.post(url, data={"csrf_token": token})
    assert owner_step.status_code == 400 and "waits for &#39;owner&#39;" in owner_step.text
    token = as_role(client, engine, settings, workspace_id, Role.OWNER)
    rejected = client.post(
        url, data={"decision": "reject", "csrf_token": token}, follow_redirects=False
    )
    assert rejected.status_code == 303
    with transaction(engine) as session:
        draft = session.get(ReplyDraft, draft_id)
        assert draft is not None and draft.status == "rejected"
        assert [a["role"] for a in draft.approvals] == ["legal", "owner"]
    page = client.get("/w/acme/playbooks").text
    assert ">rejected</span>" in page.split(f'id="decided-{draft_id}"')[1].split("</li>")[0]


# ---- roles, CSRF, other workspaces ----------------------------------------------------------


def test_viewers_see_nothing_analysts_read_only(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int, world: AlertWorld
) -> None:
    user_id = member(engine, workspace_id, Role.VIEWER, "viewer@acme.example")
    client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, user_id))
    assert client.get("/w/acme/alerts").status_code == 403
    assert 'href="/w/acme/alerts"' not in client.get("/w/acme/posts").text
    token = as_role(client, engine, settings, workspace_id, Role.ANALYST)
    page = client.get(f"/w/acme/playbooks/{world.playbook_id}")
    assert page.status_code == 200 and "<textarea" not in page.text and "Dry-run" not in page.text
    assert "Add a playbook" not in client.get("/w/acme/playbooks").text
    for path, data in (
        ("/w/acme/playbooks", {"source": holding_playbook("analyst")}),
        (f"/w/acme/playbooks/{world.playbook_id}/edit", {"source": holding_playbook()}),
        (f"/w/acme/playbooks/{world.playbook_id}/enabled", {"enabled": "off"}),
        (f"/w/acme/playbooks/{world.playbook_id}/remove", {}),
        (f"/w/acme/playbooks/{world.playbook_id}/dry-run", {}),
        (f"/w/acme/drafts/{world.draft_id}/approve", {}),
    ):
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert audit_actions(engine) == []


def test_writes_without_csrf_token_are_refused(
    client: TestClient, engine: Engine, world: AlertWorld
) -> None:
    for path, data in (
        ("/w/acme/playbooks", {"source": holding_playbook("csrf")}),
        (f"/w/acme/playbooks/{world.playbook_id}/remove", {}),
        (f"/w/acme/playbooks/{world.playbook_id}/dry-run", {}),
        (f"/w/acme/drafts/{world.draft_id}/approve", {}),
        ("/w/acme/crisis/end", {}),
    ):
        refused = client.post(path, data={**data, "csrf_token": "forged"})
        assert refused.status_code == 403, path
    assert audit_actions(engine) == []


def test_another_workspaces_alerts_playbooks_and_drafts_are_404(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int, world: AlertWorld
) -> None:
    """The owner of globex, at acme's ids through globex's URLs, and at acme's URLs."""
    with transaction(engine) as session:
        globex = ensure_workspace(session, "globex", "Globex").id
    user_id = member(engine, globex, Role.OWNER, "owner@globex.example")
    client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, user_id))
    token = csrf_token(client.get("/w/globex/playbooks").text)
    assert "holding-reply" not in client.get("/w/globex/playbooks").text
    assert "volume_spike" not in client.get("/w/globex/alerts").text
    for path in (
        f"/w/globex/alerts/{world.alert_id}",
        f"/w/globex/playbooks/{world.playbook_id}",
        f"/w/globex/playbooks/runs?playbook={world.playbook_id}",
        "/w/acme/alerts",
        "/w/acme/playbooks",
    ):
        assert client.get(path).status_code == 404, path
    for path in (
        f"/w/globex/playbooks/{world.playbook_id}/edit",
        f"/w/globex/playbooks/{world.playbook_id}/dry-run",
        f"/w/globex/playbooks/{world.playbook_id}/enabled",
        f"/w/globex/drafts/{world.draft_id}/approve",
    ):
        data = {"source": holding_playbook(), "enabled": "off", "csrf_token": token}
        assert client.post(path, data=data).status_code == 404, path
    removed = client.post(
        f"/w/globex/playbooks/{world.playbook_id}/remove",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert removed.status_code == 303  # nothing of globex's to remove …
    with transaction(engine) as session:  # … and acme's playbook and its runs are untouched
        assert queries.playbook_by_id(session, workspace_id, world.playbook_id) is not None
        assert queries.runs(session, workspace_id, world.playbook_id) != []


# ---- notification channels ------------------------------------------------------------------


def test_channels_are_write_only_audited_without_the_secret_and_for_managers(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    secret = "TIiajkdnlazkcOXrIdevi7FQ"
    url = f"slack://T1JJ3T3L2/A1BRTD4JD/{secret}/#alerts"
    token = as_role(client, engine, settings, workspace_id, Role.ANALYST)
    page = client.get("/w/acme/playbooks").text
    assert 'id="channels"' in page and 'action="/w/acme/playbooks/channels"' not in page
    refused = client.post(
        "/w/acme/playbooks/channels", data={"name": "ops", "url": url, "csrf_token": token}
    )
    assert refused.status_code == 403
    token = as_role(client, engine, settings, workspace_id, Role.MANAGER)
    bad = client.post(
        "/w/acme/playbooks/channels",
        data={"name": "ops", "url": "nonsense://x", "csrf_token": token},
    )
    assert bad.status_code == 400 and "not a notification URL apprise knows" in bad.text
    saved = client.post(
        "/w/acme/playbooks/channels",
        data={"name": "ops", "url": url, "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text[-3000:]
    page = client.get("/w/acme/playbooks").text
    row = page.split('id="channel-')[1].split("</tr>")[0]
    assert "<code>ops</code>" in row and "slack://" in row
    assert secret not in page
    playbook = "name: ping\ntrigger: {kind: any}\nactions:\n  - notify: {channels: [ops]}\n"
    added = client.post(
        "/w/acme/playbooks", data={"source": playbook, "csrf_token": token}, follow_redirects=False
    )
    assert added.status_code == 303
    with transaction(engine) as session:
        (channel,) = queries.channels(session, workspace_id)
        details = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action.like("channel.%"))
        )
        assert secret not in str(list(details))
    removed = client.post(
        f"/w/acme/playbooks/channels/{channel.id}/remove",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    with transaction(engine) as session:
        assert queries.channels(session, workspace_id) == []
        actions_logged = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("channel.%"))
        ).all()
    assert actions_logged == ["channel.set", "channel.remove"]
