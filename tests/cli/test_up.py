"""``hubbub up`` as a user runs it: one process serving the web app while listening."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.jetstream_server import spawned

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 300

pytestmark = pytest.mark.timeout(180)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(up: subprocess.Popen[bytes]) -> str:
    """Stop ``hubbub up`` as Ctrl-C does and return what it printed; killed (its whole process
    group) if it does not stop, or if the test is interrupted meanwhile (pytest-timeout)."""
    up.send_signal(signal.SIGINT)
    try:
        return up.communicate(timeout=30)[0].decode()
    except subprocess.TimeoutExpired:
        os.killpg(up.pid, signal.SIGKILL)
        return up.communicate()[0].decode() + "\n(did not stop on SIGINT)"
    except BaseException:
        os.killpg(up.pid, signal.SIGKILL)
        up.wait()
        raise


def test_up_serves_and_listens_then_stops_on_sigint(db_url: str, tmp_path: Path) -> None:
    env = dict(
        os.environ,
        HUBBUB_HOME=str(tmp_path / "home"),
        HUBBUB_DATABASE_URL=db_url,
        HUBBUB_ALLOWED_PRIVATE_HOSTS='["127.0.0.1"]',
    )
    with spawned(EVENTS, seed=5) as url:
        subprocess.run(
            [sys.executable, "-m", "hubbub", "init", "--workspace", "brand"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "hubbub",
                "source",
                "add",
                "bluesky",
                "live",
                "--workspace",
                "brand",
                "--set",
                f"url={url}",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        token = subprocess.run(
            [
                sys.executable,
                "-m",
                "hubbub",
                "token",
                "create",
                "--workspace",
                "brand",
                "--role",
                "viewer",
                "--name",
                "test",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        auth = {"Authorization": f"Bearer {token}"}
        port = _free_port()
        up = subprocess.Popen(
            [sys.executable, "-m", "hubbub", "up", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so _stop can kill all of it
        )
        try:
            seen: set[str] = set()
            deadline = time.monotonic() + 120
            while len(seen) < EVENTS and time.monotonic() < deadline:
                time.sleep(0.5)
                try:
                    page = httpx.get(
                        f"http://127.0.0.1:{port}/api/v1/w/brand/posts",
                        params={"limit": 500},
                        headers=auth,
                        timeout=5,
                    )
                except httpx.TransportError:
                    continue
                if page.status_code == 200:
                    seen = {item["native_id"] for item in page.json()["items"]}
            assert len(seen) == EVENTS
            html = httpx.get(f"http://127.0.0.1:{port}/w/brand/posts", headers=auth, timeout=5)
            assert html.status_code == 200
            assert "bluesky" in html.text
            anonymous = httpx.get(f"http://127.0.0.1:{port}/w/brand/posts", timeout=5)
            assert anonymous.status_code == 303  # to the sign-in page
        finally:
            output = _stop(up)
        assert up.returncode == 0, output


def test_up_with_the_demo_loads_it_and_prints_a_way_in(tmp_path: Path) -> None:
    """The quick start's own command: the demo loaded (history included), then served."""
    env = dict(os.environ, HUBBUB_HOME=str(tmp_path / "home"))
    env.pop("HUBBUB_DATABASE_URL", None)  # the embedded default, as the quick start runs it
    port, network_port = _free_port(), _free_port()
    up = subprocess.Popen(
        [
            *(sys.executable, "-m", "hubbub", "up", "--demo", "--port", str(port)),
            *("--demo-network-port", str(network_port)),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so _stop can kill all of it
    )
    try:
        status = None
        deadline = time.monotonic() + 150
        while status != 200 and time.monotonic() < deadline and up.poll() is None:
            time.sleep(1)
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code
            except httpx.TransportError:
                continue
        assert status == 200
        # The stand-in for the brand's Mastodon server, where inbox replies go.
        network = httpx.get(f"http://127.0.0.1:{network_port}/", timeout=5)
        assert network.status_code == 200 and "Nothing received yet" in network.text
    finally:
        output = _stop(up)
    assert up.returncode == 0, output
    assert "Demo workspace demo ready" in output and "password" in output, output
    assert f"http://127.0.0.1:{network_port}/" in output.replace("\n", ""), output
