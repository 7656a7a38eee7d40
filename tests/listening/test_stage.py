"""The listening stage inside the real Ingestor: matches, keep policy, enrichment, rollups."""

from __future__ import annotations

import pickle
from datetime import timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.core.clock import utcnow
from hubbub.inbox.actions import add_account
from hubbub.listening.actions import rematch_topic, remove_topic, update_topic
from hubbub.listening.models import (
    HourlyRollup,
    HourlyRollupAuthor,
    PostEnrichment,
    Topic,
    TopicMatch,
)
from hubbub.listening.queries import period_figures
from hubbub.listening.stage import listening_stage
from hubbub.posts.models import Interaction, Post
from hubbub.settings import Settings
from hubbub.sources.ingest import Ingestor, Target, normalise_event
from hubbub.sources.stages import ingest_stages
from hubbub.store.engine import transaction
from tests.listening.ingesting import (
    count_matches,
    ingest,
    like,
    matches,
    native,
    post,
    rollups,
    stored,
    topics,
)
from tests.support.factories import BASE_TIME, PERSONAS

SKATES = "Acme rocket skates are wonderful, I love them"


def test_matches_and_rollups_are_stored_once_when_a_batch_comes_twice(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ids = topics(engine, workspace_id, skates='"rocket skates"', globex="globex OR #globex")
    batch = [
        post(1, SKATES, likes=3, replies=1),
        post(2, "Rocket skates broke after one day, terrible", author="bruno"),
        post(3, "Globex anvils and Acme rocket skates", author="chen", hashtags=[]),
        post(4, "Nothing to see here", author="bruno", hashtags=[]),
    ]
    first = ingest(engine, settings, workspace_id, batch)
    once = (matches(engine, workspace_id), rollups(engine, workspace_id))
    second = ingest(engine, settings, workspace_id, batch)

    assert once[0] == {
        ("skates", native(1)),
        ("skates", native(2, "bruno")),
        ("skates", native(3, "chen")),
        ("globex", native(3, "chen")),
    }
    assert (matches(engine, workspace_id), rollups(engine, workspace_id)) == once
    assert first.store.stored == 3 and first.dropped == 1
    assert second.store.stored == 0 and second.store.duplicates == 3
    cells = once[1]
    assert sum(c[0] for k, c in cells.items() if k[0] == "skates") == 3
    assert sum(c[0] for k, c in cells.items() if k[0] == "globex") == 1
    # Engagement is likes + reshares + replies + quotes as the post arrived.
    assert sum(c[3] for k, c in cells.items() if k[0] == "skates") == 4
    assert {k[1] for k in cells} == {BASE_TIME.replace(minute=0)}
    assert count_matches(engine, ids["skates"]) == 3


def test_enrichment_of_matched_posts(engine: Engine, settings: Settings, workspace_id: int) -> None:
    topics(engine, workspace_id, acme="acme")
    ingest(
        engine,
        settings,
        workspace_id,
        [
            post(
                1,
                "I love my Acme skates! $ACME up today https://www.acme.example/shop @bob.bsky.social",
            ),
            post(2, "Die Acme Schuhe sind leider kaputt und der Service antwortet nicht", langs=[]),
            post(3, "no topic here", langs=[]),
        ],
    )
    with Session(engine) as session:
        rows = {
            r.native_id: r
            for r in session.execute(
                select(Post.native_id, PostEnrichment)
                .join(PostEnrichment, PostEnrichment.post_id == Post.id)
                .where(Post.workspace_id == workspace_id)
            )
        }
    assert set(rows) == {native(1), native(2)}
    english = rows[native(1)].PostEnrichment
    assert (english.lang, english.lang_detected) == ("en", False)
    assert english.sentiment_label == "positive" and english.sentiment_score > 0
    assert english.entities == {
        "mentions": ["bob.bsky.social"],
        "hashtags": ["acme"],
        "cashtags": ["ACME"],
        "domains": ["acme.example"],
    }
    german = rows[native(2)].PostEnrichment
    assert (german.lang, german.lang_detected) == ("de", True)
    assert german.sentiment_label == "negative"
    assert isinstance(german.intents, list)


def test_concerned_keeps_matches_and_their_threads_and_counts_the_rest(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    topics(engine, workspace_id, skates="skates")
    root = native(1)
    first = ingest(
        engine,
        settings,
        workspace_id,
        [
            # A reply placed before its parent in the batch is kept all the same.
            post(3, "me too!", author="chen", reply_to=native(2, "bruno"), thread_root=root),
            post(2, "does it come in red?", author="bruno", reply_to=root, thread_root=root),
            post(1, "My new skates arrived"),
            post(4, "unrelated chatter", author="bruno"),
            post(5, "a reply elsewhere", author="chen", reply_to="bluesky:nobody:9"),
            like(6, "at://did:plc:amira0000000000000000000/app.bsky.feed.post/3mptbyoeyc22k"),
        ],
    )
    assert stored(engine, workspace_id) == {root, native(2, "bruno"), native(3, "chen")}
    assert first.dropped == 2
    with Session(engine) as session:  # interactions always pass
        assert session.scalar(select(func.count()).select_from(Interaction)) == 1

    later = ingest(
        engine,
        settings,
        workspace_id,
        [
            post(7, "late reply to the thread", author="bruno", reply_to=native(3, "chen")),
            post(8, "sharing this", author="chen", kind="reshare", reshare_of=root),
            post(9, "quoting it", author="bruno", quote_of=root),
            post(10, "still unrelated", author="chen"),
        ],
    )
    assert later.dropped == 1
    assert {native(7, "bruno"), native(8, "chen"), native(9, "bruno")} <= stored(
        engine, workspace_id
    )
    assert native(10, "chen") not in stored(engine, workspace_id)
    assert matches(engine, workspace_id) == {("skates", root)}


def test_concerned_keeps_posts_addressed_to_the_workspaces_own_accounts(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    topics(engine, workspace_id, skates="skates")
    brand = PERSONAS["amira"]["native_id"]  # Amira's account is the brand's own
    with transaction(engine) as session:
        add_account(session, settings, workspace_id, "bluesky", brand, "@amira.bsky.social")
    result = ingest(
        engine,
        settings,
        workspace_id,
        [
            post(1, "hello there", author="bruno", mentions=[brand]),
            post(2, "thoughts, @Amira.bsky.social?", author="chen"),
            post(3, "replying", author="bruno", reply_to=f"at://{brand}/app.bsky.feed.post/3x"),
            post(4, "unrelated chatter", author="bruno"),
        ],
    )
    assert stored(engine, workspace_id) == {
        native(1, "bruno"),
        native(2, "chen"),
        native(3, "bruno"),
    }
    assert result.dropped == 1
    assert matches(engine, workspace_id) == set()  # kept, yet no topic matched them


def test_keep_all_stores_everything_and_matches_what_matches(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    topics(engine, workspace_id, skates="skates")
    result = ingest(
        engine,
        settings,
        workspace_id,
        [post(1, "skates!"), post(2, "something else", author="bruno")],
        keep="all",
    )
    assert result.dropped == 0
    assert stored(engine, workspace_id) == {native(1), native(2, "bruno")}
    assert matches(engine, workspace_id) == {("skates", native(1))}


def test_a_workspace_without_topics_keeps_everything(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    result = ingest(engine, settings, workspace_id, [post(1, "a"), post(2, "b", author="bruno")])
    assert result.dropped == 0
    assert stored(engine, workspace_id) == {native(1), native(2, "bruno")}
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(TopicMatch)) == 0


def test_topic_changes_apply_without_restarting_the_ingestor(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    topics(engine, workspace_id, brand="acme")
    ingestor = Ingestor(engine, settings.model_copy(update={"keep": "all"}))
    target = Target(workspace_id)
    ingestor.ingest(target, [post(1, "globex is cheaper")])
    assert matches(engine, workspace_id) == set()

    with transaction(engine) as session:
        update_topic(session, workspace_id, "brand", rule="globex OR acme")
    ingestor.ingest(target, [post(2, "globex again")])
    assert matches(engine, workspace_id) == set()  # recorded by the re-match the edit asked for
    with Session(engine) as session:
        assert rematch_topic(session, workspace_id, "brand").done
    assert matches(engine, workspace_id) == {("brand", native(1)), ("brand", native(2))}

    topics(engine, workspace_id, rival="initech")
    ingestor.ingest(target, [post(3, "initech and globex")])
    assert matches(engine, workspace_id) == {
        ("brand", native(1)),
        ("brand", native(2)),
        ("brand", native(3)),
        ("rival", native(3)),
    }

    with transaction(engine) as session:
        update_topic(session, workspace_id, "rival", active=False)
    ingestor.ingest(target, [post(4, "initech only")])
    with transaction(engine) as session:
        remove_topic(session, workspace_id, "brand")
    ingestor.ingest(target, [post(5, "globex and initech")])
    assert matches(engine, workspace_id) == {("rival", native(3))}


def test_rollups_add_up_to_a_direct_count_of_matches(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ids = topics(engine, workspace_id, skates="skates")
    hour = timedelta(hours=1)
    events = []
    for n, author in enumerate(["amira", "bruno", "amira", "chen", "amira", "bruno"] * 3):
        at = BASE_TIME + hour * (n % 4)
        events.append(
            post(n, f"skates {n}", author=author, created_at=at.isoformat(), langs=["en"])
        )
    ingest(engine, settings, workspace_id, events[:7])
    ingest(engine, settings, workspace_id, events[5:])  # overlapping: 2 posts re-delivered
    with Session(engine) as session:
        cells = session.execute(
            select(
                HourlyRollup.hour,
                HourlyRollup.network,
                HourlyRollup.sentiment_label,
                HourlyRollup.lang,
                HourlyRollup.posts,
                HourlyRollup.unique_authors,
            ).where(HourlyRollup.topic_id == ids["skates"])
        ).all()
        direct = session.execute(
            select(
                TopicMatch.created_at,
                Post.author_id,
                PostEnrichment.sentiment_label,
                PostEnrichment.lang,
            )
            .join(Post, Post.id == TopicMatch.post_id)
            .join(PostEnrichment, PostEnrichment.post_id == Post.id)
            .where(TopicMatch.topic_id == ids["skates"])
        ).all()
        assert sum(c.posts for c in cells) == len(direct) == 18
        expected: dict[tuple[object, ...], set[int]] = {}
        for row in direct:
            key = (row.created_at.replace(minute=0), "bluesky", row.sentiment_label, row.lang)
            expected.setdefault(key, set()).add(row.author_id)
        assert {tuple(c[:4]): c.unique_authors for c in cells} == {
            k: len(v) for k, v in expected.items()
        }
        assert {tuple(c[:4]): c.posts for c in cells} == {
            k: sum(
                1
                for r in direct
                if (r.created_at.replace(minute=0), "bluesky", r.sentiment_label, r.lang) == k
            )
            for k in expected
        }
        # Over the whole period an author active in several hours counts once.
        figures = period_figures(session, ids["skates"], BASE_TIME, BASE_TIME + 4 * hour)
        assert figures.posts == 18
        assert figures.unique_authors == 3
        assert session.scalar(select(func.count()).select_from(HourlyRollupAuthor)) == sum(
            len(v) for v in expected.values()
        )
        # Reach: the followers each persona's jsonl line carries are unknown (no counts given).
        assert figures.potential_reach == 0


def test_a_reply_selected_before_its_parent_is_written_is_kept(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """A prepare worker selects batches ahead of the writer; the stage remembers what it kept,
    and what it hands to ``after_store`` survives the trip between processes."""
    topics(engine, workspace_id, skates="skates")
    stage = listening_stage(settings)
    parent = normalise_event(post(1, "new skates"), settings, utcnow())
    reply = normalise_event(
        post(2, "nice!", author="bruno", reply_to=native(1), hashtags=[]), settings, utcnow()
    )
    other = normalise_event(post(3, "unrelated", author="chen", hashtags=[]), settings, utcnow())
    first = stage.select(engine, workspace_id, "jsonl", parent)
    second = stage.select(engine, workspace_id, "jsonl", reply + other)  # nothing stored yet
    assert [i.native_id for i in second.items] == [native(2, "bruno")]  # type: ignore[union-attr]
    assert second.dropped == 1
    assert pickle.loads(pickle.dumps(first.state)) == first.state


def test_every_entry_point_gets_the_stage() -> None:
    assert "listening" in ingest_stages  # registered by hubbub.runtime.load_connectors


def test_a_stored_rule_that_no_longer_parses_is_skipped_not_fatal(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    topics(engine, workspace_id, good="skates")
    with transaction(engine) as session:  # as if stored before a grammar change
        now = utcnow()
        session.add(
            Topic(
                workspace_id=workspace_id,
                name="old",
                kind="other",
                rule="skates AND (",
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
    result = ingest(engine, settings, workspace_id, [post(1, "skates"), post(2, "x", hashtags=[])])
    assert result.store.stored == 1
    assert matches(engine, workspace_id) == {("good", native(1))}
