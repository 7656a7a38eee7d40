"""``serve`` as a user runs it: its own process, settings from HUBBUB_*, loopback only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hubbub.web.cli import is_loopback

SERVE = "import typer; from hubbub.web.cli import serve; typer.run(serve)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_on_127_0_0_1_with_a_fresh_migrated_home(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "HUBBUB_HOME": str(tmp_path / "home")}
    env.pop("HUBBUB_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        response = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert response is not None, "serve did not answer within 20 s"
        assert response.json() == {"status": "ok", "database": "ok"}
        assert response.headers["x-frame-options"] == "DENY"
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=5, follow_redirects=True)
        assert home.status_code == 200 and "No account exists yet" in home.text  # first run
        assert (tmp_path / "home" / "hubbub.db").exists()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}" in output.decode()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.1.2.3", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_only_loopback_addresses_count_as_private(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
