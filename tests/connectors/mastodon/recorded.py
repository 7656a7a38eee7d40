"""Recorded Mastodon responses (VCR cassettes from Mastodon.py) read from the shared data folder."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.support.data import shared_path

# libyaml's loader when present: the pure-Python one needs seconds for these 3.5 MB
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Recorded:
    """One request/response pair of a cassette."""

    cassette: str
    method: str
    uri: str
    status: int
    body: str


def cassette_dir() -> Path:
    return shared_path("mastodon", "recorded_responses")


@cache
def _load(folder: str) -> tuple[Recorded, ...]:
    found: list[Recorded] = []
    for path in sorted(Path(folder).glob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        for interaction in data["interactions"]:
            body = interaction["response"]["body"]["string"]
            if isinstance(body, bytes):
                body = body.decode("utf-8")
            found.append(
                Recorded(
                    cassette=path.stem,
                    method=interaction["request"]["method"],
                    uri=interaction["request"]["uri"],
                    status=interaction["response"]["status"]["code"],
                    body=body,
                )
            )
    return tuple(found)


def interactions() -> tuple[Recorded, ...]:
    return _load(str(cassette_dir()))


def recorded_statuses() -> list[dict[str, Any]]:
    """Every distinct real status (by uri) found in single-status and context responses."""
    seen: dict[str, dict[str, Any]] = {}
    for rec in interactions():
        if rec.status != 200 or "/api/v1/statuses/" not in rec.uri or rec.uri.endswith("/history"):
            continue
        data = json.loads(rec.body)
        found = (
            data.get("ancestors", []) + data.get("descendants", [])
            if "ancestors" in data
            else [data]
        )
        for status in found:
            if isinstance(status, dict) and "uri" in status:
                seen.setdefault(status["uri"], status)
    return list(seen.values())


def recorded_notifications() -> list[dict[str, Any]]:
    for rec in interactions():
        if rec.uri.endswith("/api/v1/notifications"):
            return list(json.loads(rec.body))
    raise AssertionError("no recorded notifications")


def timeline_of(count: int, first_id: int = 1001) -> list[dict[str, Any]]:
    """``count`` real statuses with fresh ascending ids (and uris made unique to match).

    The cassettes hold only a dozen distinct statuses; replaying them as a longer timeline
    needs ids that sort, so only ``id`` and ``uri`` are rewritten — the rest is as recorded.
    """
    real = recorded_statuses()
    out = []
    for n in range(count):
        status = copy.deepcopy(real[n % len(real)])
        local_id = str(first_id + n)
        status["id"] = local_id
        status["uri"] = f"{status['uri']}/replay/{local_id}"
        status["in_reply_to_id"] = None
        status["reblog"] = None
        out.append(status)
    return out
