"""``hubbub serve``: the web app and API on uvicorn, on 127.0.0.1 unless told otherwise.

There are no accounts yet, so anything that can reach the port reads every workspace; binding
another address needs ``--host`` and prints a warning.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer
import uvicorn

from hubbub.runtime import err_console, runtime
from hubbub.web.app import LOOPBACK_HOSTS, create_app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; keep 127.0.0.1 until accounts exist.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
) -> None:
    """Serve the web app and JSON API (read-only, no login yet)."""
    rt = runtime()
    if is_loopback(host):
        allowed: list[str] = list(LOOPBACK_HOSTS)
    else:
        err_console.print(
            f"[bold yellow]warning:[/] serving on {host}: there is no login yet, so everyone "
            "who can reach this address can read every workspace.",
            highlight=False,
        )
        allowed = ["*"]
    app = create_app(rt.settings, rt.engine, allowed_hosts=allowed)
    uvicorn.run(
        app, host=host, port=port, proxy_headers=False, server_header=False, log_level="info"
    )
