"""A workspace with a week of listening data, alerts and inbox conversations, put in through
the real ingest service and actions; and a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from hubbub.alerts.actions import record_alert
from hubbub.inbox.actions import add_account, open_conversations_for
from hubbub.listening.actions import add_topic
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from tests.listening.ingesting import ingest, post
from tests.support.factories import BASE_TIME
from tests.support.smtp import Mailbox, mail_settings, mailbox

__all__ = ["Mailbox", "mail_settings", "mailbox"]  # fixtures shared with tests/support/smtp.py

# BASE_TIME is Saturday 2026-07-04 12:00 UTC: the report's week is Monday 06-29 to 07-06.
WEEK_START = datetime(2026, 6, 29, tzinfo=UTC)
WEEK_END = datetime(2026, 7, 6, tzinfo=UTC)
SCRIPT_TEXT = '=HYPERLINK("http://evil.example") <script>alert(1)</script> rocket skates'
BRAND_DID = "did:plc:acmebrandaccount00000000"
BRAND_HANDLE = "acme.bsky.social"


@dataclass(frozen=True)
class Loaded:
    workspace_id: int
    conversation_id: int


def load_week(engine: Engine, settings: Settings, workspace_id: int) -> Loaded:
    """Three skates mentions and one Voltaro mention in the week, one skates mention after it,
    two alerts (one in the week), and one conversation whose first response was missed."""
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", '"rocket skates"', "brand")
        add_topic(session, workspace_id, "voltaro", "voltaro", "competitor")
        add_account(session, settings, workspace_id, "bluesky", BRAND_DID, BRAND_HANDLE)
    result = ingest(
        engine,
        settings,
        workspace_id,
        [
            post(10, "My rocket skates arrived, I love them", likes=5),
            post(70, "These rocket skates broke after a week, terrible", author="bruno"),
            post(130, "Voltaro skates look better", author="chen"),
            post(1500, SCRIPT_TEXT, author="chen", likes=40, reshares=2),
            post(2220, "rocket skates again, next week"),  # Monday 07-06 01:00: next week
            post(-2900, "help, my rocket skates order is late", mentions=[BRAND_HANDLE]),
        ],
    )
    assert result.rejected == 0
    with transaction(engine) as session:
        record_alert(
            session,
            workspace_id,
            {
                "time": "2026-07-04T13:00:00Z",
                "kind": "volume_spike",
                "series": "skates",
                "topic": "skates",
                "severity": "high",
                "explanation": {"summary": "skates mentions 4x the usual"},
            },
        )
        record_alert(
            session,
            workspace_id,
            {"time": "2026-07-07T13:00:00Z", "kind": "volume_spike", "series": "x", "topic": "x"},
        )
        help_post = session.scalar(
            select(Post.id).where(
                Post.workspace_id == workspace_id, Post.native_id == "bluesky:amira:-2900"
            )
        )
        assert help_post is not None
        # Thursday 07-02 09:40 UTC: inside the default business hours, due within the week.
        opened = open_conversations_for(
            session, workspace_id, [help_post], now=BASE_TIME - timedelta(minutes=2900)
        )
        assert opened
    return Loaded(workspace_id, opened[0].id)


@pytest.fixture
def loaded(engine: Engine, settings: Settings, workspace_id: int) -> Loaded:
    return load_week(engine, settings, workspace_id)


def require_pdftoppm() -> str:
    """pdftoppm's path; under CI=true its absence fails the test, elsewhere it skips."""
    found = shutil.which("pdftoppm")
    if found is None:
        message = "pdftoppm (poppler-utils) is missing; run scripts/ensure-pdf-tools"
        if os.environ.get("CI") == "true":
            pytest.fail(f"PDF page checks are required under CI=true: {message}")
        pytest.skip(message)
    return found
