"""``hubbub up``: the embedded default — web app, API, every listener and the pipeline in one
process; ``hubbub worker``: the pipeline alone (production, beside ``serve`` and ``listen``)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import typer
import uvicorn

from hubbub.runtime import console, runtime
from hubbub.sources.listener import Listener
from hubbub.web.app import LOOPBACK_HOSTS, create_app, settle_heap
from hubbub.web.cli import is_loopback
from hubbub.worker import Pipeline


def up(
    host: str = typer.Option(
        "127.0.0.1", help="Address to bind (loopback only; `hubbub serve` for more)."
    ),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    demo: bool = typer.Option(False, "--demo", help="Load the demo workspace first (idempotent)."),
) -> None:
    """Serve the web app and listen to every enabled source, until stopped."""
    if not is_loopback(host):
        raise typer.BadParameter(
            "hubbub up binds loopback only; use hubbub serve with HUBBUB_ALLOWED_HOSTS"
        )
    if demo:
        from hubbub.demo.cli import demo as load_demo

        load_demo(workspace="demo", seed=7, days=42, history_days=None)
    rt = runtime()
    sign_in = ""
    if demo:
        from hubbub.demo.load import ensure_demo_owner

        email, password = ensure_demo_owner(rt.engine)
        sign_in = f"\nSign in as {email} with password {password} (new on every --demo start)."
    app = create_app(rt.settings, rt.engine, allowed_hosts=list(LOOPBACK_HOSTS))
    settle_heap()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False
        )
    )
    # One listener for every workspace: it picks up sources added later (web or CLI) by itself.
    listener = Listener(rt.engine, rt.settings, workspace_id=None)

    async def main() -> None:
        # uvicorn handles SIGINT/SIGTERM while it serves; when serve() returns, the listeners
        # stop too. Our handlers (restored by uvicorn afterwards) only set the same event.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        tasks = [asyncio.create_task(listener.run(stop))]
        tasks.append(asyncio.create_task(Pipeline(rt.engine, rt.settings).run(stop)))
        console.print(
            f"Hubbub is up: http://{host}:{port}/  (listening to every enabled source; "
            f"Ctrl-C stops){sign_in}",
            highlight=False,
            markup=False,
        )
        try:
            await server.serve()
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks)

    asyncio.run(main())


def worker(
    interval: float = typer.Option(5.0, min=0.1, help="Seconds between pipeline ticks."),
    once: bool = typer.Option(False, "--once", help="Run one tick, print what it did, exit."),
) -> None:
    """Run the pipeline after the store (search index, inbox, replies, alerts and playbooks,
    webhooks, reports, graph)."""
    rt = runtime()
    pipeline = Pipeline(rt.engine, rt.settings)
    if once:
        result = pipeline.tick()
        console.print(
            f"indexed {result.indexed}, conversations {result.conversations}, "
            f"mentions {result.mentions}, alerts {result.alerts}, "
            f"playbook runs {result.playbook_runs}, replies sent {result.replies_sent}, "
            f"webhooks delivered {result.webhooks_delivered}, reports sent {result.reports_sent}, "
            f"mention mails sent {result.mention_mails_sent}, graph posts {result.graph_posts}",
            highlight=False,
        )
        for job, error in result.errors.items():
            console.print(f"  {job} failed: {error}", highlight=False, markup=False)
        if result.errors:
            raise typer.Exit(1)
        return

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await pipeline.run(stop, interval)

    asyncio.run(main())


def mount(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(worker)
