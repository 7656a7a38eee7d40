"""`hubbub sentiment [FILE|-]`, `hubbub sentiment train|crossval` and `hubbub eval sentiment`."""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Protocol

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from typer.core import TyperGroup

from hubbub.core.errors import Rejected
from hubbub.enrich.lines import fail, write_labels
from hubbub.enrich.sentiment import data as datasets
from hubbub.enrich.sentiment.evaluate import (
    F64,
    I64,
    SPEED_ROUNDS,
    evaluate_labelled,
    evaluate_rated,
)
from hubbub.enrich.sentiment.evaluate import (
    Scorer as BatchScorer,
)
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
    """Scorer tiers; `ml` needs the optional extra (`pip install hubbub[ml]`)."""

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


class Scorer(Protocol):
    """What the CLI needs from a tier."""

    def predict(self, texts: Sequence[str]) -> tuple[I64, F64]: ...


def _load_ml(default_weights: Path | None, head: Path | None = None) -> Any:
    from hubbub.enrich.sentiment import ml

    try:
        ml.require_ml()
        return ml.load_ml(head or ml.ML_WEIGHTS_PATH, _load(default_weights))
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
    """Print `label<TAB>score` for every input line, in input order (also the group default);
    a blank line is `neutral<TAB>0.0000`."""
    model: Scorer = _load_ml(weights) if tier is Tier.ml else _load(weights)

    def label_batch(batch: list[str]) -> list[tuple[str, float]]:
        labels, scores = model.predict(batch)
        return [
            (LABELS[i], float(s)) if text.strip() else ("neutral", 0.0)  # nothing to score
            for text, i, s in zip(batch, labels, scores, strict=True)
        ]

    write_labels(file, label_batch)


@sentiment_app.command("train")
def train_command(
    data: Annotated[Path, typer.Option(help="The shared sentiment data folder.")] = DEFAULT_DATA,
    out: Annotated[Path | None, typer.Option(help="Where to write the weights.")] = None,
    seed: Annotated[int, typer.Option(help="Shuffling seed.")] = TrainConfig.seed,
    tier: Annotated[Tier, typer.Option(help="Which tier's weights to train.")] = Tier.default,
    cache: Annotated[
        Path | None, typer.Option(help="ml: keep computed embeddings here for the next run.")
    ] = None,
) -> None:
    """Train a tier on the SemEval 2013-2016 pool and write its weights file.

    The `ml` head is stacked on the default weights in use, so train the default tier first.
    """
    config = TrainConfig(seed=seed)
    started = time.perf_counter()
    pool = _pool(data)
    if tier is Tier.ml:
        target = out or _ml_path()
        report = _train_ml(pool, target, cache)
    else:
        target = out or WEIGHTS_PATH
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("training", total=None)

            def tick(step: int, total: int) -> None:
                progress.update(task, completed=step, total=total)

            model = train_default(pool, config, progress=tick)
        model.save(target)
        report = {"config": config.__dict__}
    typer.echo(
        json.dumps(
            {
                "tier": str(tier),
                "rows": len(pool.texts),
                "seconds": round(time.perf_counter() - started, 1),
                "weights": str(target),
                "bytes": target.stat().st_size,
                **report,
            }
        )
    )


def _pool(data: Path) -> datasets.Labelled:
    try:
        return datasets.read_semeval(data / datasets.SEMEVAL_DIR)
    except Rejected as exc:
        raise fail(f"error: {exc.code}: {exc.detail}") from exc


def _ml_path() -> Path:
    from hubbub.enrich.sentiment.ml import ML_WEIGHTS_PATH

    return ML_WEIGHTS_PATH


def _train_ml(pool: datasets.Labelled, out: Path, cache: Path | None) -> dict[str, Any]:
    from hubbub.enrich.sentiment import ml, ml_train

    try:
        ml.require_ml()
    except Rejected as exc:
        raise fail(f"error: {exc.code}: {exc.detail}") from exc
    encoder = ml.embedder()
    embeddings = ml_train.embed_cached(encoder, pool.texts, cache)
    base = default_model()
    head = ml_train.train_head(pool, embeddings, base, ml.weights_digest(base))
    head.save(out)
    return {"config": head.meta["config"], "encoder": encoder.name, "precision": encoder.precision}


@sentiment_app.command("crossval")
def crossval_command(
    data: Annotated[Path, typer.Option(help="The shared sentiment data folder.")] = DEFAULT_DATA,
    folds: Annotated[int, typer.Option(min=2, max=10, help="k for k-fold.")] = 5,
    tier: Annotated[Tier, typer.Option(help="Which tier to check.")] = Tier.default,
    cache: Annotated[
        Path | None, typer.Option(help="ml: keep computed embeddings here for the next run.")
    ] = None,
) -> None:
    """Print held-out figures as JSON: k-fold and the time split (older sets -> twitter-2016test)
    for the default tier; the time split for `ml` (its k-fold would embed the pool k times)."""
    pool = _pool(data)
    if tier is Tier.ml:
        from hubbub.enrich.sentiment import ml, ml_train

        try:
            ml.require_ml()
        except Rejected as exc:
            raise fail(f"error: {exc.code}: {exc.detail}") from exc
        embeddings = ml_train.embed_cached(ml.embedder(), pool.texts, cache)
        typer.echo(json.dumps({"time_split": ml_train.time_split(pool, embeddings)}, indent=2))
        return
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
    tier: Annotated[
        Tier, typer.Option(help="`ml` adds the ml tier beside the default tier and VADER.")
    ] = Tier.default,
    rounds: Annotated[
        int, typer.Option(min=1, max=10, help="Timed rounds per scorer (best one counts).")
    ] = SPEED_ROUNDS,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Our tiers and plain vaderSentiment side by side on the same texts."""
    model = _load(weights)
    extra: dict[str, BatchScorer] = {}
    ml_precision = None
    if tier is Tier.ml:
        ml_model = _load_ml(weights)
        extra["hubbub_ml"] = ml_model.predict
        ml_precision = ml_model.encoder.precision
    try:
        if format is EvalFormat.tweeteval:
            if text is None or labels is None:
                raise fail("error: --format tweeteval needs --text and --labels")
            data = datasets.read_tweeteval(text, labels)
            report = evaluate_labelled(data, model, extra, rounds)
        else:
            if file is None:
                raise fail("error: --format vader needs --file")
            report = evaluate_rated(datasets.read_vader(file), model, extra, rounds)
    except Rejected as exc:
        raise fail(f"error: {exc.code}: {exc.detail}") from exc
    if ml_precision is not None:
        report["ml_precision"] = ml_precision  # the encoder's arithmetic, for recorded figures
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
