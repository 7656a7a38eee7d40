"""``hubbub listen``'s status line counts what an import's summary counts."""

from __future__ import annotations

import re

import pytest

from tests.cli.conftest import Invoke
from tests.connectors.bluesky.events import recorded_path
from tests.support.jetstream_server import spawned

pytestmark = pytest.mark.timeout(120)


def _counts(line: str) -> dict[str, int]:
    """``events 149 | accepted 0 | not kept 0 | …`` by the words before each number."""
    parts = (part.strip().rpartition(" ") for part in line.split("|"))
    return {words: int(n) for words, _, n in parts if n.isdigit()}


def test_status_line_counts_every_kind_of_item_like_the_import_summary(
    hubbub: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The capture imported first, then heard again live: its likes, reposts, follows and
    deletes are duplicates as much as its posts are, as ``hubbub import`` would say."""
    monkeypatch.setenv("HUBBUB_ALLOWED_PRIVATE_HOSTS", '["127.0.0.1"]')
    capture = recorded_path("expected_v1.jsonl")
    hubbub("import", str(capture), "--format", "jetstream")
    again = hubbub("import", str(capture), "--format", "jetstream").output
    top = next(line for line in again.splitlines() if line.startswith("events"))
    summary = {word: int(n) for word, n in re.findall(r"(accepted|duplicate|updated) (\d+)", top)}
    assert summary["duplicate"] > 100  # posts are a fifth of it: the rest are interactions
    with spawned(0, seed=0, recorded=capture) as url:
        hubbub("source", "add", "bluesky", "live", "--set", f"url={url}")
        out = hubbub("listen", "--for", "8").output
    final = _counts(out.strip().splitlines()[-1])
    # The server sends only the collections the source asks for; the import refused the rest.
    assert final["rejected"] == 0 and final["events"] > 0
    assert {word: final[word] for word in summary} == summary, out
    outcomes = ("accepted", "duplicate", "updated", "not kept", "rejected")
    assert sum(final[word] for word in outcomes) == final["events"], out
