"""``hubbub graph export|influencers|mark`` through the real CLI on the test database."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import igraph
import pytest
from sqlalchemy import Engine

from tests.graph.posts import AMIRA, BRUNO, conversation, post_ids, store
from tests.support.cli import Invoke, hubbub_cli
from tests.support.factories import example_post


@pytest.fixture
def hubbub(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    with hubbub_cli(
        db_url, tmp_path / "home", monkeypatch, init=False, env={"COLUMNS": "250"}
    ) as invoke:
        yield invoke


def test_export_both_formats(
    hubbub: Invoke, engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    store(engine, workspace_id, conversation())
    out = tmp_path / "g.graphml"
    result = hubbub("graph", "export", "--workspace", "acme", "--out", str(out))
    assert json.loads(result.output)["edges"] == 4
    assert igraph.Graph.Read_GraphML(str(out)).ecount() == 4
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(map(str, post_ids(engine, workspace_id, {0, 10}))))
    out_csv = tmp_path / "g.csv"
    hubbub("graph", "export", "-w", "acme", "--format", "csv", "--out", str(out_csv),
           "--post-ids", str(ids))  # fmt: skip
    with out_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["source"], r["target"], r["reply"]) for r in rows] == [(BRUNO, AMIRA, "1")]


def test_influencers_and_mark(hubbub: Invoke, engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, conversation())
    ranked = json.loads(hubbub("graph", "influencers", "-w", "acme", "--json").output)
    handles = [p["handle"] for p in ranked["influencers"]]
    assert handles[0] == "amira.bsky.social" and "bruno.bsky.social" in handles
    first = ranked["influencers"][0]["components"]
    assert set(first) == {"reach", "resonance", "relevance", "authority", "authenticity"}
    assert "marked blocked" in hubbub("graph", "mark", "@bruno.bsky.social", "--as", "blocked",
                                      "-w", "acme").output  # fmt: skip
    ranked = json.loads(hubbub("graph", "influencers", "-w", "acme", "--json").output)
    assert "bruno.bsky.social" not in [p["handle"] for p in ranked["influencers"]]
    table = hubbub("graph", "influencers", "-w", "acme", "--limit", "1").output
    assert "amira.bsky.social" in table and "chen" not in table
    hubbub("graph", "mark", "nobody", "--as", "advocate", "-w", "acme", code=2)
    hubbub("graph", "mark", "amira.bsky.social", "--as", "friend", "-w", "acme", code=2)


def test_communities_and_cascades(hubbub: Invoke, engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, conversation())
    found = json.loads(
        hubbub("graph", "communities", "-w", "acme", "--min-size", "1", "--json").output
    )["communities"]
    assert sum(c["size"] for c in found) == 4  # amira, bruno, chen and the mentioned stranger
    assert "amira.bsky.social" in hubbub("graph", "communities", "-w", "acme").output
    listed = json.loads(hubbub("graph", "cascades", "-w", "acme", "--json").output)["cascades"]
    assert len(listed) == 1
    top = listed[0]
    assert (top["starter"], top["size"], top["depth"]) == ("amira.bsky.social", 3, 1)
    # One node per author, by first adoption: Bruno replied before he quoted.
    assert (top["reshares"], top["replies"]) == (1, 1)
    assert "amira.bsky.social" in hubbub("graph", "cascades", "-w", "acme").output


def test_seed_on_workspace(hubbub: Invoke, engine: Engine, workspace_id: int) -> None:
    store(engine, workspace_id, conversation())
    plan = json.loads(
        hubbub("graph", "seed", "-w", "acme", "--k", "1", "--mc-runs", "500", "--json").output
    )
    assert [s["handle"] for s in plan["imm"]["seeds"]] == ["amira.bsky.social"]
    # Chen attends only to Amira (p = 1); Bruno to three accounts (p = 1/3 from Amira and
    # from Chen): 1 + 1 + (1 - (2/3)²) = 2 5/9.
    assert plan["imm"]["expected_reach"] == pytest.approx(2 + 5 / 9, abs=0.1)
    assert plan["top_by_followers"]["seeds"][0]["handle"] == "amira.bsky.social"
    missing = hubbub("graph", "seed", "--json", code=2)
    assert json.loads(missing.output)["error"]["code"] == "missing_field"
    bad = hubbub("graph", "seed", "-w", "acme", "--probabilities", "x", "--json", code=2)
    assert json.loads(bad.output)["error"]["code"] == "bad_probabilities"


def test_seed_leaves_out_flagged_authors_unless_included(
    hubbub: Invoke, engine: Engine, workspace_id: int
) -> None:
    spam = "Follow this link for a giveaway of free rocket skates, today only"
    store(
        engine, workspace_id, conversation() + [example_post(50 + i, text=spam) for i in range(4)]
    )
    args = ["graph", "seed", "-w", "acme", "--k", "1", "--mc-runs", "0", "--json"]
    plan = json.loads(hubbub(*args).output)
    assert plan["imm"]["seeds"][0]["handle"] != "amira.bsky.social"
    assert [(a["handle"], a["flags"]) for a in plan["excluded_flagged"]] == [
        ("amira.bsky.social", ["duplicate_text"])
    ]
    included = json.loads(hubbub(*args, "--include-flagged").output)
    assert included["imm"]["seeds"][0]["handle"] == "amira.bsky.social"
    assert included["excluded_flagged"] == []


def test_seed_on_workspace_within_a_budget(
    hubbub: Invoke, engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    store(engine, workspace_id, conversation())
    first = hubbub("graph", "seed", "-w", "acme", "--k", "1", "--mc-runs", "0", "--json")
    amira = json.loads(first.output)["imm"]["seeds"][0]["author_id"]
    costs = tmp_path / "costs.txt"
    costs.write_text(f"# author cost\n{amira} 9\n")
    args = ["graph", "seed", "-w", "acme", "--k", "1", "--mc-runs", "0", "--json"]
    plan = json.loads(hubbub(*args, "--costs", str(costs), "--budget", "2").output)
    assert plan["budget"] == 2.0 and plan["imm"]["seeds"][0]["author_id"] != amira
    assert plan["imm"]["total_cost"] == 1.0
    alone = hubbub(*args, "--costs", str(costs), code=2)
    assert json.loads(alone.output)["error"]["code"] == "missing_field"
    costs.write_text(f"{amira}\n")
    broken = hubbub(*args, "--costs", str(costs), "--budget", "2", code=2)
    assert json.loads(broken.output)["error"]["code"] == "bad_line"


def test_a_topic_narrows_the_graph_to_the_posts_it_matched(
    hubbub: Invoke, engine: Engine, workspace_id: int, tmp_path: Path
) -> None:
    store(engine, workspace_id, conversation())
    hubbub("topic", "add", "congrats", "congrats", "-w", "acme")
    hubbub("topic", "backfill", "-w", "acme")
    out_csv = tmp_path / "topic.csv"
    hubbub("graph", "export", "-w", "acme", "--format", "csv", "--out", str(out_csv),
           "--topic", "congrats")  # fmt: skip
    with out_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    # The topic matched Bruno's "Congrats on the launch" reply only: one reply edge.
    assert [(r["source"], r["target"], r["reply"]) for r in rows] == [(BRUNO, AMIRA, "1")]
    ranked = json.loads(
        hubbub("graph", "influencers", "-w", "acme", "--topic", "congrats", "--json").output
    )["influencers"]
    assert ranked[0]["handle"] == "amira.bsky.social"
    unknown = hubbub("graph", "influencers", "-w", "acme", "--topic", "nope", code=2)
    assert "no topic 'nope'" in unknown.output and "congrats" in unknown.output
