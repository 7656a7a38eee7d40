"""Command line for graph features: ``hubbub graph seed`` and ``hubbub bench seeding``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from hubbub.core.errors import Rejected
from hubbub.graph.seeding.reader import Model

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


@graph_app.command("seed")
def seed(
    *,
    graph: GraphDir,
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
        Path | None, typer.Option("--costs", help="File of 'node cost' lines (unlisted cost 1).")
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
    random_seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Choose campaign seeds on a graph folder with IMM and check their reach by simulation."""
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
