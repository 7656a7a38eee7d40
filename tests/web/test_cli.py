"""``serve`` as a user runs it: its own process, settings from HUBBUB_*, loopback only."""

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


def _workers(parent: int) -> list[int]:
    """The server processes ``serve --workers`` started (spawned multiprocessing children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid"))
        if ppid == parent and b"spawn_main" in command:
            found.append(int(entry.name))
    return sorted(found)


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="needs SO_REUSEPORT")
def test_serve_workers_each_listen_and_one_that_dies_is_replaced(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "HUBBUB_HOME": str(tmp_path / "home")}
    env.pop("HUBBUB_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, "--port", str(port), "--workers", "2", "--no-access-log"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal gives it
    )

    def answering(workers: int, gone: int | None = None) -> list[int]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            pids = _workers(process.pid)
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                # SIGKILL lands asynchronously: until then the killed one still counts.
                if len(pids) == workers and gone not in pids and health.status_code == 200:
                    return pids
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"no {workers} answering workers within 60 s")

    try:
        first = answering(2)
        # Each has its own socket on the port: with one gone, the other still answers.
        os.kill(first[0], signal.SIGKILL)
        replaced = answering(2, gone=first[0])
        assert first[0] not in replaced and first[1] in replaced
        for _ in range(20):  # new connections spread over both: every one is answered
            assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: every process of the group gets it
        output, _ = process.communicate(timeout=40)
    assert process.returncode == 0, output.decode()
    assert b"starting another" in output
    assert f"Finished server process [{first[1]}]".encode() in output  # shut down gracefully
    assert b"Traceback" not in output and b"already exists" not in output, output.decode()
    assert _workers(process.pid) == []
