"""Whatever a hostile or broken server sends, the normaliser answers with items or a reason."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubbub.connectors.bluesky.workload import jetstream_events
from hubbub.core.errors import Rejected
from tests.connectors.bluesky.events import normalise

SEEDS = [orjson.loads(event) for event in jetstream_events(40, seed=9)]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(
        ["did:plc:abc", "at://did:plc:abc/app.bsky.feed.post/3k", "2026-07-04T14:38:06Z"]
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            paths += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths += _paths(child, (*prefix, index))
    return paths


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


def _outcome(payload: bytes) -> tuple[str, str]:
    """("ok", item count) or (reject code, reason); any other exception fails the test."""
    try:
        items = normalise(payload)
    except Rejected as exc:
        return exc.code, exc.detail
    return "ok", str(len(items))


@settings(
    max_examples=250, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.data())
def test_any_mutated_event_is_normalised_or_rejected(data: st.DataObject) -> None:
    event = data.draw(st.sampled_from(SEEDS))
    path = data.draw(st.sampled_from(_paths(event)))
    mutated = _replace(event, path, data.draw(json_values))
    code, detail = _outcome(orjson.dumps(mutated))
    assert code
    assert detail
    if code == "ok":
        assert detail == "1"


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.binary(max_size=300))
def test_any_bytes_are_normalised_or_rejected(payload: bytes) -> None:
    code, detail = _outcome(payload)
    assert code != "ok"
    assert detail
