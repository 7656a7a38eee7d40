"""``hubbub serve``: the web app and API on uvicorn, on 127.0.0.1 unless told otherwise.

Everything but sign-in needs an account; the Host header must be one of
``HUBBUB_ALLOWED_HOSTS`` (loopback names by default), so serving other addresses also needs
that setting.

With ``--workers N`` each process listens on its own ``SO_REUSEPORT`` socket, so the kernel
spreads new connections over the processes. On uvicorn's one shared socket, whichever process
wakes first accepts every pending connection: 50 kept-alive clients could all land on one
process, which then served all of them while the others idled (seen in ``hubbub bench web``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import multiprocessing
import signal
import socket
import time
from types import FrameType
from typing import Annotated, Any

import typer
import uvicorn

from hubbub.runtime import err_console, runtime
from hubbub.web.app import create_app, settle_heap


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes (one per core is typical).")
    ] = 1,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request.")
    ] = True,
) -> None:
    """Serve the web app and JSON API (sign-in required; first run: /setup)."""
    rt = runtime()
    if not is_loopback(host) and all(is_loopback(h) for h in rt.settings.allowed_hosts):
        err_console.print(
            f"[bold yellow]warning:[/] serving on {host}, but HUBBUB_ALLOWED_HOSTS names only "
            "loopback hosts: set it to the host name clients use, or they get 400.",
            highlight=False,
        )
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "proxy_headers": False,
        "server_header": False,
        "log_level": "info",
        "access_log": access_log,
    }
    if workers > 1 and hasattr(socket, "SO_REUSEPORT"):
        _serve_reusing_port(workers, options)
        return
    if workers > 1:
        # Each worker process builds its own app (and engine) from the HUBBUB_* settings.
        uvicorn.run(APP_FACTORY, factory=True, workers=workers, **options)
        return
    app = create_app(rt.settings, rt.engine)
    settle_heap()
    uvicorn.run(app, **options)


APP_FACTORY = "hubbub.web.app:app_from_environment"
RESTART_PAUSE_SECONDS = 1.0


def _listening_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _name, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(options: dict[str, Any]) -> None:
    """One server process: its own socket on the shared port, its own app and engine."""
    sock = _listening_socket(options["host"], options["port"])
    config = uvicorn.Config(APP_FACTORY, factory=True, **options)
    # Ctrl-C reaches the whole process group; uvicorn shuts down cleanly, then re-raises it.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[sock])


def _serve_reusing_port(workers: int, options: dict[str, Any]) -> None:
    """Run ``workers`` processes until SIGINT or SIGTERM; one that dies is started again."""
    _listening_socket(options["host"], options["port"]).close()  # fail early if taken
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(_signal: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    def started() -> multiprocessing.process.BaseProcess:
        # Ctrl-C reaches the whole process group: a worker still importing would die with a
        # traceback. It starts with SIGINT ignored (kept across exec) until uvicorn installs its
        # own handler; this process stops the workers in any case.
        process = context.Process(target=_worker, args=(options,))
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process.start()
        finally:
            signal.signal(signal.SIGINT, stop)
        return process

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes: list[multiprocessing.process.BaseProcess] = []
    try:
        for _ in range(workers):
            processes.append(started())
        while not stopping:
            time.sleep(0.2)
            for index, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    err_console.print(
                        f"server process {process.pid} exited ({process.exitcode}); "
                        "starting another",
                        highlight=False,
                    )
                    time.sleep(RESTART_PAUSE_SECONDS)
                    processes[index] = started()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # uvicorn shuts down gracefully on SIGTERM
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
