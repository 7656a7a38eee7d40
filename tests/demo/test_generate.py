"""The generated conversation: valid jsonl, deterministic, and shaped like the real networks."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from hubbub.connectors.bluesky.syntax import is_at_uri, is_did, is_handle
from hubbub.connectors.files.formats import normalise_jsonl
from hubbub.core.items import PostItem, RawEvent
from hubbub.demo.generate import NETWORKS, Demo, default_end, demo_lines, generate
from hubbub.demo.texts import BRAND, CRISIS_PRODUCT, PRODUCTS

END = datetime(2026, 11, 2, 18, tzinfo=UTC)
Record = dict[str, Any]

_MASTODON_STATUS = re.compile(r"^https://[a-z0-9.-]+/users/\w+/statuses/\d{17,19}$")
_MASTODON_RESHARE = re.compile(r"^https://[a-z0-9.-]+/users/\w+/statuses/\d+#reblogged-by:https://")
_TID = re.compile(r"^[234567a-j][234567a-z]{12}$")


def _time(record: Record) -> datetime:
    return datetime.fromisoformat(record["created_at"])


@pytest.fixture(scope="module")
def demo() -> Demo:
    return generate(7, 42, END)


@pytest.fixture(scope="module")
def records(demo: Demo) -> list[Record]:
    return [orjson.loads(line) for line in demo.lines()]


@pytest.fixture(scope="module")
def by_id(records: list[Record]) -> dict[str, Record]:
    return {r["native_id"]: r for r in records}


def test_every_line_normalises_to_one_post(demo: Demo) -> None:
    lines = list(demo.lines())
    items = [normalise_jsonl(RawEvent(payload=line, format="jsonl")) for line in lines]
    posts = [found[0] for found in items if len(found) == 1 and isinstance(found[0], PostItem)]
    assert len(posts) == len(lines)
    assert all(post.created_at <= END for post in posts)
    assert {post.network for post in posts} == set(NETWORKS)


def test_default_size_and_window(demo: Demo, records: list[Record]) -> None:
    assert 5_000 <= len(records) <= 15_000
    assert len({(r["network"], r["native_id"]) for r in records}) == len(records)
    times = [datetime.fromisoformat(r["created_at"]) for r in records]
    assert times == sorted(times)
    assert min(times) >= END - timedelta(days=42) and max(times) <= END


def test_every_post_is_conversation_none_explains_the_demo(records: list[Record]) -> None:
    """That the demo is fiction is said by the workspace's name, the command and the README:
    a note about the data stored among the posts would be read (and answered) as a post."""
    assert not [r["native_id"] for r in records if "demo" in (r["text"] or "").casefold()]
    assert "Hubbub" not in {r["author"].get("handle") for r in records}


def test_same_seed_same_lines_other_seed_other_lines() -> None:
    first = list(demo_lines(seed=3, days=4, end=END))
    assert first == list(demo_lines(seed=3, days=4, end=END))
    assert first != list(demo_lines(seed=4, days=4, end=END))


def test_default_end_is_the_current_hour_and_short_windows_are_refused() -> None:
    end = default_end()
    assert end.tzinfo is not None and (end.minute, end.second, end.microsecond) == (0, 0, 0)
    assert datetime.now(UTC) - end < timedelta(hours=1)
    with pytest.raises(ValueError, match="at least"):
        generate(days=2, end=END)


def test_all_networks_with_their_real_id_shapes(records: list[Record]) -> None:
    assert {r["network"] for r in records} == set(NETWORKS)
    for r in records:
        native, author = r["native_id"], r["author"]
        if r["network"] == "bluesky":
            assert is_at_uri(native) and is_did(author["native_id"]), native
            assert native.startswith(f"at://{author['native_id']}/app.bsky.feed.")
            assert _TID.match(native.rsplit("/", 1)[1]), native
            assert is_handle(author["handle"])
        elif r["network"] == "mastodon":
            pattern = _MASTODON_RESHARE if r["kind"] == "reshare" else _MASTODON_STATUS
            assert pattern.match(native), native
            assert author["native_id"].startswith("https://") and "/@" in author["native_id"]
        elif r["network"] == "hackernews":
            assert native.isdigit() and 40_000_000 < int(native) < 60_000_000
            assert r["url"] == f"https://news.ycombinator.com/item?id={native}"
        else:
            assert native.startswith("https://") and ".example/" in native


def test_references_point_at_posts_in_the_set(
    records: list[Record], by_id: dict[str, Record]
) -> None:
    replies = [r for r in records if r["reply_to"]]
    reshares = [r for r in records if r["kind"] == "reshare"]
    quotes = [r for r in records if r["quote_of"]]
    assert len(replies) > 2_000 and len(reshares) > 2_000 and len(quotes) > 100
    for r in [*replies, *reshares, *quotes]:
        target = by_id[r["reply_to"] or r["reshare_of"] or r["quote_of"]]
        assert target["network"] == r["network"]
        assert _time(target) < _time(r)
    # Threads go deeper than one level, and every reply names its thread's root.
    nested = [r for r in replies if by_id[r["reply_to"]]["reply_to"]]
    assert len(nested) > 300
    for r in nested:
        parent = by_id[r["reply_to"]]
        assert r["thread_root"] == (parent["thread_root"] or parent["native_id"])
    # Counts agree with what the set holds.
    direct = Counter(r["reply_to"] for r in replies if r["network"] != "hackernews")
    for target, count in direct.most_common(50):
        assert by_id[target]["replies"] == count


def test_languages_hashtags_mentions_links_and_spam(records: list[Record]) -> None:
    langs = Counter(lang for r in records for lang in r["langs"])
    assert {"en", "de", "fr", "es", "pt", "ja"} <= set(langs)
    assert langs["en"] > sum(langs.values()) / 2
    assert sum(1 for r in records if "ridelumen" in r["hashtags"]) > 30
    assert (
        sum(
            1
            for r in records
            if any(h.endswith(".example") or ".example/" in h for h in r["links"])
        )
        > 50
    )
    brand_did = next(
        r["author"]["native_id"]
        for r in records
        if r["author"].get("handle") == "lumenbikes.bsky.social"
    )
    assert sum(1 for r in records if brand_did in r["mentions"]) > 50
    spam = [r for r in records if "$99" in r["text"] or "DM me for details" in r["text"]]
    assert len(spam) > 20
    assert all((r["author"]["followers"] or 0) < 30 for r in spam)


def test_slots_agree_within_a_post(records: list[Record]) -> None:
    news = re.compile(r"(Voltaro|Pedalia) just announced a price cut on the (\w+) ")
    found = [m for r in records if (m := news.search(r["text"]))]
    assert found and all(m.group(1) == m.group(2) for m in found)
    reviews = [
        r
        for r in records
        if r["network"] == "rss" and any(p in (r["title"] or "") for p in PRODUCTS)
    ]
    assert len(reviews) > 10
    for r in reviews:
        named = {p for p in PRODUCTS if p in r["text"]}
        assert len(named) == 1, r["text"]


def test_followers_are_heavy_tailed(records: list[Record]) -> None:
    authors = {
        (r["network"], r["author"]["native_id"]): r["author"]["followers"]
        for r in records
        if r["author"]["followers"] is not None
    }
    followers = sorted(authors.values(), reverse=True)
    top = followers[: len(followers) // 100]
    assert statistics.median(followers) < 300
    assert max(followers) > 100_000
    assert sum(top) > 0.3 * sum(followers)


def test_cross_posted_texts_on_two_networks(records: list[Record]) -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if r["kind"] == "post" and len(r["text"]) > 40 and not r["reply_to"]:
            seen[r["text"]].add(r["network"])
    assert sum(1 for networks in seen.values() if networks == {"bluesky", "mastodon"}) >= 10


def _cascade_sizes(records: list[Record], by_id: dict[str, Record]) -> Counter[str]:
    sizes: Counter[str] = Counter()
    for r in records:
        for target in {r["reshare_of"], r["quote_of"], r["thread_root"]} - {None}:
            sizes[target] += 1
            if by_id[target]["quote_of"]:
                sizes[by_id[target]["quote_of"]] += 1
    return sizes


def test_the_viral_post_has_the_largest_cascade_over_hours(
    demo: Demo, records: list[Record], by_id: dict[str, Record]
) -> None:
    sizes = _cascade_sizes(records, by_id)
    (top, size), (_, runner_up) = sizes.most_common(2)
    assert top == demo.viral_post
    assert size > 1_000 and size > 3 * runner_up
    viral = by_id[top]
    assert viral["author"]["followers"] > 100_000 and "video" in viral["media"]
    start = datetime.fromisoformat(viral["created_at"])
    hours = Counter(
        (datetime.fromisoformat(r["created_at"]) - start) // timedelta(hours=1)
        for r in records
        if r["reshare_of"] == top
    )
    assert max(hours) >= 8  # still spreading long after the start
    assert hours.most_common(1)[0][0] <= 3  # but peaking in the first hours
    assert demo.viral_day == start.date()


def test_the_crisis_day_is_a_negative_spike(demo: Demo, records: list[Record]) -> None:
    per_day: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        per_day[r["created_at"][:10]].append(r)
    crisis = demo.crisis_day.isoformat()
    full_days = sorted(per_day)[1:-1]
    assert len(per_day[crisis]) > 3 * statistics.median(len(per_day[d]) for d in full_days)
    vader = SentimentIntensityAnalyzer()

    def negative_share(day: str) -> float:
        texts = [r["text"] for r in per_day[day] if r["text"] and r["langs"] == ["en"]]
        scores = [float(vader.polarity_scores(text)["compound"]) for text in texts]
        return sum(score <= -0.05 for score in scores) / len(scores)

    on_crisis = negative_share(crisis)
    usual = statistics.median(negative_share(d) for d in full_days[:10])
    assert on_crisis > 0.45 and on_crisis > 3 * usual
    about = [r for r in per_day[crisis] if CRISIS_PRODUCT in r["text"] and "battery" in r["text"]]
    assert len(about) > 150
    statement = [
        r
        for r in per_day[crisis]
        if r["author"]["display_name"] == BRAND and "latch" in r["text"] and not r["reply_to"]
    ]
    assert {r["network"] for r in statement} == {"bluesky", "mastodon"}


def test_history_reaches_back_to_the_previous_quarter_and_leaves_the_main_weeks_alone() -> None:
    from datetime import date

    from hubbub.demo.generate import history_to_last_quarter

    start = (END - timedelta(days=42)).date()  # 2026-09-21, in Q3
    history = history_to_last_quarter(42, END)
    assert history == (start - date(2026, 7, 1)).days + 1  # back to Q3's first day
    assert history_to_last_quarter(200, END) == 0  # the main weeks already reach back to Q3
    # In February the previous quarter is last year's fourth: back to 1 October 2025.
    assert history_to_last_quarter(42, datetime(2026, 2, 20, tzinfo=UTC)) == 101
    main = generate(7, 42, END)
    full = generate(7, 42, END, history)
    assert {p.native_id for p in main.posts} < {p.native_id for p in full.posts}
    earlier = [p for p in full.posts if p.created_at < main.start]
    assert min(p.created_at for p in earlier).date() >= date(2026, 6, 30)
    assert min(p.created_at for p in earlier).date() <= date(2026, 7, 2)
    weeks = Counter((main.start - p.created_at).days // 7 for p in earlier)
    oldest, newest = max(weeks), 0
    main_week = len([p for p in main.posts if p.created_at < main.start + timedelta(days=7)])
    assert weeks[oldest - 1] < weeks[newest + 1] < main_week  # quieter, and rising
