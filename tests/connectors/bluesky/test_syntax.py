"""Identifier checks against the AT Protocol interop lists, directly and inside events."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hubbub.connectors.bluesky.normalise import LIKE, POST
from hubbub.connectors.bluesky.syntax import (
    is_at_uri,
    is_did,
    is_handle,
    is_nsid,
    is_record_key,
    parse_datetime,
)
from hubbub.core.errors import Rejected
from hubbub.core.items import InteractionItem, PostItem
from tests.connectors.bluesky.events import commit_event, normalise
from tests.support.data import shared_path

# Syntactically invalid datetimes we still accept: records written by older SDKs (see
# shared/data/bluesky/records) omit the zone, and reading them as UTC loses nothing.
ZONELESS = {"1985-04-12T23:20:50.123", "1985-04-12T23:20:50"}


def _lines(name: str) -> list[str]:
    text = shared_path("bluesky", "syntax", name).read_text(encoding="utf-8")
    return [line for line in text.split("\n") if line and not line.startswith("#")]


CHECKS: dict[str, Callable[[str], bool]] = {
    "did": is_did,
    "handle": is_handle,
    "nsid": is_nsid,
    "recordkey": is_record_key,
    "aturi": is_at_uri,
}


@pytest.mark.parametrize("kind", sorted(CHECKS))
def test_valid_lists_are_accepted(kind: str) -> None:
    values = _lines(f"{kind}_syntax_valid.txt")
    assert values
    assert [value for value in values if not CHECKS[kind](value)] == []


@pytest.mark.parametrize("kind", sorted(CHECKS))
def test_invalid_lists_are_refused(kind: str) -> None:
    values = _lines(f"{kind}_syntax_invalid.txt")
    assert values
    assert [value for value in values if CHECKS[kind](value)] == []


def test_datetimes() -> None:
    valid = _lines("datetime_syntax_valid.txt")
    assert [value for value in valid if parse_datetime(value) is None] == []
    invalid = _lines("datetime_syntax_invalid.txt") + _lines("datetime_parse_invalid.txt")
    accepted = {value for value in invalid if parse_datetime(value) is not None}
    assert accepted == ZONELESS
    for value in ZONELESS:
        parsed = parse_datetime(value)
        assert parsed is not None
        assert parsed.utcoffset() is not None
        assert parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def _record() -> dict[str, str]:
    return {"$type": POST, "text": "hi", "createdAt": "2026-07-04T14:38:06.240Z"}


def test_invalid_dids_are_rejected_in_events() -> None:
    for did in _lines("did_syntax_invalid.txt"):
        with pytest.raises(Rejected) as caught:
            normalise(commit_event(POST, _record(), did=did))
        assert caught.value.code == "bad_did", did


def test_valid_dids_are_accepted_in_events() -> None:
    for did in _lines("did_syntax_valid.txt"):
        (post,) = normalise(commit_event(POST, _record(), did=did))
        assert isinstance(post, PostItem)
        assert post.author.native_id == did


def test_record_keys_in_events() -> None:
    for rkey in _lines("recordkey_syntax_invalid.txt"):
        with pytest.raises(Rejected) as caught:
            normalise(commit_event(POST, _record(), rkey=rkey))
        assert caught.value.code == "bad_rkey", rkey
    for rkey in _lines("recordkey_syntax_valid.txt"):
        (post,) = normalise(commit_event(POST, _record(), rkey=rkey))
        assert post.native_id.endswith("/" + rkey)  # type: ignore[union-attr]


def test_at_uris_as_like_subjects() -> None:
    def like(uri: str) -> dict[str, object]:
        record = {"$type": LIKE, "createdAt": "2026-07-04T14:38:06Z", "subject": {"uri": uri}}
        return commit_event(LIKE, record)

    for uri in _lines("aturi_syntax_invalid.txt"):
        with pytest.raises(Rejected) as caught:
            normalise(like(uri))
        assert caught.value.code == "bad_uri", uri
    for uri in _lines("aturi_syntax_valid.txt"):
        (item,) = normalise(like(uri))
        assert isinstance(item, InteractionItem)
        assert item.target_post == uri


def test_created_at_syntax_in_events() -> None:
    for value in _lines("datetime_syntax_invalid.txt") + _lines("datetime_parse_invalid.txt"):
        if value in ZONELESS:
            continue
        record = {**_record(), "createdAt": value}
        with pytest.raises(Rejected) as caught:
            normalise(commit_event(POST, record))
        assert caught.value.code == "bad_timestamp", value
