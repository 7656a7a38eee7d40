"""Teammates @-mentioned in a note get one email each, through a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from hubbub.accounts.actions import Actor
from hubbub.core.clock import utcnow
from hubbub.inbox import actions
from hubbub.inbox.mentions import MAX_ATTEMPTS, STALE_AFTER, send_due_mentions
from hubbub.inbox.models import Conversation, MentionMail
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.worker import Pipeline
from tests.inbox.conftest import make_user, store
from tests.support.factories import BASE_TIME, example_post
from tests.support.smtp import Mailbox, mail_settings, mailbox

__all__ = ["mail_settings", "mailbox"]

COMPLAINT = "my Acme skates broke after one day and support ignores me, terrible"


def _note(
    engine: Engine, workspace_id: int, body: str, author: int | None = None, post: int = 1
) -> int:
    ids = store(engine, workspace_id, "bluesky", [example_post(post, "amira", COMPLAINT)])
    with transaction(engine) as session:
        (conversation,) = actions.open_conversations_for(
            session, workspace_id, list(ids.values()), now=BASE_TIME + timedelta(hours=1)
        )
        found = session.get(Conversation, conversation.id)
        assert found is not None
        actions.add_note(session, found, body, actor=Actor(user_id=author))
        return conversation.id


def _states(engine: Engine) -> list[tuple[int, str, int]]:
    with transaction(engine) as session:
        rows = session.execute(
            select(MentionMail.user_id, MentionMail.state, MentionMail.attempts).order_by(
                MentionMail.user_id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.mark.usefixtures("brand")
def test_each_mentioned_teammate_gets_one_mail_and_the_writer_none(
    engine: Engine, workspace_id: int, mail_settings: Settings, mailbox: Mailbox
) -> None:
    ana = make_user(engine, workspace_id, "ana@example.com")
    ben = make_user(engine, workspace_id, "ben@example.com")
    settings = mail_settings.model_copy(update={"public_url": "https://hubbub.example/"})
    conversation_id = _note(
        engine, workspace_id, "@ana @ben refund?\nSubject: injected\n<b>bold</b>", author=ben
    )

    report = send_due_mentions(engine, settings)
    again = send_due_mentions(engine, settings)

    assert (report.sent, again.sent) == (1, 0)  # ben wrote the note: no mail to himself
    assert _states(engine) == [(ana, "sent", 1)]
    (message,) = mailbox.messages
    assert message["To"] == "ana@example.com"
    assert "mentioned you" in message["Subject"]
    body = message.get_content()
    assert "> Subject: injected" in body  # quoted text, not a header
    assert message.get_content_type() == "text/plain"
    assert f"Open it: https://hubbub.example/w/acme/inbox/{conversation_id}" in body
    assert "Acme Inc." in message["Subject"]


@pytest.mark.usefixtures("brand")
def test_a_refusing_server_is_retried_with_backoff_until_dead(
    engine: Engine, workspace_id: int, mail_settings: Settings, mailbox: Mailbox
) -> None:
    ana = make_user(engine, workspace_id, "ana@example.com")
    _note(engine, workspace_id, "@ana please look")
    mailbox.refuse = 1
    first = send_due_mentions(engine, mail_settings)
    assert (first.sent, first.retrying) == (0, 1)
    assert send_due_mentions(engine, mail_settings).sent == 0  # backing off: not due yet
    later = utcnow() + timedelta(minutes=2)
    assert send_due_mentions(engine, mail_settings, now=later).sent == 1
    assert _states(engine) == [(ana, "sent", 2)]
    assert len(mailbox.messages) == 1

    _note(engine, workspace_id, "@ana again", post=2)
    mailbox.refuse = MAX_ATTEMPTS
    moment = utcnow()
    for _ in range(MAX_ATTEMPTS):
        moment += timedelta(hours=2)  # past any backoff, still inside the day
        send_due_mentions(engine, mail_settings, now=moment)
    assert _states(engine)[-1] == (ana, "dead", MAX_ATTEMPTS)


@pytest.mark.usefixtures("brand")
def test_without_smtp_nothing_is_claimed_and_stale_mentions_expire(
    engine: Engine, workspace_id: int, settings: Settings, mail_settings: Settings, mailbox: Mailbox
) -> None:
    ana = make_user(engine, workspace_id, "ana@example.com")
    _note(engine, workspace_id, "@ana when you can")
    assert send_due_mentions(engine, settings).sent == 0  # no SMTP configured
    assert _states(engine) == [(ana, "pending", 0)]

    late = utcnow() + STALE_AFTER + timedelta(minutes=1)
    report = send_due_mentions(engine, mail_settings, now=late)
    assert (report.sent, report.expired) == (0, 1)
    assert _states(engine) == [(ana, "expired", 1)]
    assert mailbox.messages == []


@pytest.mark.usefixtures("brand")
def test_the_pipeline_sends_them(
    engine: Engine, workspace_id: int, mail_settings: Settings, mailbox: Mailbox
) -> None:
    make_user(engine, workspace_id, "ana@example.com")
    _note(engine, workspace_id, "@ana the pipeline mails this")
    result = Pipeline(engine, mail_settings).tick()
    assert result.mention_mails_sent == 1, result.errors
    assert [m["To"] for m in mailbox.messages] == ["ana@example.com"]
