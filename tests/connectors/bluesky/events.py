"""Helpers shared by the Bluesky connector tests: recorded events and event builders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from hubbub.connectors.bluesky.normalise import normalise_jetstream
from hubbub.core.items import Item, RawEvent
from tests.support.data import shared_path

DID = "did:plc:kvwvcn5iqfooopmyzvb4qzba"
TIME_US = 1_783_175_888_085_434


def recorded_path(name: str) -> Path:
    """One recorded Jetstream capture under shared/data/bluesky/jetstream."""
    path: Path = shared_path("bluesky", "jetstream", name)
    return path


def recorded_lines(name: str) -> list[bytes]:
    """The lines of one recorded Jetstream capture under shared/data/bluesky/jetstream."""
    return [line for line in recorded_path(name).read_bytes().splitlines() if line.strip()]


def commit_event(
    collection: str,
    record: dict[str, Any] | None,
    *,
    operation: str = "create",
    did: str = DID,
    rkey: str = "3mptbyoeyc22k",
    time_us: int = TIME_US,
) -> dict[str, Any]:
    """A Jetstream commit event around ``record``, shaped like the recorded ones."""
    commit: dict[str, Any] = {
        "rev": "3mptbypcq372f",
        "operation": operation,
        "collection": collection,
        "rkey": rkey,
    }
    if record is not None:
        commit["record"] = record
        commit["cid"] = "bafyreiapzyf65cmq55jklpnrihiygze2jmmdqvvkwqeiomd72pbp2iazuu"
    return {"did": did, "time_us": time_us, "kind": "commit", "commit": commit}


def normalise(event: dict[str, Any] | bytes) -> list[Item]:
    """Run the registered normaliser on an event (dict encoded as JSON, bytes as they are)."""
    payload = event if isinstance(event, bytes) else orjson.dumps(event)
    return normalise_jetstream(RawEvent(payload=payload, format="jetstream"))
