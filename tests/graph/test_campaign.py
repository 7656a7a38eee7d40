"""Seeding a workspace: IMM on the diffusion graph read off stored interactions."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.core.errors import Rejected
from hubbub.core.items import AuthorRef, Item, PostItem
from hubbub.graph.actions import catch_up, mark_author
from hubbub.graph.campaign import Probabilities, plan_campaign
from hubbub.graph.interactions import stored_graph
from hubbub.graph.queries import find_author
from hubbub.graph.seeding.api import Model
from hubbub.store.engine import transaction
from tests.graph.posts import native, store
from tests.support.factories import BASE_TIME, example_post


def _fan(i: int) -> AuthorRef:
    return AuthorRef(native_id=f"did:plc:fan{i:021d}", handle=f"fan{i}.test", followers=10)


CELEB = AuthorRef(native_id="did:plc:celeb0000000000000000", handle="celeb.test", followers=10**5)


def audience() -> list[Item]:
    """Six fans reshare Amira; the celebrity (most followers) gets one reply from fan 0."""
    items: list[Item] = [example_post(0, "amira")]
    items.append(PostItem(native_id="at://celeb/1", author=CELEB, created_at=BASE_TIME, text="hi"))
    for i in range(6):
        items.append(
            PostItem(native_id=f"at://fan{i}/r", author=_fan(i), created_at=BASE_TIME,
                     kind="reshare", reshare_of=native(0))
        )  # fmt: skip
    items.append(
        PostItem(native_id="at://fan0/reply", author=_fan(0), created_at=BASE_TIME,
                 text="Love it", reply_to="at://celeb/1")
    )  # fmt: skip
    return items


def _plan(engine: Engine, workspace_id: int, **options):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return plan_campaign(session, workspace_id, **{"k": 1, "mc_runs": 4000, **options})


def test_imm_beats_followers_weighted_cascade(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, audience())
    plan = _plan(engine, workspace_id)
    assert [s["handle"] for s in plan["imm"]["seeds"]] == ["amira.bsky.social"]
    assert [s["handle"] for s in plan["top_by_followers"]["seeds"]] == ["celeb.test"]
    # Amira reaches herself, fans 1-5 surely and fan 0 with p = 1/2 (fan 0 follows two).
    assert plan["imm"]["expected_reach"] == pytest.approx(6.5, abs=0.05)
    assert plan["top_by_followers"]["expected_reach"] == pytest.approx(1.5, abs=0.05)


def test_learned_probabilities_and_lt(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, audience())
    learned = _plan(engine, workspace_id, probabilities=Probabilities.learned)
    assert learned["imm"]["expected_reach"] == pytest.approx(7.0)  # one post, reshared by all
    lt = _plan(engine, workspace_id, model=Model.LT)
    assert lt["probabilities"] == "lt_attention_share"
    assert [s["handle"] for s in lt["imm"]["seeds"]] == ["amira.bsky.social"]


def test_marks_exclude_and_force(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, audience())
    with transaction(engine) as session:
        amira = find_author(session, workspace_id, "amira.bsky.social")
        celeb = find_author(session, workspace_id, "celeb.test")
        assert amira is not None and celeb is not None
        mark_author(session, workspace_id, amira.id, "competitor")
    plan = _plan(engine, workspace_id)
    assert "amira.bsky.social" not in [s["handle"] for s in plan["imm"]["seeds"]]
    assert "amira.bsky.social" not in [s["handle"] for s in plan["top_by_followers"]["seeds"]]
    forced = _plan(engine, workspace_id, force=[celeb.id])
    assert [s["handle"] for s in forced["imm"]["seeds"]] == ["celeb.test"]
    with pytest.raises(Rejected):
        _plan(engine, workspace_id, force=[10**9])


def test_authors_with_authenticity_flags_are_not_seeded_unless_asked(
    engine: Engine, workspace_id: int
) -> None:
    """Amira, the best seed, posts the same giveaway text four more times: duplicate text."""
    spam = "Follow this link for a giveaway of free rocket skates, today only"
    store(engine, workspace_id, audience() + [example_post(100 + i, text=spam) for i in range(4)])
    with Session(engine) as session:
        amira = find_author(session, workspace_id, "amira.bsky.social")
        assert amira is not None
    plan = _plan(engine, workspace_id)
    for key in ("imm", "top_by_followers", "top_by_pagerank"):
        assert "amira.bsky.social" not in [s["handle"] for s in plan[key]["seeds"]], key
    assert plan["excluded_flagged_count"] == 1
    assert plan["excluded_flagged"] == [
        {"author_id": amira.id, "handle": "amira.bsky.social", "flags": ["duplicate_text"]}
    ]
    for asked in (_plan(engine, workspace_id, include_flagged=True),
                  _plan(engine, workspace_id, force=[amira.id])):  # fmt: skip
        assert [s["handle"] for s in asked["imm"]["seeds"]] == ["amira.bsky.social"]
        assert asked["excluded_flagged_count"] == 0 and asked["excluded"] == plan["excluded"] - 1


def test_costs_and_budget_bound_every_list(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, audience())
    with Session(engine) as session:
        amira = find_author(session, workspace_id, "amira.bsky.social")
        fan1 = find_author(session, workspace_id, "fan1.test")
        assert amira is not None and fan1 is not None
    # Amira is worth 6.5 but costs 3; two seeds within a budget of 2 cannot include her.
    plan = _plan(engine, workspace_id, k=2, costs={amira.id: 3.0}, budget=2.0)
    for key in ("imm", "top_by_followers", "top_by_pagerank"):
        handles = [s["handle"] for s in plan[key]["seeds"]]
        assert "amira.bsky.social" not in handles and plan[key]["total_cost"] <= 2.0
    assert plan["budget"] == 2.0 and plan["imm"]["total_cost"] == 2.0
    roomy = _plan(engine, workspace_id, k=2, costs={amira.id: 3.0}, budget=4.0)
    assert "amira.bsky.social" in [s["handle"] for s in roomy["imm"]["seeds"]]
    assert roomy["imm"]["total_cost"] == 4.0
    for bad in ({"costs": {amira.id: 1.0}}, {"costs": {10**9: 1.0}, "budget": 2.0}):
        with pytest.raises(Rejected):
            _plan(engine, workspace_id, k=2, **bad)
    with pytest.raises(Rejected):  # forcing her costs more than the budget
        _plan(engine, workspace_id, k=2, costs={amira.id: 3.0}, budget=2.0, force=[amira.id])
    cheap = _plan(engine, workspace_id, k=2, costs={fan1.id: 0.5}, budget=1.5)
    assert cheap["imm"]["total_cost"] <= 1.5


def test_no_interactions_refused(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, [example_post(0, "amira"), example_post(1, "bruno")])
    with pytest.raises(Rejected) as refused:
        _plan(engine, workspace_id)
    assert refused.value.code == "empty_graph"


def test_the_persisted_graph_gives_the_same_plans(engine: Engine, workspace_id: int) -> None:
    """With the persisted graph up to date the plan reads the stored edges and a grouped
    count of posts; its figures are those of the graph built from the posts."""
    store(engine, workspace_id, audience())
    from_posts = {p: _plan(engine, workspace_id, probabilities=p) for p in Probabilities}
    assert catch_up(engine, workspace_id)
    with Session(engine) as session:
        assert stored_graph(session, workspace_id) is not None  # so the plan reads the edges
    for probabilities, old in from_posts.items():
        new = _plan(engine, workspace_id, probabilities=probabilities)
        for key in ("nodes", "edges", "k", "excluded"):
            assert new[key] == old[key], key
        for method in ("imm", "top_by_followers", "top_by_pagerank"):
            assert new[method]["seeds"] == old[method]["seeds"], method
        assert new["imm"]["expected_reach"] == pytest.approx(old["imm"]["expected_reach"], abs=0.1)
