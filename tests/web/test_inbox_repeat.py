"""The reply form: a second submit after the page was loaded again queues nothing new."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.inbox.models import OutboundReply
from hubbub.settings import Settings
from tests.web.conftest import csrf_token, open_conversation

pytestmark = pytest.mark.db

ANSWER = "Sorry about that <b>Ana</b>, a new pair ships today"


def _form(page: str, body: str) -> dict[str, str]:
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    seen = re.search(r'name="seen" value="([^"]+)"', page)
    assert key and seen
    return {
        "csrf_token": csrf_token(page),
        "body": body,
        "idempotency_key": key.group(1),
        "seen": seen.group(1),
    }


def _bodies(engine: Engine, convo: int) -> list[str]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(OutboundReply.body)
                .where(OutboundReply.conversation_id == convo)
                .order_by(OutboundReply.id)
            )
        )


def test_submitting_again_from_a_reloaded_page_shows_the_reply_once_with_a_notice(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    convo = open_conversation(engine, settings, workspace_id, 1, "my order never arrived")
    base = f"/w/acme/inbox/{convo}"
    first = client.post(
        f"{base}/replies", data=_form(client.get(base).text, ANSWER), follow_redirects=False
    )
    assert first.status_code == 303 and first.headers["location"] == base
    reloaded = client.get(base).text  # the browser fetched the page again: a new form key
    again = client.post(f"{base}/replies", data=_form(reloaded, ANSWER), follow_redirects=False)
    assert again.status_code == 303
    assert _bodies(engine, convo) == [ANSWER.strip()]
    with Session(engine) as session:
        reply_id = session.scalars(
            select(OutboundReply.id).where(OutboundReply.conversation_id == convo)
        ).one()
    assert again.headers["location"] == f"{base}?repeated={reply_id}#reply-{reply_id}"

    page = client.get(again.headers["location"]).text
    notice = page.split('id="reply-repeated"', 1)[1].split("</p>", 1)[0]
    assert "already queued" in notice and f'href="#reply-{reply_id}"' in notice
    assert page.count('class="card reply"') == 1
    assert page.count("Sorry about that &lt;b&gt;Ana&lt;/b&gt;") == 1  # escaped, shown once
    assert "<b>Ana</b>" not in page


def test_a_different_reply_is_queued_and_a_foreign_repeated_id_shows_nothing(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    convo = open_conversation(engine, settings, workspace_id, 2, "is the shop open today?")
    other = open_conversation(engine, settings, workspace_id, 3, "do you ship to Norway?")
    base = f"/w/acme/inbox/{convo}"
    client.post(f"{base}/replies", data=_form(client.get(base).text, "Yes, until 6 pm!"))
    more = client.post(
        f"{base}/replies",
        data=_form(client.get(base).text, "And from 10 am on Sunday."),
        follow_redirects=False,
    )
    assert more.status_code == 303 and more.headers["location"] == base
    assert _bodies(engine, convo) == ["Yes, until 6 pm!", "And from 10 am on Sunday."]
    with Session(engine) as session:
        theirs = session.scalars(
            select(OutboundReply.id).where(OutboundReply.conversation_id == convo)
        ).first()
    # Another conversation's page never names this reply, whatever the query string says.
    page = client.get(f"/w/acme/inbox/{other}?repeated={theirs}")
    assert page.status_code == 200 and 'id="reply-repeated"' not in page.text
