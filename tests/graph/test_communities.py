"""Leiden communities on stored posts, labelled by hashtags, terms, languages and hours."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.core.items import AuthorRef, Item, PostItem
from hubbub.graph import queries
from hubbub.graph.actions import catch_up
from hubbub.graph.communities import Community, find_communities, terms_of
from hubbub.graph.interactions import stored_graph
from tests.graph.posts import store
from tests.support.factories import BASE_TIME


def _did(name: str) -> str:
    return f"did:plc:{name:0<24}"


def _groups() -> list[Item]:
    """Two groups of four that talk among themselves (skaters in English in the morning,
    cooks in German in the evening), joined by one mention."""
    items: list[Item] = []
    n = 0
    for group, tag, words, lang, hour in (
        ("sk", "skates", "rocket skates wheels", "en", 8),
        ("ck", "kochen", "rezept suppe kartoffel", "de", 19),
    ):
        names = [f"{group}{i}" for i in range(4)]
        for a in names:
            for b in names:
                if a != b:
                    n += 1
                    items.append(
                        PostItem(
                            text=f"@{b} {words} #{tag} https://x.example/{n}",
                            native_id=f"at://{_did(a)}/post/{n}",
                            author=AuthorRef(native_id=_did(a), handle=f"{a}.test"),
                            mentions=(_did(b),),
                            hashtags=(tag,),
                            langs=(lang,),
                            created_at=BASE_TIME.replace(hour=hour) + timedelta(seconds=n),
                        )
                    )
    items.append(
        PostItem(
            text="hello",
            native_id="at://bridge/1",
            author=AuthorRef(native_id=_did("sk0"), handle="sk0.test"),
            created_at=BASE_TIME,
            mentions=(_did("ck0"),),
        )
    )
    return items


def test_terms_of() -> None:
    assert terms_of("The NEW Rocket skates! https://a.b/c @bob #acme 2024 it's great") == [
        "rocket", "skates", "great",
    ]  # fmt: skip


def test_two_groups_found_and_labelled(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, _groups())
    with Session(engine) as session:
        found = find_communities(session, workspace_id, as_of=BASE_TIME + timedelta(days=1))
        again = find_communities(session, workspace_id, as_of=BASE_TIME + timedelta(days=1))
    assert [c.size for c in found] == [4, 4]
    assert [c.as_dict() for c in found] == [c.as_dict() for c in again]  # same seed, same result
    by_tag = {c.hashtags[0][0]: c for c in found}
    skaters, cooks = by_tag["skates"], by_tag["kochen"]
    assert {m.split(".")[0] for m in skaters.members} == {"sk0", "sk1", "sk2", "sk3"}
    assert skaters.members[0] == "sk0.test"  # the bridge makes it the most central
    assert set(skaters.terms[:3]) == {"rocket", "skates", "wheels"}
    assert cooks.languages == [("de", 12)]
    assert cooks.active_hours_utc == [19]
    assert 8 in skaters.active_hours_utc
    # 12 mentions of weight 0.5, decayed by about 1/14 of a half-life; the bridge is outside.
    assert 0.5 * 12 * 0.94 < skaters.internal_weight < 0.5 * 12


def test_stored_graph_labels_come_from_a_bounded_sample(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, _groups())
    when = BASE_TIME + timedelta(days=1)
    with Session(engine) as session:
        from_posts = find_communities(session, workspace_id, as_of=when)
    assert catch_up(engine, workspace_id)
    with Session(engine) as session:
        assert stored_graph(session, workspace_id, as_of=when) is not None
        sampled = find_communities(session, workspace_id, as_of=when)
        narrow = find_communities(session, workspace_id, as_of=when, label_posts=1)
        latest = queries.recent_author_posts(session, workspace_id, [1, 2], 2)

    # Every post fits in the sample here: the same cards as labelling from all posts.
    # (Numbering may differ: ties of size are broken by node order, which differs.)
    def cards(found: list[Community]) -> list[dict[str, object]]:
        return sorted(({**c.as_dict(), "community": 0} for c in found), key=str)

    assert cards(sampled) == cards(from_posts)
    # One post per member: each member's latest; the post counts still cover all posts.
    cooks = next(c for c in narrow if c.hashtags[0][0] == "kochen")
    assert (cooks.sampled_posts, cooks.posts, cooks.languages) == (4, 12, [("de", 4)])
    assert cooks.active_hours_utc == [19]
    by_author: dict[int, list[int]] = {}
    for post in latest:
        by_author.setdefault(post.author_id, []).append(post.id)
    with Session(engine) as session:
        newest = {
            a: sorted(p.id for p in queries.author_posts(session, workspace_id, [a], 10**9))[-2:]
            for a in (1, 2)
        }
    assert {a: sorted(ids) for a, ids in by_author.items()} == newest
