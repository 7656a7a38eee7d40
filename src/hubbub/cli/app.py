"""The ``hubbub`` command tree: each group lives in its own module and is mounted here."""

from __future__ import annotations

import typer

from hubbub.accounts.cli import token_app, user_app
from hubbub.alerts.cli import alerts_app, check_topics_with
from hubbub.cli import bench, deadletters, posts, sources, system, up
from hubbub.cli.help import HubbubGroup
from hubbub.demo.cli import demo
from hubbub.enrich.intent.cli import intent_app
from hubbub.enrich.sentiment.cli import eval_sentiment, sentiment_app
from hubbub.graph.cli import bench_graph, bench_seeding, eval_virality, graph_app
from hubbub.inbox.cli import inbox_app
from hubbub.listening.cli import topic_app
from hubbub.listening.links_cli import links_app
from hubbub.listening.queries import topic_names
from hubbub.listening.search_cli import search
from hubbub.measure.cli import business_case_app, goals_app, metrics_app
from hubbub.reports.cli import report_app
from hubbub.runtime import runtime
from hubbub.web.cli import serve
from hubbub.webhooks.cli import webhooks_app
from hubbub.workspaces.access import use_store

use_store(runtime)  # feature commands open the store through hubbub.workspaces.access
check_topics_with(topic_names)  # a playbook's trigger names the workspace's topics only
app = typer.Typer(
    name="hubbub",
    cls=HubbubGroup,  # flags show no `<bool>` placeholder in --help (hubbub.cli.help)
    help="Hubbub: listen to the open networks, engage, measure.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
system.mount(app)
sources.mount(app)
posts.mount(app)
deadletters.mount(app)
bench.mount(app)
up.mount(app)
app.command()(serve)
app.command()(demo)
app.add_typer(graph_app, name="graph")
bench.bench_app.command("seeding")(bench_seeding)
bench.bench_app.command("graph")(bench_graph)
app.add_typer(sentiment_app, name="sentiment")
eval_app = typer.Typer(help="Measured accuracy (figures go to docs/).", no_args_is_help=True)
eval_app.command("sentiment")(eval_sentiment)
eval_app.command("virality")(eval_virality)
app.add_typer(eval_app, name="eval")
app.add_typer(intent_app, name="intent")
app.add_typer(topic_app, name="topic")
app.add_typer(links_app, name="links")
app.command("search")(search)
app.add_typer(alerts_app, name="alerts")

app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(inbox_app, name="inbox")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(report_app, name="report")
app.add_typer(goals_app, name="goals")
app.add_typer(business_case_app, name="business-case")
app.add_typer(metrics_app, name="metrics")
