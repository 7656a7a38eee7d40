"""Processes started with multiprocessing's ``spawn`` re-run the ``hubbub`` script, so what it
imports is start-up time for every ingest prepare worker and benchmark child."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    listing = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(listing.split())


def test_the_script_imports_no_command_tree() -> None:
    loaded = _modules_after("from hubbub.cli import main")
    assert not {"hubbub.cli.app", "sqlalchemy", "typer", "fastapi"} & loaded


def test_a_prepare_worker_loads_no_web_app_or_store_migrations() -> None:
    loaded = _modules_after(
        "from hubbub.connectors import load_ingest_plugins\nload_ingest_plugins()"
    )
    assert {"hubbub.connectors.bluesky", "hubbub.listening.stage"} <= loaded
    assert not {"fastapi", "hubbub.web.app", "alembic", "hubbub.inbox.actions"} & loaded
    # It never connects anywhere: the live connectors and their network clients stay out.
    assert (
        not {
            "hubbub.connectors.bluesky.source",
            "hubbub.connectors.mastodon.source",
            "hubbub.connectors.rss.source",
            "hubbub.connectors.hackernews.source",
            "httpx",
            "websockets",
        }
        & loaded
    )


def test_entry_points_load_every_live_connector() -> None:
    loaded = _modules_after("from hubbub.runtime import load_connectors\nload_connectors()")
    assert {
        "hubbub.connectors.bluesky.source",
        "hubbub.connectors.mastodon.source",
        "hubbub.connectors.rss.source",
        "hubbub.connectors.hackernews.source",
    } <= loaded
