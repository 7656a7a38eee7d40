"""The SSE reader: frames come out the same however the bytes are cut into chunks."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.connectors.mastodon.source import _SSEParser

STREAM = (
    b":)\n"
    b'event: update\ndata: {"id": "1"}\n\n'
    b":thump\n"
    b"event: delete\r\ndata: 1\r\n\r\n"
    b"event: update\ndata: line one\ndata: line two\n\n"
    b"data: no event name\n\n"
    b'event: notification\ndata:{"id":"9"}\n\n'
    b"event: update\ndata: cut off at the end"
)
EXPECTED = [
    ("update", b'{"id": "1"}'),
    ("delete", b"1"),
    ("update", b"line one\nline two"),
    ("message", b"no event name"),
    ("notification", b'{"id":"9"}'),
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_frames_do_not_depend_on_chunking(cuts: list[int]) -> None:
    parser = _SSEParser(limit=1000)
    points = [0, *sorted(cuts), len(STREAM)]
    frames = []
    for start, end in itertools.pairwise(points):
        frames.extend(parser.feed(STREAM[start:end]))
    assert [(f.event, f.data) for f in frames] == EXPECTED


def test_oversized_event_is_passed_on_cut_and_counted() -> None:
    parser = _SSEParser(limit=10)
    frames = parser.feed(b"event: update\ndata: " + b"x" * 50 + b"\n\nevent: update\ndata: ok\n\n")
    assert [(f.event, f.data) for f in frames] == [("update", b"x" * 11), ("update", b"ok")]
    assert parser.dropped == 1


def test_oversized_line_split_across_chunks_is_passed_on_cut() -> None:
    parser = _SSEParser(limit=10)
    frames = parser.feed(b"event: update\ndata: " + b"x" * 30)
    frames += parser.feed(b"x" * 30 + b"\n\nevent: update\ndata: ok\n\n")
    assert [(f.event, f.data) for f in frames] == [("update", b"x" * 11), ("update", b"ok")]
    assert parser.dropped == 1
