"""``hubbub up``: the embedded default — web app, API, every listener and the pipeline in one
process; ``hubbub worker``: the pipeline alone (production, beside ``serve`` and ``listen``)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading

import typer
import uvicorn
from sqlalchemy import Engine

from hubbub.runtime import console, fail, runtime
from hubbub.settings import Settings
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
    demo_network_port: int | None = typer.Option(
        None,
        min=1,
        max=65535,
        help="With --demo: port of the local stand-in for the brand's Mastodon server "
        "(default: --port + 1).",
    ),
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
    settings = rt.settings
    sign_in = ""
    network_server: uvicorn.Server | None = None
    if demo:
        from hubbub.demo.load import ensure_demo_owner

        email, password = ensure_demo_owner(rt.engine)
        sign_in = (
            f"\nSign in as {email} with one-time password {password} (new on every --demo "
            "start); you then choose your own."
        )
        net_port = demo_network_port or (port + 1 if port < 65535 else port - 1)
        network_server, settings = _demo_network(rt.engine, settings, net_port)
        sign_in += (
            f"\nReplies from the inbox to Mastodon posts go to a local stand-in server: "
            f"http://127.0.0.1:{net_port}/ shows what it received."
        )
    app = create_app(settings, rt.engine, allowed_hosts=list(LOOPBACK_HOSTS))
    settle_heap()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False
        )
    )
    # One listener for every workspace: it picks up sources added later (web or CLI) by itself.
    listener = Listener(rt.engine, settings, workspace_id=None)

    async def main() -> None:
        # uvicorn handles SIGINT/SIGTERM while it serves; when serve() returns, the listeners
        # stop too. Our handlers (restored by uvicorn afterwards) only set the same event.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        tasks = [asyncio.create_task(listener.run(stop))]
        tasks.append(asyncio.create_task(Pipeline(rt.engine, settings).run(stop)))
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
            if network_server is not None:
                network_server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks)

    asyncio.run(main())


def _demo_network(engine: Engine, settings: Settings, port: int) -> tuple[uvicorn.Server, Settings]:
    """Start the demo's stand-in Mastodon server in a thread and connect the demo account to
    it; returns the server and the settings that allow Hubbub to reach it (that port alone)."""
    from hubbub.demo.network import connect_demo_account, demo_network_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise fail(
            f"port {port} for the demo network is taken ({exc.strerror}); "
            "choose one with --demo-network-port"
        ) from None
    base = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(
        update={"allowed_private_hosts": [*settings.allowed_private_hosts, f"127.0.0.1:{port}"]}
    )
    network = connect_demo_account(engine, settings, base)
    server = uvicorn.Server(
        uvicorn.Config(
            demo_network_app(network),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            server_header=False,
        )
    )
    # In a thread: uvicorn leaves signals to the main thread's server, which stops this one.
    threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="demo-network", daemon=True
    ).start()
    return server, settings


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
