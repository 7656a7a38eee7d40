"""``hubbub inbox`` through the real command, against a local Mastodon server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hubbub.store.engine import make_engine
from hubbub.workspaces.models import Workspace
from tests.inbox.conftest import ACME_MASTODON, CHEN_STATUS, chen_status, store
from tests.inbox.servers import mastodon_server
from tests.support.cli import Invoke, hubbub_cli


@pytest.fixture
def hubbub(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    with hubbub_cli(
        db_url,
        tmp_path / "home",
        monkeypatch,
        env={"HUBBUB_ALLOWED_PRIVATE_HOSTS": '["127.0.0.1"]'},
    ) as invoke:
        yield invoke


def test_triage_and_reply_from_the_command_line(hubbub: Invoke, db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            workspace_id = conn.execute(
                select(Workspace.id).where(Workspace.slug == "default")
            ).scalar_one()
        store(
            engine,
            workspace_id,
            "mastodon",
            [chen_status(1, "my Acme skates broke after one day and support ignores me, terrible")],
        )
    finally:
        engine.dispose()
    hubbub(
        "user",
        "create",
        "--email",
        "ana@example.com",
        "-w",
        "default",
        "--role",
        "agent",
        "--password-stdin",
        input="correct horse battery staple\n",
    )

    with mastodon_server() as server:
        server.know(CHEN_STATUS.format(n=1), "109999")
        hubbub(
            "inbox",
            "account",
            "mastodon",
            ACME_MASTODON,
            "acme",
            "--server",
            server.base,
            "--secret",
            f"access_token={server.token}",
        )
        assert "1 conversations opened" in hubbub("inbox", "scan", "--hours", "1").output
        listed = hubbub("inbox", "list").output
        assert "my Acme skates broke" in listed and "intent" in listed
        assert "my Acme skates broke" in hubbub("inbox", "list", "--breaching").output  # July post
        assert "my Acme skates" not in hubbub("inbox", "list", "--status", "resolved").output

        assert (
            "assigned to ana@example.com"
            in hubbub("inbox", "assign", "1", "ana@example.com").output
        )
        assert "ana@example.com" in hubbub("inbox", "list", "--assignee", "ana@example.com").output
        assert (
            "mentions ana@example.com"
            in hubbub("inbox", "note", "1", "@ana refund approved").output
        )
        hubbub("inbox", "saved", "sorry", "Hi {{ author_name }}, a new pair is on its way.")
        sent = hubbub("inbox", "reply", "1", "--saved", "sorry").output
        assert "sent after 1 attempt" in sent
        assert [s["content"] for s in server.statuses] == [
            "<p>@chen@mastodon.example Hi Chen, a new pair is on its way.</p>"
        ]

        shown = hubbub("inbox", "show", "1").output
        assert "(sent)" in shown and "@ana refund approved" in shown and "waiting" in shown
        # Escape sequences in what someone wrote never reach the operator's terminal.
        hubbub("inbox", "note", "1", "ctrl\x01\x1b[2Jcleared? [b]bold[/b]")
        shown = hubbub("inbox", "show", "1").output
        assert (
            "\x1b" not in shown and "\x01" not in shown and "ctrl [2Jcleared? [b]bold[/b]" in shown
        )
        hubbub("inbox", "status", "1", "resolved")
        assert "my Acme skates" in hubbub("inbox", "list", "--status", "resolved").output
        assert "not a status" in hubbub("inbox", "status", "1", "closed", code=1).output
        assert "no conversation 99" in hubbub("inbox", "show", "99", code=1).output
        hubbub("inbox", "reply", "1", "text", "--saved", "sorry", code=1)
        too_long = " ".join(hubbub("inbox", "reply", "1", "x" * 495, code=1).output.split())
        # 495 plus the "@chen@mastodon.example " Mastodon's channel puts in front, which
        # Mastodon counts as "@chen ": over 500.
        assert "at most 500 characters" in too_long and "this one has 501" in too_long
        assert f"The limit is the server's own, read from {server.base}/api/v2/instance" in (
            too_long
        )
        assert len(server.posts("POST", "/api/v1/statuses")) == 1
        # Refused for good by the server: retrying the same text is refused, not sent again.
        server.faults = ["422"]
        assert "Mastodon refused" in hubbub("inbox", "reply", "1", "Still there?", code=2).output
        refused = " ".join(hubbub("inbox", "retry", "2", code=1).output.split())
        assert "reply 2 was refused for good" in refused and "edit or discard it" in refused
        assert len(server.posts("POST", "/api/v1/statuses")) == 2
