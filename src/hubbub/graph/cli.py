"""Command line for graph features: ``hubbub graph seed|export|influencers|mark``,
``hubbub bench seeding``, ``hubbub bench graph`` and ``hubbub eval virality``."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.core.errors import Rejected
from hubbub.core.options import finite
from hubbub.core.terminal import Column, ListTable
from hubbub.graph.queries import topic_post_ids
from hubbub.graph.seeding.reader import Model
from hubbub.listening.models import Topic
from hubbub.listening.queries import list_topics
from hubbub.store.engine import transaction
from hubbub.workspaces.access import open_store
from hubbub.workspaces.actions import DEFAULT_SLUG

if TYPE_CHECKING:
    from hubbub.graph.communities import Community

YOU = "(you)"
"""After one of the workspace's own accounts in `graph communities` ("your account" on the web)."""

DEFAULT_HIGGS = Path("../shared/data/cascades/higgs")
"""The shared data beside the repository (as `hubbub eval sentiment` finds its data)."""

graph_app = typer.Typer(help="Influence and campaign seeding on interaction graphs.")


@graph_app.callback()
def graph_group() -> None:
    """Influence and campaign seeding on interaction graphs."""


GraphDir = Annotated[
    Path,
    typer.Option(
        "--graph", help="Folder in the IMM format (attribute.txt, graph_ic.inf, graph_lt.inf)."
    ),
]
ModelOpt = Annotated[Model, typer.Option("--model", case_sensitive=False, help="IC or LT.")]
KOpt = Annotated[int, typer.Option("--k", min=1, help="Number of seeds.")]
EpsilonOpt = Annotated[float, typer.Option("--epsilon", help="IMM accuracy (0 < epsilon < 1).")]
SeedOpt = Annotated[
    int, typer.Option("--seed", help="Random seed; the same seed, the same result.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _emit(payload: dict[str, Any], as_json: bool) -> None:
    """Print the result as JSON, or as readable lines."""
    if as_json:
        typer.echo(json.dumps(payload))
        return
    for key, value in payload.items():
        typer.echo(f"{key}: {json.dumps(value)}")


def _fail(exc: Rejected, as_json: bool) -> typer.Exit:
    """Report a refused input the same way for every command (exit code 2)."""
    if as_json:
        typer.echo(json.dumps({"error": {"code": exc.code, "detail": exc.detail}}))
    else:
        typer.echo(f"error: {exc.code}: {exc.detail}", err=True)
    return typer.Exit(code=2)


# --- Workspace commands ---------------------------------------------------------------------


def _open(workspace: str) -> tuple[Engine, int]:
    access = open_store()
    return access.engine, access.workspace_id(workspace)


WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help="Workspace slug.")]


HalfLifeOpt = Annotated[
    float,
    typer.Option(
        "--half-life-days",
        min=0.01,
        max=36_500,
        callback=finite,
        help="An interaction this old weighs half.",
    ),
]
PostIdsOpt = Annotated[
    Path | None,
    typer.Option("--post-ids", help="File of post ids, one a line: only these posts (a topic)."),
]


TopicOpt = Annotated[
    str | None,
    typer.Option("--topic", help="Only the posts this topic matched (see `hubbub topic list`)."),
]


def _selected(
    session: Session, workspace_id: int, path: Path | None, topic: str | None
) -> list[int] | None:
    """The posts to build on: a topic's matches, a file of ids, or (None) every post."""
    if topic is None:
        return _read_ids(path)
    if path is not None:
        raise typer.BadParameter("give --topic or --post-ids, not both")
    topic_id = session.scalar(
        select(Topic.id).where(Topic.workspace_id == workspace_id, Topic.name == topic)
    )
    if topic_id is None:
        known = ", ".join(t.name for t in list_topics(session, workspace_id)) or "none"
        raise typer.BadParameter(f"no topic {topic!r} in this workspace (topics: {known})")
    return topic_post_ids(session, workspace_id, topic_id)


def _topic_id(session: Session, workspace_id: int, topic: str | None) -> int | None:
    """The topic's id, so readers can use its persisted graph (validated by `_selected`)."""
    if topic is None:
        return None
    return session.scalar(
        select(Topic.id).where(Topic.workspace_id == workspace_id, Topic.name == topic)
    )


def _read_ids(path: Path | None) -> list[int] | None:
    if path is None:
        return None
    try:
        return [int(line) for line in path.read_text().split() if line.strip()]
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"--post-ids {path}: {exc}") from None


class ExportFormat(StrEnum):
    graphml = "graphml"
    csv = "csv"


@graph_app.command("seed")
def seed(
    *,
    graph: Annotated[
        Path | None,
        typer.Option(
            "--graph",
            help="Folder in the IMM format (attribute.txt, graph_ic.inf, graph_lt.inf).",
        ),
    ] = None,
    workspace: Annotated[
        str | None,
        typer.Option("--workspace", "-w", help="Seed on this workspace's interaction graph."),
    ] = None,
    post_ids: PostIdsOpt = None,
    topic: TopicOpt = None,
    probabilities: Annotated[
        str,
        typer.Option(
            "--probabilities", help="Workspace IC edges: wc (1/in-degree) or learned (reshares)."
        ),
    ] = "wc",
    model: ModelOpt = Model.IC,
    k: KOpt = 50,
    epsilon: EpsilonOpt = 0.1,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Node ids never to seed, e.g. 3,17.")
    ] = None,
    force: Annotated[
        list[str] | None, typer.Option("--force", help="Node ids to seed whatever happens.")
    ] = None,
    costs: Annotated[
        Path | None,
        typer.Option(
            "--costs",
            help="File of 'node cost' lines (unlisted cost 1); on a workspace, node = author id.",
        ),
    ] = None,
    budget: Annotated[
        float | None, typer.Option("--budget", help="Total cost the seeds may use.")
    ] = None,
    mc_runs: Annotated[
        int, typer.Option("--mc-runs", min=0, help="Monte Carlo check runs; 0 to skip.")
    ] = 10_000,
    fresh_final: Annotated[
        bool,
        typer.Option(
            "--fresh-final",
            help="Sample phase two's RR sets anew (Chen 2018's fix; slower, stricter guarantee).",
        ),
    ] = False,
    include_flagged: Annotated[
        bool,
        typer.Option(
            "--include-flagged",
            help="On a workspace, also seed authors with an authenticity flag (left out by "
            "default and listed under excluded_flagged).",
        ),
    ] = False,
    random_seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Choose campaign seeds with IMM (on a graph folder or a workspace) and check their reach
    by simulation."""
    if graph is None:
        if workspace is None and topic is not None:
            workspace = DEFAULT_SLUG  # `graph seed --topic T` seeds on the default workspace
        if workspace is None:
            raise _fail(Rejected("missing_field", "give --graph DIR or --workspace W"), as_json)
        _seed_workspace(
            workspace, post_ids, topic, probabilities, model, k, epsilon, exclude, force,
            costs, budget, mc_runs, random_seed, as_json, include_flagged=include_flagged,
        )  # fmt: skip
        return
    # Imported here so that `hubbub --help` does not load numba.
    from hubbub.graph.seeding.imm import SeedConstraints, imm
    from hubbub.graph.seeding.reader import load_graph_folder, parse_node_ids, read_costs
    from hubbub.graph.seeding.spread import monte_carlo_spread

    try:
        started = time.perf_counter()
        loaded = load_graph_folder(graph, model)
        read_seconds = time.perf_counter() - started
        if (costs is None) != (budget is None):
            raise Rejected("missing_field", "--costs and --budget go together")
        constraints = SeedConstraints(
            exclude=tuple(parse_node_ids(exclude, loaded.n, what="--exclude")),
            force=tuple(parse_node_ids(force, loaded.n, what="--force")),
            costs=read_costs(costs, loaded.n) if costs is not None else None,
            budget=budget,
        )
        result = imm(
            loaded, k, epsilon, seed=random_seed, constraints=constraints, fresh_final=fresh_final
        )
        check: dict[str, Any] | None = None
        if mc_runs:
            started = time.perf_counter()
            estimate = monte_carlo_spread(loaded, result.seeds, mc_runs, seed=random_seed)
            check = {
                "runs": mc_runs,
                "spread": round(estimate.mean, 3),
                "stderr": round(estimate.stderr, 3),
                "seconds": round(time.perf_counter() - started, 4),
            }
    except Rejected as exc:
        raise _fail(exc, as_json) from None
    _emit(
        {
            "graph": str(graph),
            "model": loaded.model.value,
            "k": k,
            "epsilon": epsilon,
            "seed": random_seed,
            "seeds": result.seeds,
            "estimated_spread": round(result.estimated_spread, 3),
            "monte_carlo": check,
            "seconds": {"read": round(read_seconds, 4), "imm": round(result.seconds, 4)},
            "rr_sets": result.rr_sets,
            "fresh_final": fresh_final,
            "constraints": {
                "exclude": list(constraints.exclude),
                "force": list(constraints.force),
                "budget": budget,
                "total_cost": result.total_cost if budget is not None else None,
                "greedy_rule": result.greedy_rule,
            },
        },
        as_json,
    )


def bench_seeding(
    *,
    graph: GraphDir,
    model: ModelOpt = Model.IC,
    k: KOpt = 50,
    epsilon: EpsilonOpt = 0.1,
    mc_runs: Annotated[
        int, typer.Option("--mc-runs", min=1, help="Monte Carlo runs per seed list.")
    ] = 10_000,
    warm_repeats: Annotated[
        int, typer.Option("--warm-repeats", min=1, help="Warm IMM runs (median reported).")
    ] = 3,
    random_seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Benchmark IMM seeding: time, memory, Monte Carlo spread against degree and PageRank."""
    from hubbub.graph.seeding.bench import run_seeding_bench

    try:
        figures = run_seeding_bench(
            graph, model, k, epsilon, seed=random_seed, mc_runs=mc_runs, warm_repeats=warm_repeats
        )
    except Rejected as exc:
        raise _fail(exc, as_json) from None
    _emit(figures, as_json)


def bench_graph(
    *,
    nodes: Annotated[
        int, typer.Option("--nodes", min=10, help="Authors in the graph.")
    ] = 1_000_000,
    edges: Annotated[
        int, typer.Option("--edges", min=10, help="Distinct author → author edges.")
    ] = 10_000_000,
    leiden_iterations: Annotated[
        int,
        typer.Option(
            "--leiden-iterations", help="Leiden passes (-1: until stable, as `graph communities`)."
        ),
    ] = 2,
    random_seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Benchmark the graph refresh on a generated power-law graph: build, PageRank (ours and
    igraph's), Leiden, influencer ranking; wall and CPU time, peak memory."""
    from hubbub.graph.bench import run_graph_bench

    figures = run_graph_bench(nodes, edges, seed=random_seed, leiden_iterations=leiden_iterations)
    _emit(figures, as_json)


def eval_virality(
    *,
    higgs: Annotated[
        Path,
        typer.Option("--higgs", help="SNAP Higgs folder holding higgs-activity_time.txt.gz."),
    ] = DEFAULT_HIGGS,
    window_minutes: Annotated[
        float, typer.Option("--window-minutes", min=1, help="Early window the features see.")
    ] = 60,
    gap_hours: Annotated[
        float, typer.Option("--gap-hours", min=0.1, help="Silence that ends a cascade.")
    ] = 6,
    top_share: Annotated[
        float, typer.Option("--top-share", min=0.001, max=0.5, help="Share counted as viral.")
    ] = 0.10,
    train_share: Annotated[
        float, typer.Option("--train-share", min=0.1, max=0.9, help="Earliest share trained on.")
    ] = 0.7,
    as_json: JsonOpt = False,
) -> None:
    """Early virality on the Higgs cascades: AUC of the first-hour scorer on a time split."""
    from hubbub.graph.virality import evaluate_higgs

    try:
        report = evaluate_higgs(
            higgs,
            gap_seconds=gap_hours * 3600,
            window_seconds=window_minutes * 60,
            top_share=top_share,
            train_share=train_share,
        )
    except Rejected as exc:
        raise _fail(exc, as_json) from None
    _emit(report, as_json)


@graph_app.command("export")
def export(
    *,
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    export_format: Annotated[
        ExportFormat, typer.Option("--format", help="graphml or csv (one row per edge).")
    ] = ExportFormat.graphml,
    workspace: WorkspaceOpt = DEFAULT_SLUG,
    half_life_days: HalfLifeOpt = 14,
    post_ids: PostIdsOpt = None,
    topic: TopicOpt = None,
) -> None:
    """Write the workspace's interaction graph (author → author, weighted, decayed)."""
    from hubbub.graph.interactions import interaction_graph, summary

    engine, workspace_id = _open(workspace)
    with Session(engine) as session:
        graph = interaction_graph(
            session,
            workspace_id,
            _selected(session, workspace_id, post_ids, topic),
            topic_id=_topic_id(session, workspace_id, topic),
            half_life=timedelta(days=half_life_days),
        )
    from igraph import InternalError

    if out.is_dir():
        raise _fail(Rejected("bad_out", f"cannot write {out}: it is a folder"), as_json=False)
    try:
        if export_format is ExportFormat.graphml:
            graph.write_graphml(out)
        else:
            graph.write_csv(out)
    except (OSError, InternalError) as exc:  # igraph reports a failed write as its own error
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "the write failed"
        raise _fail(Rejected("bad_out", f"cannot write {out}: {why}"), as_json=False) from None
    typer.echo(json.dumps({"out": str(out), "format": export_format.value, **summary(graph)}))


@graph_app.command("refresh")
def refresh(
    *,
    workspace: WorkspaceOpt = DEFAULT_SLUG,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Forget the persisted graph and build it anew.")
    ] = False,
) -> None:
    """Bring the persisted interaction graph up to date now (the pipeline does it every tick)."""
    from hubbub.graph.actions import (
        DEFAULT_BATCH,
        rebuild_interaction_edges,
        update_interaction_edges,
    )

    engine, workspace_id = _open(workspace)
    started = time.perf_counter()
    if rebuild:
        with transaction(engine) as session:
            done = rebuild_interaction_edges(session, workspace_id)
        posts, last = done.posts, done.last_post_id
    else:
        posts = last = 0
        while True:
            with transaction(engine) as session:
                step = update_interaction_edges(session, workspace_id)
            posts, last = posts + step.posts, step.last_post_id
            if step.scanned < DEFAULT_BATCH:
                break
    seconds = round(time.perf_counter() - started, 3)
    typer.echo(json.dumps({"posts": posts, "last_post_id": last, "seconds": seconds}))


@graph_app.command("influencers")
def influencers(
    *,
    workspace: WorkspaceOpt = DEFAULT_SLUG,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many to list.")] = 20,
    half_life_days: HalfLifeOpt = 14,
    post_ids: PostIdsOpt = None,
    topic: TopicOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rank the authors who matter, each score broken into its parts."""
    from hubbub.graph.influencers import rank_influencers

    engine, workspace_id = _open(workspace)
    with Session(engine) as session:
        ranked = rank_influencers(
            session,
            workspace_id,
            _selected(session, workspace_id, post_ids, topic),
            topic_id=_topic_id(session, workspace_id, topic),
            limit=limit,
            half_life=timedelta(days=half_life_days),
        )
    if as_json:
        typer.echo(json.dumps({"influencers": [p.as_dict() for p in ranked]}))
        return
    table = ListTable(
        Column("#", justify="right"),
        Column("author", "label", max_width=64),
        Column("score", justify="right"),
        Column("reach", justify="right"),
        Column("followers", justify="right", optional=5),
        Column("engaged", justify="right", optional=4),
        Column("resonance", justify="right"),
        Column("per post", justify="right", optional=6),
        Column("cascade", justify="right", optional=3),
        Column("relevance", justify="right", optional=2),
        Column("authority", justify="right", optional=1),
        Column("flags", "text"),
    )
    for number, p in enumerate(ranked, start=1):
        table.add_row(
            str(number),
            p.handle or p.native_id,
            f"{p.score:.3f}",
            f"{p.parts['reach_contribution']:.3f}",
            str(p.followers or "?"),
            str(p.engaged_authors),
            f"{p.parts['resonance_contribution']:.3f}",
            f"{p.resonance_per_post:.1f}",
            str(p.cascade_size),
            f"{p.parts['relevance_contribution']:.3f}",
            f"{p.parts['authority_contribution']:.3f}",
            ", ".join(p.flags + [f"[{m}]" for m in p.marks]),
        )
    Console().print(table)


@graph_app.command("mark")
def mark(
    author: Annotated[str, typer.Argument(help="Author handle or native id.")],
    *,
    as_mark: Annotated[
        str, typer.Option("--as", help="advocate, employee, partner, competitor or blocked.")
    ],
    remove: Annotated[bool, typer.Option("--remove", help="Take the mark off.")] = False,
    note: Annotated[str | None, typer.Option("--note", help="Why (kept with the mark).")] = None,
    workspace: WorkspaceOpt = DEFAULT_SLUG,
) -> None:
    """Mark an author (blocked authors are left out of rankings)."""
    from hubbub.graph.actions import mark_author, unmark_author
    from hubbub.graph.queries import find_author

    engine, workspace_id = _open(workspace)
    try:
        with transaction(engine) as session:
            found = find_author(session, workspace_id, author)
            if found is None:
                raise Rejected("unknown_author", f"no author {author!r} in workspace {workspace}")
            if remove:
                changed = unmark_author(session, workspace_id, found.id, as_mark)
                verb = "unmarked" if changed else "was not marked"
            else:
                mark_author(session, workspace_id, found.id, as_mark, note)
                verb = "marked"
    except Rejected as exc:
        raise _fail(exc, False) from None
    typer.echo(f"{found.handle or found.native_id} {verb} {as_mark}")


@graph_app.command("communities")
def communities(
    *,
    workspace: WorkspaceOpt = DEFAULT_SLUG,
    half_life_days: HalfLifeOpt = 14,
    post_ids: PostIdsOpt = None,
    topic: TopicOpt = None,
    resolution: Annotated[
        float, typer.Option("--resolution", min=0.01, help="Higher: more, smaller communities.")
    ] = 1.0,
    min_size: Annotated[int, typer.Option("--min-size", min=1, help="Smallest listed.")] = 2,
    random_seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Leiden communities of the interaction graph, each labelled with what its members say."""
    from hubbub.graph.communities import find_communities

    engine, workspace_id = _open(workspace)
    with Session(engine) as session:
        found = find_communities(
            session,
            workspace_id,
            _selected(session, workspace_id, post_ids, topic),
            topic_id=_topic_id(session, workspace_id, topic),
            half_life=timedelta(days=half_life_days),
            resolution=resolution,
            min_size=min_size,
            seed=random_seed,
        )
    if as_json:
        typer.echo(json.dumps({"communities": [c.as_dict() for c in found]}))
        return
    Console().print(communities_table(found))


def communities_table(found: list[Community]) -> ListTable:
    """One row per community; the workspace's own accounts among the representatives marked
    "(you)", the others of them listed under "your accounts" (as on the Communities page)."""
    others = [[m for m in c.own_members if m not in c.members] for c in found]
    columns = [
        Column("#", justify="right"),
        Column("size", justify="right"),
        Column("authors", "text"),
        *([Column("your accounts", "text")] if any(others) else []),
        Column("hashtags", "text", optional=1),
        Column("terms", "text", optional=2),
        Column("languages", "label", optional=4),
        Column("hours (UTC)", optional=3),
    ]
    table = ListTable(*columns)
    for c, own_others in zip(found, others, strict=True):
        own = set(c.own_members)
        table.add_row(
            str(c.number),
            str(c.size),
            ", ".join(f"{m} {YOU}" if m in own else m for m in c.members),
            *([", ".join(own_others)] if any(others) else []),
            " ".join(f"#{t}" for t, _ in c.hashtags),
            ", ".join(c.terms),
            ", ".join(lang for lang, _ in c.languages),
            ", ".join(f"{h:02d}" for h in c.active_hours_utc),
        )
    return table


@graph_app.command("cascades")
def cascades(
    *,
    workspace: WorkspaceOpt = DEFAULT_SLUG,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many to list.")] = 10,
    post_ids: PostIdsOpt = None,
    topic: TopicOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The biggest reshare/reply cascades of stored posts: shape, timing, who amplified."""
    from hubbub.graph.cascades import largest_cascades, largest_post_cascades
    from hubbub.graph.queries import authors, workspace_posts

    engine, workspace_id = _open(workspace)
    with Session(engine) as session:
        ids = _selected(session, workspace_id, post_ids, topic)
        if post_ids is None:  # the workspace or a topic: only the largest trees are read
            summaries = largest_cascades(
                session, workspace_id, _topic_id(session, workspace_id, topic), limit
            )
        else:
            posts = workspace_posts(session, workspace_id, ids)
            names = {
                a.id: a.handle or a.native_id
                for a in authors(session, {p.author_id for p in posts}).values()
            }
            summaries = largest_post_cascades(posts, names, limit)
    found = [s.as_dict() for s in summaries]
    if as_json:
        typer.echo(json.dumps({"cascades": found}))
        return
    table = ListTable(
        Column("post", "label", max_width=80),
        Column("starter", "label", max_width=64),
        Column("size", justify="right"),
        Column("depth", justify="right", optional=2),
        Column("breadth", justify="right", optional=3),
        Column("virality", justify="right"),
        Column("to half", justify="right", optional=1),
        Column("amplifiers", "text"),
    )
    for s in found:
        table.add_row(
            s["key"],
            s["starter"],
            str(s["size"]),
            str(s["depth"]),
            str(s["max_breadth"]),
            f"{s['structural_virality']:.2f}",
            f"{s['seconds_to_half'] / 60:.0f} min",
            ", ".join(a["user"] for a in s["top_amplifiers"]),
        )
    Console().print(table)


def _seed_workspace(
    workspace: str,
    post_ids: Path | None,
    topic: str | None,
    probabilities: str,
    model: Model,
    k: int,
    epsilon: float,
    exclude: list[str] | None,
    force: list[str] | None,
    costs: Path | None,
    budget: float | None,
    mc_runs: int,
    random_seed: int,
    as_json: bool,
    *,
    include_flagged: bool,
) -> None:
    """`graph seed --workspace`: IMM on the interaction graph, beside followers and PageRank.
    Node ids are author ids here (in --exclude, --force and the --costs file)."""
    from hubbub.graph.campaign import Probabilities, plan_campaign

    def author_ids(values: list[str] | None, what: str) -> list[int]:
        try:
            return [int(v) for item in values or [] for v in item.split(",") if v.strip()]
        except ValueError:
            raise Rejected("bad_number", f"{what} takes author ids, e.g. 3,17") from None

    engine, workspace_id = _open(workspace)
    try:
        if probabilities not in {p.value for p in Probabilities}:
            raise Rejected("bad_probabilities", "--probabilities is wc or learned")
        if (costs is None) != (budget is None):
            raise Rejected("missing_field", "--costs and --budget go together")
        author_costs = _author_costs(costs) if costs is not None else None
        with Session(engine) as session:
            plan = plan_campaign(
                session,
                workspace_id,
                _selected(session, workspace_id, post_ids, topic),
                topic_id=_topic_id(session, workspace_id, topic),
                k=k,
                model=model,
                epsilon=epsilon,
                probabilities=Probabilities(probabilities),
                force=author_ids(force, "--force"),
                exclude=author_ids(exclude, "--exclude"),
                costs=author_costs,
                budget=budget,
                mc_runs=mc_runs,
                seed=random_seed,
                include_flagged=include_flagged,
            )
    except Rejected as exc:
        raise _fail(exc, as_json) from None
    _emit({"workspace": workspace, **plan}, as_json)


def _author_costs(path: Path) -> dict[int, float]:
    """'author_id cost' lines (blank lines and # comments skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise Rejected("missing_file", f"--costs {path}: {exc}") from None
    found: dict[int, float] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        try:
            if len(fields) != 2:
                raise ValueError
            found[int(fields[0])] = float(fields[1])
        except ValueError:
            raise Rejected(
                "bad_line", f"{path.name}:{number}: expected 'author_id cost', got {line!r}"
            ) from None
    return found
