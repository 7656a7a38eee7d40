"""`hubbub intent classify [FILE|-]`, `hubbub intent train` and `hubbub intent eval [--json]`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hubbub.core.errors import Rejected
from hubbub.enrich.intent.data import DATA_PATH, IntentSet, read_posts
from hubbub.enrich.intent.model import WEIGHTS_PATH, LinearIntent, default_model
from hubbub.enrich.intent.train import TrainConfig, cross_validate, train_default
from hubbub.enrich.lines import fail, write_labels

intent_app = typer.Typer(
    help=(
        "Post intent (question, complaint, praise, purchase_intent, feature_request, "
        "support_request, spam, none): classify lines, rebuild the shipped weights, or "
        "print cross-validated figures."
    ),
    no_args_is_help=True,
    add_completion=False,
)


def _load(weights: Path | None) -> LinearIntent:
    try:
        return LinearIntent.load(weights) if weights else default_model()
    except Rejected as exc:
        raise fail(f"error: {exc.code}: {exc.detail}") from exc


def _data(path: Path) -> IntentSet:
    try:
        return read_posts(path)
    except Rejected as exc:
        raise fail(f"error: {exc.code}: {exc.detail}") from exc


@intent_app.command("classify")
def classify_command(
    file: Annotated[str, typer.Argument(help="Text file, one post a line; `-` reads stdin.")] = "-",
    weights: Annotated[
        Path | None, typer.Option(help="Weights file (default: the shipped one).")
    ] = None,
) -> None:
    """Print `label<TAB>score` (score = the label's probability) per input line, in order."""
    model = _load(weights)
    write_labels(file, lambda batch: [(v.label, v.score) for v in model.classify(batch)])


@intent_app.command("train")
def train_command(
    data: Annotated[Path, typer.Option(help="label<TAB>text file.")] = DATA_PATH,
    out: Annotated[Path, typer.Option(help="Where to write the weights.")] = WEIGHTS_PATH,
    seed: Annotated[int, typer.Option(help="Initialisation seed.")] = TrainConfig.seed,
) -> None:
    """Train on the whole labelled set and write the weights file (deterministic)."""
    config = TrainConfig(seed=seed)
    started = time.perf_counter()
    posts = _data(data)
    model = train_default(posts, config)
    model.save(out)
    typer.echo(
        json.dumps(
            {
                "rows": len(posts.texts),
                "seconds": round(time.perf_counter() - started, 2),
                "weights": str(out),
                "bytes": out.stat().st_size,
                "config": config.__dict__,
            }
        )
    )


@intent_app.command("eval")
def eval_command(
    data: Annotated[Path, typer.Option(help="label<TAB>text file.")] = DATA_PATH,
    folds: Annotated[int, typer.Option(min=2, max=10, help="k for stratified k-fold.")] = 5,
    seed: Annotated[int, typer.Option(help="Fold and initialisation seed.")] = TrainConfig.seed,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Stratified k-fold cross-validation: per-class precision/recall, macro-F1, confusion."""
    posts = _data(data)
    started = time.perf_counter()
    report = cross_validate(posts, TrainConfig(seed=seed), folds)
    report["seconds"] = round(time.perf_counter() - started, 2)
    if as_json:
        typer.echo(json.dumps(report))
        return
    _print_table(report)


def _print_table(report: dict[str, Any]) -> None:
    table = Table(
        title=(
            f"intent, {report['folds']}-fold stratified CV, {report['n']} posts: macro-F1 "
            f"{report['macro_f1']}, accuracy {report['accuracy']}"
        )
    )
    for header in ("label", "precision", "recall", "F1", "support"):
        table.add_column(header, justify="left" if header == "label" else "right")
    for name, row in report["per_class"].items():
        table.add_row(
            name, str(row["precision"]), str(row["recall"]), str(row["f1"]), str(row["support"])
        )
    Console().print(table)
