"""`hubbub sentiment [FILE|-]`, `hubbub sentiment train|crossval` and `hubbub eval sentiment`."""

from __future__ import annotations

import enum
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from typer.core import TyperGroup

from hubbub.core.errors import Rejected
from hubbub.enrich.lines import fail, write_labels
from hubbub.enrich.sentiment import data as datasets
from hubbub.enrich.sentiment.evaluate import evaluate_labelled, evaluate_rated
from hubbub.enrich.sentiment.model import (
    LABELS,
    WEIGHTS_PATH,
    LinearSentiment,
    default_model,
)
from hubbub.enrich.sentiment.train import TrainConfig, cross_validate, train_default

DEFAULT_DATA = Path("../shared/data/sentiment")
SCORE_COMMAND = "score"


class Tier(enum.StrEnum):
    """Scorer tiers; `ml` needs the optional embedding extra, not built yet."""

    default = "default"
    ml = "ml"


class _ScoreByDefault(TyperGroup):
    """Route `hubbub sentiment [FILE|-] [--tier T]` to `score`, keeping `train` a subcommand.

    A click group cannot take an optional positional FILE and subcommands at once (the FILE
    would swallow `train`), so anything that is not a subcommand or help goes to `score`.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # click's Context
        if not args or (args[0] not in self.commands and args[0] != "--help"):
            args = [SCORE_COMMAND, *args]
        return super().parse_args(ctx, args)


sentiment_app = typer.Typer(
    cls=_ScoreByDefault,
    help=(
        "`hubbub sentiment [FILE|-] [--tier default|ml]` prints `label<TAB>score` for each "
        "input line (same as the `score` command); `train` and `crossval` rebuild and check "
        "the shipped weights."
    ),
    no_args_is_help=False,
    add_completion=False,
)
eval_app = typer.Typer(help="Accuracy evaluations.", add_completion=False)


@eval_app.callback()
def _eval_group() -> None:
    """Keep `eval` a group even while `sentiment` is its only evaluation."""


def _load(weights: Path | None) -> LinearSentiment:
    try:
        return LinearSentiment.load(weights) if weights else default_model()
    except Rejected as exc:
        raise fail(f"error: {exc.code}: {exc.detail}") from exc


@sentiment_app.command(SCORE_COMMAND)
def score_command(
    file: Annotated[str, typer.Argument(help="Text file, one post a line; `-` reads stdin.")] = "-",
    tier: Annotated[Tier, typer.Option(help="Scorer tier.")] = Tier.default,
    weights: Annotated[
        Path | None, typer.Option(help="Weights file (default: the shipped one).")
    ] = None,
) -> None:
    """Print `label<TAB>score` for every input line, in input order (also the group default)."""
    if tier is Tier.ml:
        raise fail(
            "error: the `ml` tier is not available yet; use `--tier default` "
            "(the embedding tier will need `pip install hubbub[ml]`)"
        )
    model = _load(weights)

    def label_batch(batch: list[str]) -> list[tuple[str, float]]:
        labels, scores = model.predict(batch)
        return [(LABELS[i], float(s)) for i, s in zip(labels, scores, strict=True)]

    write_labels(file, label_batch)


@sentiment_app.command("train")
def train_command(
    data: Annotated[Path, typer.Option(help="The shared sentiment data folder.")] = DEFAULT_DATA,
    out: Annotated[Path, typer.Option(help="Where to write the weights.")] = WEIGHTS_PATH,
    seed: Annotated[int, typer.Option(help="Shuffling seed.")] = TrainConfig.seed,
) -> None:
    """Train the default tier on the SemEval 2013-2016 pool and write the weights file."""
    config = TrainConfig(seed=seed)
    started = time.perf_counter()
    try:
        pool = datasets.read_semeval(data / datasets.SEMEVAL_DIR)
    except Rejected as exc:
        raise fail(f"error: {exc.code}: {exc.detail}") from exc
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("training", total=None)

        def tick(step: int, total: int) -> None:
            progress.update(task, completed=step, total=total)

        model = train_default(pool, config, progress=tick)
    model.save(out)
    typer.echo(
        json.dumps(
            {
                "rows": len(pool.texts),
                "seconds": round(time.perf_counter() - started, 1),
                "weights": str(out),
                "bytes": out.stat().st_size,
                "config": config.__dict__,
            }
        )
    )


@sentiment_app.command("crossval")
def crossval_command(
    data: Annotated[Path, typer.Option(help="The shared sentiment data folder.")] = DEFAULT_DATA,
    folds: Annotated[int, typer.Option(min=2, max=10, help="k for k-fold.")] = 5,
) -> None:
    """Print k-fold and time-split (older sets -> twitter-2016test) figures as JSON."""
    try:
        pool = datasets.read_semeval(data / datasets.SEMEVAL_DIR)
    except Rejected as exc:
        raise fail(f"error: {exc.code}: {exc.detail}") from exc
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("cross-validating", total=None)

        def tick(step: int, total: int) -> None:
            progress.update(task, completed=step, total=total)

        report = cross_validate(pool, TrainConfig(), folds, progress=tick)
    typer.echo(json.dumps(report, indent=2))


class EvalFormat(enum.StrEnum):
    """Layouts `hubbub eval sentiment` reads."""

    tweeteval = "tweeteval"
    vader = "vader"


@eval_app.command("sentiment")
def eval_sentiment(
    format: Annotated[EvalFormat, typer.Option("--format", help="Input layout.")],
    text: Annotated[Path | None, typer.Option(help="tweeteval: one text a line.")] = None,
    labels: Annotated[Path | None, typer.Option(help="tweeteval: one label a line.")] = None,
    file: Annotated[Path | None, typer.Option(help="vader: id<TAB>rating<TAB>text.")] = None,
    weights: Annotated[Path | None, typer.Option(help="Weights (default: shipped).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Our default tier and plain vaderSentiment side by side on the same texts."""
    model = _load(weights)
    try:
        if format is EvalFormat.tweeteval:
            if text is None or labels is None:
                raise fail("error: --format tweeteval needs --text and --labels")
            report = evaluate_labelled(datasets.read_tweeteval(text, labels), model)
        else:
            if file is None:
                raise fail("error: --format vader needs --file")
            report = evaluate_rated(datasets.read_vader(file), model)
    except Rejected as exc:
        raise fail(f"error: {exc.code}: {exc.detail}") from exc
    if as_json:
        typer.echo(json.dumps(report))
        return
    _print_table(report)


def _print_table(report: dict[str, Any]) -> None:
    columns = {
        "accuracy": "accuracy",
        "macro_recall": "macro R",
        "macro_f1": "macro F1",
        "pearson_r": "Pearson r",
        "posts_per_s": "posts/s",
    }
    table = Table(title=f"sentiment, {report['format']} format, {report['n']} texts")
    table.add_column("scorer", no_wrap=True)
    for header in columns.values():
        table.add_column(header, justify="right", no_wrap=True)
    for name, figures in report["scorers"].items():
        table.add_row(name, *(str(figures.get(c, "")) for c in columns))
    Console().print(table)
