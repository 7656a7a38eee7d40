"""The interaction graph from stored posts: edges by kind, decay, topic subsets, exports."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import igraph
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.graph.interactions import DEFAULT_WEIGHTS, decay, interaction_graph
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace
from tests.graph.posts import AMIRA, BRUNO, CHEN, STRANGER, conversation, post_ids, store
from tests.support.factories import BASE_TIME

AS_OF = BASE_TIME + timedelta(days=14)
HALF = timedelta(days=14)


def _edges(engine: Engine, workspace_id: int, ids: list[int] | None = None):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        graph = interaction_graph(session, workspace_id, ids, half_life=HALF, as_of=AS_OF)
    named = {
        (graph.nodes[u].key[1], graph.nodes[v].key[1]): edge for (u, v), edge in graph.edges.items()
    }
    return graph, named


def test_edges_by_kind_with_decay(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, conversation())
    graph, edges = _edges(engine, workspace_id)
    assert set(edges) == {(BRUNO, AMIRA), (CHEN, AMIRA), (BRUNO, CHEN), (BRUNO, STRANGER)}
    bruno_amira = edges[(BRUNO, AMIRA)]
    assert bruno_amira.counts == {"reply": 1, "mention": 0, "reshare": 0, "quote": 1}
    expected = DEFAULT_WEIGHTS["reply"] * decay(AS_OF - (BASE_TIME + timedelta(minutes=10)), HALF)
    expected += DEFAULT_WEIGHTS["quote"] * decay(AS_OF - (BASE_TIME + timedelta(minutes=30)), HALF)
    assert bruno_amira.weight == pytest.approx(expected)
    assert bruno_amira.weight == pytest.approx(0.5 * 2.5, rel=1e-3)  # about one half-life old
    chen_amira = edges[(CHEN, AMIRA)]
    assert chen_amira.counts["reshare"] == 1 and chen_amira.counts["mention"] == 1
    stranger = graph.nodes[graph.index[("bluesky", STRANGER)]]
    assert stranger.author_id is None  # mentioned, never seen: a node without an author
    assert graph.nodes[graph.index[("bluesky", AMIRA)]].followers == 1200


def test_decay_halves_per_half_life() -> None:
    assert decay(timedelta(days=28), HALF) == pytest.approx(0.25)
    assert decay(timedelta(days=-1), HALF) == 1.0


def test_subset_of_posts_and_workspace_isolation(engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, conversation())
    with transaction(engine) as session:
        other = ensure_workspace(session, "other", "Other").id
    store(engine, other, conversation()[:2])
    _, edges = _edges(engine, workspace_id, post_ids(engine, workspace_id, {0, 20}))
    assert set(edges) == {(CHEN, AMIRA)}  # only Chen's reshare is in the set
    _, other_edges = _edges(engine, other)
    assert set(other_edges) == {(BRUNO, AMIRA)}
    assert other_edges[(BRUNO, AMIRA)].counts["reply"] == 1


def test_exports(engine: Engine, workspace_id: int, tmp_path: Path) -> None:
    store(engine, workspace_id, conversation())
    graph, _ = _edges(engine, workspace_id)
    graph.write_graphml(tmp_path / "g.graphml")
    loaded = igraph.Graph.Read_GraphML(str(tmp_path / "g.graphml"))
    assert (loaded.vcount(), loaded.ecount()) == (4, 4)
    assert sorted(loaded.es["weight"]) == pytest.approx(
        sorted(e.weight for e in graph.edges.values())
    )
    graph.write_csv(tmp_path / "g.csv")
    with (tmp_path / "g.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    row = next(r for r in rows if r["source"] == BRUNO and r["target"] == AMIRA)
    assert (row["reply"], row["quote"], row["source_handle"]) == ("1", "1", "bruno.bsky.social")
