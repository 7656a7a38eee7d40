"""``hubbub serve``: the web app and API on uvicorn, on 127.0.0.1 unless told otherwise.

Everything but sign-in needs an account; the Host header must be one of
``HUBBUB_ALLOWED_HOSTS`` (loopback names by default), so serving other addresses also needs
that setting.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

import typer
import uvicorn

from hubbub.runtime import err_console, runtime
from hubbub.web.app import create_app


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
    if workers > 1:
        # Each worker process builds its own app (and engine) from the HUBBUB_* settings.
        uvicorn.run("hubbub.web.app:app_from_environment", factory=True, workers=workers, **options)
        return
    uvicorn.run(create_app(rt.settings, rt.engine), **options)
