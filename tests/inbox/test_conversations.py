"""Opening conversations from stored posts, triage, SLA breaches, notes and saved replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, select

from hubbub.accounts.models import AuditEntry, Membership
from hubbub.core.errors import Rejected
from hubbub.inbox import actions, queries
from hubbub.inbox.models import Conversation, ConversationPost
from hubbub.store.engine import transaction
from tests.inbox.conftest import ACME_DID, brand_post, bsky, make_user, store
from tests.support.factories import BASE_TIME, PERSONAS, example_post

COMPLAINT = "my Acme skates broke after one day and support ignores me, terrible"
QUESTION = "does the Acme rocket skate come in size 44?"
BRUNO = PERSONAS["bruno"]["native_id"]


def bruno(n: int) -> str:
    return f"at://{BRUNO}/app.bsky.feed.post/{n:013d}"


def _open(
    engine: Engine, workspace_id: int, ids: list[int], now: datetime | None = None
) -> list[int]:
    with transaction(engine) as session:
        opened = actions.open_conversations_for(
            session, workspace_id, ids, now=now or BASE_TIME + timedelta(hours=1)
        )
        return [c.id for c in opened]


def _conversations(engine: Engine, workspace_id: int) -> dict[int, Conversation]:
    """Conversations by their root post id."""
    with transaction(engine) as session:
        rows = session.scalars(
            select(Conversation).where(Conversation.workspace_id == workspace_id)
        )
        return {c.root_post_id: c for c in rows}


@pytest.mark.usefixtures("brand")
def test_posts_that_need_action_open_conversations_and_others_do_not(
    engine: Engine, workspace_id: int
) -> None:
    ids = store(
        engine,
        workspace_id,
        "bluesky",
        [
            brand_post(1, "Our new rocket skates are out"),
            example_post(
                2,
                "amira",
                "Post number 2 about the Acme rocket skates",
                reply_to=brand_post(1, "").native_id,
                thread_root=brand_post(1, "").native_id,
            ),
            example_post(3, "bruno", "hey @acme.bsky.social what a launch", mentions=(ACME_DID,)),
            example_post(4, "amira", COMPLAINT),
            example_post(5, "bruno", "Acme announced new skates today"),
            example_post(6, "amira", "Love my new Acme skates, thank you!"),
        ],
    )
    opened = _open(engine, workspace_id, list(ids.values()))
    found = _conversations(engine, workspace_id)
    assert {found[ids[bsky(n)]].reason for n in (2, 4)} == {"reply", "intent"}
    assert found[ids[bruno(3)]].reason == "mention"
    assert set(found) == {ids[bsky(2)], ids[bruno(3)], ids[bsky(4)]}  # not ours, news or praise
    assert len(opened) == 3
    assert all(c.status == "new" and c.first_response_due is not None for c in found.values())

    assert _open(engine, workspace_id, list(ids.values())) == []  # a second run changes nothing
    with transaction(engine) as session:
        audited = session.scalars(
            select(AuditEntry.action).where(AuditEntry.workspace_id == workspace_id)
        ).all()
    assert sorted(a for a in audited if a.startswith("conversation")) == ["conversation.open"] * 3


@pytest.mark.usefixtures("brand")
def test_a_thread_is_one_conversation_and_our_reply_in_it_answers(
    engine: Engine, workspace_id: int
) -> None:
    root = bsky(10)
    first = store(engine, workspace_id, "bluesky", [example_post(10, "amira", COMPLAINT)])
    (conversation_id,) = _open(engine, workspace_id, list(first.values()))

    later = store(
        engine,
        workspace_id,
        "bluesky",
        [
            brand_post(20, "So sorry! DM us your order number", reply_to=root, thread_root=root),
            example_post(
                30,
                "amira",
                "sent it, thanks",
                reply_to=brand_post(20, "").native_id,
                thread_root=root,
            ),
        ],
    )
    # Joining happens in time order: our answer first, then the customer's follow-up.
    assert _open(engine, workspace_id, [later[brand_post(20, "").native_id]]) == [conversation_id]
    with transaction(engine) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        assert found.first_responded_at == BASE_TIME + timedelta(minutes=20)
        assert found.status == "waiting" and found.next_response_due is None
    assert _open(engine, workspace_id, [later[bsky(30)]]) == [conversation_id]
    with transaction(engine) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        assert found.status == "open"  # the customer wrote again
        assert found.next_response_due is not None
        posts = queries.posts_of(session, conversation_id)
    assert [ours for _, _, ours in posts] == [False, True, False]


@pytest.mark.usefixtures("brand")
def test_priority_ranks_an_angry_influential_complaint_above_a_plain_question(
    engine: Engine, workspace_id: int
) -> None:
    ids = store(
        engine,
        workspace_id,
        "bluesky",
        [example_post(1, "amira", COMPLAINT), example_post(2, "bruno", QUESTION)],
    )
    _open(engine, workspace_id, list(ids.values()), now=BASE_TIME + timedelta(hours=3))
    found = _conversations(engine, workspace_id)
    complaint, question = found[ids[bsky(1)]], found[ids[bruno(2)]]
    assert complaint.priority > question.priority
    parts = {p["factor"]: p for p in complaint.priority_explanation}
    assert parts["intent"]["value"] == "complaint"
    assert parts["negativity"]["points"] > 10
    assert parts["followers"]["value"] == 1200
    assert parts["waiting_hours"]["value"] == pytest.approx(2.98, abs=0.02)
    assert complaint.priority == pytest.approx(
        sum(p["points"] for p in complaint.priority_explanation)
    )
    assert {p["factor"]: p["value"] for p in question.priority_explanation}["intent"] == "question"

    with transaction(engine) as session:
        row = session.get(Conversation, question.id)
        assert row is not None
        before = row.priority
        actions.refresh_priority(session, row, BASE_TIME + timedelta(hours=10))
        assert row.priority > before  # waiting longer raises it


@pytest.mark.usefixtures("brand")
def test_assignment_by_hand_and_round_robin_through_a_queue(
    engine: Engine, workspace_id: int
) -> None:
    ana = make_user(engine, workspace_id, "ana@example.com")
    ben = make_user(engine, workspace_id, "ben@example.com")
    viewer = make_user(engine, workspace_id, "vic@example.com", role="viewer")
    ids = store(
        engine,
        workspace_id,
        "bluesky",
        [example_post(n, "amira", f"{QUESTION} ({n})") for n in range(1, 5)],
    )
    _open(engine, workspace_id, list(ids.values()))
    convs = sorted(_conversations(engine, workspace_id).values(), key=lambda c: c.id)
    assert len(convs) == 4
    with transaction(engine) as session:
        rows = [session.get(Conversation, c.id) for c in convs]
        assert all(rows)
        with pytest.raises(Rejected, match="not an active agent"):
            actions.assign(session, rows[0], viewer)  # type: ignore[arg-type]
        actions.assign(session, rows[0], ben)  # type: ignore[arg-type]
        assert rows[0] is not None and rows[0].assignee_user_id == ben and rows[0].status == "open"
        actions.create_queue(session, workspace_id, "support", [ana, ben])
        picked = [
            actions.assign_to_queue(session, row, "support").assignee_user_id for row in rows[1:3]
        ]  # type: ignore[arg-type]
        assert picked == [ana, ben]
        session.execute(delete(Membership).where(Membership.user_id == ana))  # Ana leaves
        assert actions.assign_to_queue(session, rows[3], "support").assignee_user_id == ben  # type: ignore[arg-type]
        amira = queries.posts_of(session, convs[0].id)[0][1]
        assert {c.id for c in queries.author_history(session, workspace_id, amira.id)} == {
            c.id for c in convs
        }
        listed = queries.list_conversations(session, workspace_id, assignee_user_id=ben)
        assert {c.id for c in listed} == {convs[0].id, convs[2].id, convs[3].id}


@pytest.mark.usefixtures("brand")
def test_breach_warnings_list_what_is_past_or_near_due(engine: Engine, workspace_id: int) -> None:
    with transaction(engine) as session:
        actions.set_business_hours(
            session,
            workspace_id,
            "UTC",
            {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
            first_response_minutes=60,
            next_response_minutes=30,
        )
    ids = store(
        engine,
        workspace_id,
        "bluesky",
        [example_post(0, "amira", COMPLAINT), example_post(40, "bruno", QUESTION)],
    )
    _open(engine, workspace_id, list(ids.values()))
    found = _conversations(engine, workspace_id)
    early, late = found[ids[bsky(0)]], found[ids[bruno(40)]]
    assert early.first_response_due == BASE_TIME + timedelta(minutes=60)
    assert late.first_response_due == BASE_TIME + timedelta(minutes=100)

    def breaching(now: datetime) -> set[int]:
        with transaction(engine) as session:
            return {
                c.id
                for c in queries.list_conversations(
                    session, workspace_id, breaching=True, now=now, warn=timedelta(minutes=15)
                )
            }

    assert breaching(BASE_TIME + timedelta(minutes=30)) == set()
    assert breaching(BASE_TIME + timedelta(minutes=50)) == {early.id}  # 10 minutes left
    assert breaching(BASE_TIME + timedelta(minutes=90)) == {early.id, late.id}
    with transaction(engine) as session:
        row = session.get(Conversation, early.id)
        assert row is not None
        actions.set_status(session, row, "resolved")
    assert breaching(BASE_TIME + timedelta(minutes=90)) == {late.id}


@pytest.mark.usefixtures("brand")
def test_notes_record_the_teammates_they_mention(engine: Engine, workspace_id: int) -> None:
    ana = make_user(engine, workspace_id, "ana@example.com")
    ben = make_user(engine, workspace_id, "ben@example.com")
    ids = store(engine, workspace_id, "bluesky", [example_post(1, "amira", COMPLAINT)])
    (conversation_id,) = _open(engine, workspace_id, list(ids.values()))
    with transaction(engine) as session:
        row = session.get(Conversation, conversation_id)
        assert row is not None
        note = actions.add_note(
            session, row, "@ana can you take this? cc @ben@example.com, not @nobody or mail@ana"
        )
        assert sorted(note.mentions) == sorted([ana, ben])
        assert queries.notes_of(session, conversation_id)[0].body.startswith("@ana")
        with pytest.raises(Rejected):
            actions.add_note(session, row, "   ")


@pytest.mark.usefixtures("brand")
def test_saved_replies_render_variables_in_the_sandbox(engine: Engine, workspace_id: int) -> None:
    ids = store(engine, workspace_id, "bluesky", [example_post(1, "amira", COMPLAINT)])
    (conversation_id,) = _open(engine, workspace_id, list(ids.values()))
    with transaction(engine) as session:
        row = session.get(Conversation, conversation_id)
        assert row is not None
        actions.save_reply_template(
            session,
            workspace_id,
            "sorry",
            "Hi {{ author_name }}, sorry about that! <3 {{ workspace }}",
        )
        assert (
            actions.render_saved_reply(session, row, "sorry")
            == "Hi Amira, sorry about that! <3 Acme Inc."
        )
        with pytest.raises(Rejected, match="unknown variable"):
            actions.save_reply_template(session, workspace_id, "leak", "{{ settings }}")
        actions.save_reply_template(
            session, workspace_id, "escape", "{{ author_name.__class__.__mro__ }}"
        )
        with pytest.raises(Rejected, match="cannot be rendered"):
            actions.render_saved_reply(session, row, "escape")
        with pytest.raises(Rejected, match="no saved reply"):
            actions.render_saved_reply(session, row, "missing")


@pytest.mark.usefixtures("brand")
def test_status_changes_are_checked_and_audited(engine: Engine, workspace_id: int) -> None:
    ids = store(engine, workspace_id, "bluesky", [example_post(1, "amira", COMPLAINT)])
    (conversation_id,) = _open(engine, workspace_id, list(ids.values()))
    with transaction(engine) as session:
        row = session.get(Conversation, conversation_id)
        assert row is not None
        with pytest.raises(Rejected, match="not a status"):
            actions.set_status(session, row, "closed")
        actions.set_status(session, row, "spam")
        with pytest.raises(Rejected, match="spam"):
            actions.queue_reply(session, row, "hello")
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "conversation.status")
        ).one()
        assert entry.detail == {"from": "new", "to": "spam"}
        assert entry.target == f"conversation:{conversation_id}"
        assert (
            session.scalar(
                select(ConversationPost.post_id).where(
                    ConversationPost.conversation_id == conversation_id
                )
            )
            == ids[bsky(1)]
        )
    assert BASE_TIME.tzinfo is UTC
