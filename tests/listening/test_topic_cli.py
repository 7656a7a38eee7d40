"""``hubbub topic add|list|show|edit|remove|backfill`` against the test database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from hubbub.cli.app import app
from hubbub.listening.actions import add_topic
from hubbub.listening.corrections.models import EnrichmentCorrection
from hubbub.listening.models import HourlyRollup, PostEnrichment, Topic
from hubbub.settings import Settings, get_settings
from hubbub.store.engine import transaction
from tests.listening.ingesting import ingest, matches, post
from tests.support.factories import BASE_TIME

Invoke = Callable[..., Result]


@pytest.fixture
def hubbub(
    db_url: str, workspace_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Invoke]:
    monkeypatch.setenv("HUBBUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HUBBUB_DATABASE_URL", db_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, ["topic", *args, "--workspace", "acme"])
        assert result.exit_code == code, result.output
        return result

    yield invoke
    get_settings.cache_clear()


def test_topic_lifecycle(hubbub: Invoke) -> None:
    added = hubbub("add", "Acme", '"rocket skates" OR #Acme', "--kind", "brand")
    assert added.stdout.splitlines() == [
        "topic 'Acme' added (brand): \"rocket skates\" OR #acme",
        "topic 'Acme' matched the stored posts: posts 0, matched 0; new matches 0, newly enriched 0",
    ]
    hubbub("add", "Globex", "globex*", "--kind", "competitor")
    listed = hubbub("list").stdout
    assert listed.index("Acme") < listed.index("Globex")
    assert "competitor" in listed and "globex*" in listed

    shown = hubbub("show", "Acme").stdout.splitlines()
    assert "kind       brand" in shown
    assert 'understood "rocket skates" OR #acme' in shown
    assert "matches    0" in shown

    hubbub("edit", "Acme", "acme OR #acme", "--inactive")
    shown = hubbub("show", "Acme").stdout.splitlines()
    assert "rule       acme OR #acme" in shown and "active     no" in shown

    hubbub("remove", "Globex")
    assert "Globex" not in hubbub("list").stdout


def test_errors_point_at_the_rule_and_exit_1(hubbub: Invoke) -> None:
    broken = hubbub("add", "Acme", "acme AND (skates OR", code=1)
    lines = broken.stderr.splitlines()
    assert lines[0] == "acme AND (skates OR"
    assert lines[1].index("^") == 19
    assert lines[2].startswith("error: expected a term") and "at position 19" in lines[2]
    assert "no topics" in hubbub("list").stdout

    hubbub("add", "Acme", "acme")
    assert "exists already" in hubbub("add", "Acme", "acme", code=1).stderr
    assert "no topic named 'Nope'" in hubbub("show", "Nope", code=1).stderr
    assert "not one of brand" in hubbub("add", "X", "x", "--kind", "rumour", code=1).stderr
    edit = hubbub("edit", "Acme", 'acme NEAR/2 "skates', code=1)
    assert edit.stderr.splitlines()[1].index("^") == 12
    assert "rule       acme" in hubbub("show", "Acme").stdout.splitlines()


def test_backfill_command(
    hubbub: Invoke, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ingest(
        engine, settings, workspace_id, [post(1, "rocket skates"), post(2, "other", hashtags=[])]
    )
    with transaction(engine) as session:  # added by the action alone: nothing matched yet
        add_topic(session, workspace_id, "Skates", "skates")
    done = hubbub("backfill", "--since", "2026-07-01")
    assert done.stdout.strip() == ("posts 2: matched 1; new matches 1, newly enriched 1")
    assert matches(engine, workspace_id) == {("Skates", "bluesky:amira:1")}
    assert "new matches 0" in hubbub("backfill").stdout
    assert "is not an ISO date" in hubbub("backfill", "--since", "soon", code=1).stderr


def test_a_topic_added_later_matches_the_posts_stored_before_it(
    hubbub: Invoke, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ingest(
        engine, settings, workspace_id, [post(1, "rocket skates"), post(2, "other", hashtags=[])]
    )
    added = hubbub("add", "Skates", "skates").stdout.splitlines()
    assert (
        added[1]
        == "topic 'Skates' matched the stored posts: posts 2, matched 1; new matches 1, newly enriched 1"
    )
    assert matches(engine, workspace_id) == {("Skates", "bluesky:amira:1")}
    with Session(engine) as session:  # nothing left for the pipeline's re-match job
        assert session.scalars(select(Topic.rematch_requested_at)).one() is None
    ingest(engine, settings, workspace_id, [post(3, "new skates")])  # live matching goes on
    assert ("Skates", "bluesky:amira:3") in matches(engine, workspace_id)


def test_backfill_applies_corrections_recorded_before_they_moved_counts(
    hubbub: Invoke, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    hubbub("add", "Skates", "skates")
    ingest(engine, settings, workspace_id, [post(1, "love my rocket skates")])
    with transaction(engine) as session:  # as an earlier version stored a correction
        stored = session.scalars(select(PostEnrichment)).one()
        assert stored.sentiment_label == "positive"
        session.add(
            EnrichmentCorrection(
                workspace_id=workspace_id,
                post_id=stored.post_id,
                created_at=BASE_TIME,
                label="negative",
                model_label=stored.sentiment_label,
                model_score=stored.sentiment_score,
                model_intents=[],
                model_proba=[0.1, 0.2, 0.7],
            )
        )
    done = hubbub("backfill").stdout
    assert "posts relabelled as analysts corrected them: 1" in done
    with Session(engine) as session:
        cells = session.execute(select(HourlyRollup.sentiment_label, HourlyRollup.posts)).all()
        assert [tuple(c) for c in cells] == [("negative", 1)]
    assert "relabelled" not in hubbub("backfill").stdout  # once


def test_a_store_without_the_workspace_asks_for_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBBUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HUBBUB_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["topic", "list"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    # The store itself is migrated on open; the workspace must still be created.
    assert "hubbub init --workspace default" in result.stderr


def test_backfill_terms_recounts_matches_stored_before_term_rollups(
    hubbub: Invoke, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    from sqlalchemy import delete, func, select
    from sqlalchemy.orm import Session

    from hubbub.listening.models import TermRollup
    from hubbub.store.engine import transaction

    def term_rows() -> list[tuple[str, int]]:
        with Session(engine) as session:
            rows = session.execute(
                select(TermRollup.term, func.sum(TermRollup.posts)).group_by(TermRollup.term)
            )
            return sorted((term, int(n)) for term, n in rows)

    hubbub("add", "Skates", "skates")
    ingest(engine, settings, workspace_id, [post(n, "rocket skates rule") for n in (1, 2)])
    live = term_rows()
    assert ("rocket", 2) in live and ("#acme", 2) in live
    with transaction(engine) as session:  # as matches recorded before migration 0015
        session.execute(delete(TermRollup))
    hubbub("backfill")
    assert term_rows() == []  # no new match: plain backfill adds nothing
    hubbub("backfill", "--terms")
    assert term_rows() == live
    hubbub("backfill", "--terms")  # a recount, not an addition
    assert term_rows() == live


def test_backfill_authors_recounts_the_author_rollups(
    hubbub: Invoke, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    from sqlalchemy import delete, select
    from sqlalchemy.orm import Session

    from hubbub.listening.models import AuthorRollup
    from hubbub.store.engine import transaction

    def author_rows() -> list[tuple[int, str, int]]:
        with Session(engine) as session:
            rows = session.execute(
                select(AuthorRollup.author_id, AuthorRollup.network, AuthorRollup.posts)
            )
            return sorted((a, network, n) for a, network, n in rows)

    hubbub("add", "Skates", "skates")
    events = [post(n, "rocket skates rule", author=who) for n, who in ((1, "amira"), (2, "bruno"))]
    ingest(engine, settings, workspace_id, [*events, post(3, "skates again")])
    live = author_rows()
    assert sorted(n for _, _, n in live) == [1, 2]
    with transaction(engine) as session:  # as if the rows were lost
        session.execute(delete(AuthorRollup))
    hubbub("backfill")
    assert author_rows() == []  # no new match: plain backfill adds nothing
    hubbub("backfill", "--authors")
    assert author_rows() == live
    hubbub("backfill", "--authors")  # a recount, not an addition
    assert author_rows() == live


def test_edit_rematches_at_once_and_rematch_command(
    hubbub: Invoke, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    hubbub("add", "Skates", "skates")
    hubbub("add", "Other", "other")  # keeps the posts the narrowed rule drops
    ingest(engine, settings, workspace_id, [post(1, "rocket skates"), post(2, "skates other")])
    assert ("Skates", "bluesky:amira:2") in matches(engine, workspace_id)
    edited = hubbub("edit", "Skates", "skates NOT other")
    assert "topic 'Skates' re-matched: posts 2, matched 1" in edited.stdout
    assert ("Skates", "bluesky:amira:2") not in matches(engine, workspace_id)
    assert "re-matched" not in hubbub("edit", "Skates", "--kind", "brand").stdout
    again = hubbub("rematch", "Skates")
    assert "posts 2, matched 1; new matches 1" in again.stdout
    assert "no topic named 'Nope'" in hubbub("rematch", "Nope", code=1).stderr
