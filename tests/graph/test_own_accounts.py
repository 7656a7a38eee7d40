"""The workspace's own accounts: in the graph, never in the influencer ranking or seed picks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.core.errors import Rejected
from hubbub.graph.actions import catch_up
from hubbub.graph.campaign import plan_campaign
from hubbub.graph.cascades import stored_cascade
from hubbub.graph.communities import find_communities
from hubbub.graph.influencers import rank_from_posts, rank_influencers, rank_stored
from hubbub.graph.interactions import interaction_graph
from hubbub.graph.queries import find_author
from hubbub.inbox.actions import add_account
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from hubbub.workspaces.queries import OwnAccounts, own_accounts
from tests.graph.posts import AMIRA, BRUNO, conversation, post_ids, store
from tests.graph.test_campaign import audience
from tests.support.factories import BASE_TIME

pytestmark = pytest.mark.db

AS_OF = BASE_TIME + timedelta(days=1)
AMIRA_HANDLE = "amira.bsky.social"


def _register(
    engine: Engine, settings: Settings, workspace_id: int, native_id: str, handle: str
) -> None:
    with transaction(engine) as session:
        add_account(session, settings, workspace_id, "bluesky", native_id, handle)


def _handles(engine: Engine, workspace_id: int) -> dict[str, list[str]]:
    """The ranked handles of both ranking paths (persisted edges, and the posts)."""
    assert catch_up(engine, workspace_id)
    with Session(engine) as session:
        stored = rank_stored(session, workspace_id, limit=100, as_of=AS_OF)
        assert stored is not None
        posts = rank_from_posts(session, workspace_id, limit=100, as_of=AS_OF)
        subset = rank_influencers(session, workspace_id, post_ids(engine, workspace_id, {0, 10}))
    return {
        "stored": [p.handle or "" for p in stored],
        "posts": [p.handle or "" for p in posts],
        "subset": [p.handle or "" for p in subset],
    }


def test_owns_matches_the_id_then_the_handle_on_the_same_network() -> None:
    own = OwnAccounts(
        ids=frozenset({("bluesky", "did:plc:brand")}),
        handles=frozenset({("bluesky", "acme.bsky.social")}),
    )
    assert own.owns("bluesky", "did:plc:brand", None)
    assert own.owns("bluesky", "did:plc:other-id-form", "@ACME.bsky.social")
    assert not own.owns("mastodon", "did:plc:brand", "acme.bsky.social")
    assert not own.owns("bluesky", "did:plc:someone", "someone.bsky.social")
    assert not own.owns("bluesky", "did:plc:someone", "")
    assert not OwnAccounts()


def test_own_account_is_left_out_of_the_ranking_but_stays_in_the_graph(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    store(engine, workspace_id, conversation())
    before = _handles(engine, workspace_id)
    assert all(AMIRA_HANDLE in ranked for ranked in before.values())
    assert before["stored"][0] == AMIRA_HANDLE  # the brand would top its own ranking

    # Registered by its id (its handle typed differently): left out of every ranking path.
    _register(engine, settings, workspace_id, AMIRA, "@Amira-Old-Handle.example")
    after = _handles(engine, workspace_id)
    for path, ranked in after.items():
        assert AMIRA_HANDLE not in ranked, path
        assert ranked == [h for h in before[path] if h != AMIRA_HANDLE], path
    with Session(engine) as session:
        graph = interaction_graph(session, workspace_id, as_of=AS_OF)
        amira = find_author(session, workspace_id, AMIRA_HANDLE)
        assert amira is not None
        assert any(node.author_id == amira.id for node in graph.nodes)
        # Buzz tracing still shows the brand's posts and who spread them.
        root = post_ids(engine, workspace_id, {0})[0]
        cascade = stored_cascade(session, workspace_id, root)
        assert cascade.users[0] == AMIRA_HANDLE and len(cascade.users) > 1


def test_handle_fallback_is_case_insensitive_and_per_workspace(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex", "Globex").id
    store(engine, workspace_id, conversation())
    store(engine, other, conversation())
    # Globex registers an account with Amira's handle (another id form): only Globex drops her.
    _register(engine, settings, other, "did:plc:globexsown0000000000000", "@AMIRA.bsky.social")
    assert AMIRA_HANDLE not in _handles(engine, other)["stored"]
    ours = _handles(engine, workspace_id)
    assert all(ranked[0] == AMIRA_HANDLE for ranked in ours.values())
    with Session(engine) as session:
        assert not own_accounts(session, workspace_id)
        assert own_accounts(session, other)


def test_seed_picks_leave_the_own_account_out(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    store(engine, workspace_id, audience())
    with Session(engine) as session:
        plan = plan_campaign(session, workspace_id, k=1, mc_runs=0)
    assert [s["handle"] for s in plan["imm"]["seeds"]] == [AMIRA_HANDLE]
    nodes = plan["nodes"]

    _register(engine, settings, workspace_id, AMIRA, AMIRA_HANDLE)
    with Session(engine) as session:
        plan = plan_campaign(session, workspace_id, k=3, mc_runs=0)
        for name in ("imm", "top_by_followers", "top_by_pagerank"):
            seeds = [s["handle"] for s in plan[name]["seeds"]]
            assert seeds and AMIRA_HANDLE not in seeds, name
        assert plan["nodes"] == nodes  # still in the diffusion graph: she relays
        amira = find_author(session, workspace_id, AMIRA_HANDLE)
        assert amira is not None
        with pytest.raises(Rejected, match="own accounts") as caught:
            plan_campaign(session, workspace_id, k=1, mc_runs=0, force=[amira.id])
        assert caught.value.code == "own_account"


def test_community_cards_name_the_own_accounts_among_their_members(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    store(engine, workspace_id, conversation())
    with Session(engine) as session:
        before = find_communities(session, workspace_id, as_of=AS_OF, top=1)
    assert before and all(c.own_members == [] for c in before)
    assert AMIRA_HANDLE in {m for c in before for m in c.members}

    # Registered by handle (another id form, other case); Bruno is listed only if he is ours.
    _register(engine, settings, workspace_id, "did:plc:brand-other-form", "@AMIRA.bsky.social")
    with Session(engine) as session:
        found = find_communities(session, workspace_id, as_of=AS_OF, top=1)
    ours = [c for c in found if c.own_members]
    assert len(ours) == 1 and ours[0].own_members == [AMIRA_HANDLE]
    assert ours[0].as_dict()["own_accounts"] == [AMIRA_HANDLE]
    _register(engine, settings, workspace_id, BRUNO, "bruno.bsky.social")
    with Session(engine) as session:
        found = find_communities(session, workspace_id, as_of=AS_OF, top=1)
    owned = {m for c in found for m in c.own_members}
    assert owned == {AMIRA_HANDLE, "bruno.bsky.social"}
    # Own members are named even when they are not among the representatives (top=1).
    assert any(set(c.own_members) - set(c.members) for c in found)
