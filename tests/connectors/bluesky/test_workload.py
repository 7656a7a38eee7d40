"""The synthetic Jetstream workload: deterministic, distinct, ordered, and really normalisable."""

from __future__ import annotations

import itertools
from collections import Counter

import orjson

from hubbub.connectors.bluesky.workload import DEFAULT_START_US, jetstream_events, tid
from hubbub.core.items import PostItem
from tests.connectors.bluesky.events import normalise


def test_deterministic_for_a_seed() -> None:
    assert jetstream_events(300, seed=7) == jetstream_events(300, seed=7)
    assert jetstream_events(300, seed=7) != jetstream_events(300, seed=8)


def test_distinct_ordered_and_varied() -> None:
    events = jetstream_events(3000, seed=1, start_time_us=DEFAULT_START_US)
    assert len(events) == 3000
    parsed = [orjson.loads(event) for event in events]
    times = [event["time_us"] for event in parsed]
    assert times[0] > DEFAULT_START_US
    assert all(a < b for a, b in itertools.pairwise(times))
    uris = {(e["did"], e["commit"]["rkey"]) for e in parsed}
    assert len(uris) == 3000
    assert len({e["did"] for e in parsed}) > 500

    posts = [normalise(event)[0] for event in events]
    assert all(isinstance(post, PostItem) for post in posts)
    features: Counter[str] = Counter()
    for post in posts:
        assert isinstance(post, PostItem)
        features["reply"] += post.reply_to is not None
        features["quote"] += post.quote_of is not None
        features["mention"] += bool(post.mentions)
        features["link"] += bool(post.links)
        features["tag"] += bool(post.hashtags)
        for kind in set(post.media):
            features[kind] += 1
        features[post.langs[0]] += 1
    for name in ("reply", "quote", "mention", "link", "tag", "image", "external", "video"):
        assert features[name] > 30, (name, features)
    assert features["en"] < 3000 * 0.8
    lengths = sorted(len(post.text) for post in posts)  # type: ignore[union-attr]
    assert 20 < lengths[len(lengths) // 2] < 300


def test_facet_offsets_cover_their_text() -> None:
    for event in jetstream_events(500, seed=3):
        record = orjson.loads(event)["commit"]["record"]
        text = record["text"].encode()
        for facet in record.get("facets", []):
            piece = text[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
            feature = facet["features"][0]
            if feature["$type"].endswith("#tag"):
                assert piece == "#" + feature["tag"]
            elif feature["$type"].endswith("#mention"):
                assert piece.startswith("@")
            else:
                assert piece.endswith("...")


def test_tid_is_sortable_and_13_chars() -> None:
    earlier, later = tid(DEFAULT_START_US, 5), tid(DEFAULT_START_US + 1, 0)
    assert len(earlier) == len(later) == 13
    assert earlier < later
