"""Topic actions: rules parse before anything is written; names are unique per workspace."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.core.errors import Rejected
from hubbub.listening.actions import add_topic, get_topic, remove_topic, update_topic
from hubbub.listening.models import Topic, TopicMatch
from hubbub.listening.queries import list_topics
from hubbub.listening.query import QueryError
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.listening.ingesting import ingest, post


def test_add_list_and_get(engine: Engine, workspace_id: int) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "Acme", '"rocket skates" OR #acme', kind="brand")
        add_topic(session, workspace_id, "Globex", "globex", kind="competitor")
    with Session(engine) as session:
        topics = list_topics(session, workspace_id)
        assert [(t.name, t.kind, t.active) for t in topics] == [
            ("Acme", "brand", True),
            ("Globex", "competitor", True),
        ]
        acme = get_topic(session, workspace_id, "Acme")
        assert acme.rule == '"rocket skates" OR #acme'
        assert acme.created_at == acme.updated_at
        assert acme.created_at.tzinfo is not None


def test_a_broken_rule_raises_with_its_position_and_writes_nothing(
    engine: Engine, workspace_id: int
) -> None:
    with pytest.raises(QueryError) as caught, transaction(engine) as session:
        add_topic(session, workspace_id, "Acme", "acme AND (skates OR")
    assert caught.value.position == 19
    with transaction(engine) as session:
        add_topic(session, workspace_id, "Acme", "acme")
    with pytest.raises(QueryError), transaction(engine) as session:
        update_topic(session, workspace_id, "Acme", rule='"unclosed')
    with Session(engine) as session:
        assert get_topic(session, workspace_id, "Acme").rule == "acme"
        assert session.scalar(select(func.count()).select_from(Topic)) == 1


@pytest.mark.parametrize(
    ("name", "kind", "code"),
    [
        ("Acme", "brand", "topic_exists"),
        (" ACME ", "brand", "topic_exists"),  # another case of a name is the same topic
        ("", "brand", "bad_name"),
        ("New", "rumour", "bad_kind"),
        # Names a topic's page address could not hold (/topics/{name}, /topics/{name}.csv).
        ("x/y", "brand", "bad_name"),
        ("back\\slash", "brand", "bad_name"),
        ("tab\there", "brand", "bad_name"),
        ("..", "brand", "bad_name"),
        ("report.CSV", "brand", "bad_name"),
    ],
)
def test_refused_topics(engine: Engine, workspace_id: int, name: str, kind: str, code: str) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "Acme", "acme")
    with pytest.raises(Rejected) as caught, transaction(engine) as session:
        add_topic(session, workspace_id, name, "acme", kind=kind)
    assert caught.value.code == code


def test_topics_are_scoped_to_their_workspace(engine: Engine, workspace_id: int) -> None:
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex").id
        add_topic(session, workspace_id, "Brand", "acme")
        add_topic(session, other, "Brand", "globex")  # the same name elsewhere is fine
    with Session(engine) as session:
        assert get_topic(session, other, "Brand").rule == "globex"
        assert [t.rule for t in list_topics(session, workspace_id)] == ["acme"]
    with transaction(engine) as session:
        remove_topic(session, other, "Brand")
    with pytest.raises(Rejected) as caught, Session(engine) as session:
        get_topic(session, other, "Brand")
    assert caught.value.code == "no_topic"
    with Session(engine) as session:
        assert get_topic(session, workspace_id, "Brand").rule == "acme"


def test_update_moves_updated_at_forward_and_can_rename(engine: Engine, workspace_id: int) -> None:
    with transaction(engine) as session:
        first = add_topic(session, workspace_id, "A", "acme")
        add_topic(session, workspace_id, "B", "globex")
        before = first.updated_at
    with transaction(engine) as session:
        topic = update_topic(
            session, workspace_id, "A", rule="acme*", kind="product", new_name="Acme"
        )
        assert topic.updated_at > before
    for taken in ("B", "b"):
        with pytest.raises(Rejected) as caught, transaction(engine) as session:
            update_topic(session, workspace_id, "Acme", new_name=taken)
        assert caught.value.code == "topic_exists"
    assert "exists already (as 'B')" in caught.value.detail
    with transaction(engine) as session:  # a topic's own name in another case is free to it
        update_topic(session, workspace_id, "Acme", new_name="ACME")
        update_topic(session, workspace_id, "ACME", new_name="Acme")
    with Session(engine) as session:
        renamed = get_topic(session, workspace_id, "Acme")
        assert (renamed.rule, renamed.kind) == ("acme*", "product")


def test_remove_takes_the_matches_with_it(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "Skates", "skates")
    ingest(engine, settings, workspace_id, [post(1, "skates"), post(2, "more skates")])
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(TopicMatch)) == 2
    with transaction(engine) as session:
        remove_topic(session, workspace_id, "Skates")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(TopicMatch)) == 0
