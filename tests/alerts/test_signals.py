"""Emerging terms, sentiment shift, influential authors and the engine, on hand-built streams
whose right answer is known by construction."""

from __future__ import annotations

import random

import pytest

from hubbub.alerts.emerging import EmergingTermsDetector, TermsConfig
from hubbub.alerts.engine import AlertEngine, TopicAlertConfig
from hubbub.alerts.influence import InfluenceConfig, InfluentialAuthorDetector
from hubbub.alerts.sentiment import SentimentConfig, SentimentShiftDetector
from hubbub.alerts.signals import Mention, terms_of
from hubbub.core.errors import Rejected

T0 = 1_341_100_800.0  # a bucket boundary
ORDINARY = (
    "Love my new Acme rocket skates",
    "Acme skates arrived today, fast delivery",
    "Are Acme skates worth the price?",
    "Skating to work on my Acme skates",
)


def ordinary(n: int, start: float, step: float, topic: str = "acme") -> list[Mention]:
    """`n` everyday posts, one every `step` seconds, from 40 rotating authors."""
    return [
        Mention(
            time=start + i * step,
            topic=topic,
            text=ORDINARY[i % len(ORDINARY)],
            post=f"p{start + i * step}",
            author=f"user{i % 40}",
            network="bluesky",
            sentiment="negative" if i % 10 == 0 else "neutral",
        )
        for i in range(n)
    ]


def merge(*streams: list[Mention]) -> list[Mention]:
    return sorted((m for s in streams for m in s), key=lambda m: m.time)


def test_terms_are_words_and_hashtags_without_stopwords_links_or_handles() -> None:
    text = "RT @acme: The BATTERY caught fire!! https://t.co/x #Recall #recall it's bad"
    assert terms_of(text, ("Safety",)) == {"battery", "caught", "fire", "#recall", "bad", "#safety"}


# ---- emerging terms ---------------------------------------------------------------------------


def burst(
    n: int, start: float, authors: int, text: str = "Acme battery fire #recall"
) -> list[Mention]:
    return [
        Mention(
            time=start + i * 5, topic="acme", text=text, post=f"b{i}", author=f"fan{i % authors}"
        )
        for i in range(n)
    ]


def run_terms(stream: list[Mention], config: TermsConfig | None = None) -> list:  # type: ignore[type-arg]
    detector = EmergingTermsDetector("acme", config or TermsConfig(ignore=("acme",)))
    return [alert for m in stream for alert in detector.observe(m)]


def test_a_new_term_bursts_once_with_its_numbers_and_examples() -> None:
    two_hours = ordinary(1200, T0, 6)  # 50 posts per 5 min
    spike_start = T0 + 7200 + 30
    stream = merge(two_hours, ordinary(100, T0 + 7200, 6), burst(15, spike_start, authors=8))
    alerts = run_terms(stream)
    assert len(alerts) == 1
    alert = alerts[0]
    # The 10th post with the terms tips it (min_count 10), not the bucket's end.
    assert alert.time.timestamp() == spike_start + 9 * 5
    listed = {t.term: t for t in alert.terms}
    assert set(listed) == {"battery", "fire", "#recall"}  # "acme" is ignored, the rest ordinary
    recall = listed["#recall"]
    assert (recall.count, recall.baseline_count, recall.authors) == (10, 0, 8)
    assert recall.expected < 1
    assert len(recall.examples) == 3
    why = alert.as_dict()
    assert why["kind"] == "emerging_terms"
    assert why["topic"] == "acme"
    assert "#recall 10 posts vs" in why["explanation"]["summary"]
    assert why["explanation"]["terms"][0]["examples"][0]["text"] == "Acme battery fire #recall"


def test_a_busier_topic_does_not_make_its_usual_words_burst() -> None:
    stream = merge(ordinary(1200, T0, 6), ordinary(1000, T0 + 7200, 0.6))  # volume × 10
    assert run_terms(stream) == []


def test_one_account_repeating_a_word_is_not_emerging() -> None:
    stream = merge(ordinary(1200, T0, 6), burst(30, T0 + 7230, authors=1))
    assert run_terms(stream) == []
    assert len(run_terms(stream, TermsConfig(min_authors=1))) == 1


def test_minimum_count_and_sensitivity() -> None:
    stream = merge(ordinary(1200, T0, 6), burst(8, T0 + 7230, authors=8))
    assert run_terms(stream) == []  # 8 < min_count 10
    assert len(run_terms(stream, TermsConfig(min_count=5))) == 1
    assert run_terms(stream, TermsConfig(min_count=5, threshold=20)) == []


def test_a_term_in_cooldown_is_not_repeated_but_a_new_one_alerts() -> None:
    stream = merge(
        ordinary(2400, T0, 6),
        burst(12, T0 + 7230, authors=6),
        burst(12, T0 + 3 * 3600 + 30, authors=6),  # same words, 1 h later
        burst(12, T0 + 3 * 3600 + 200, authors=6, text="Acme lawsuit filed"),
    )
    alerts = run_terms(stream)
    assert [sorted(t.term for t in a.terms) for a in alerts] == [
        ["#recall", "battery", "fire"],
        ["filed", "lawsuit"],
    ]


def test_no_judgement_before_enough_history() -> None:
    stream = merge(ordinary(100, T0, 6), burst(20, T0 + 600, authors=8))
    assert run_terms(stream) == []


# ---- sentiment shift --------------------------------------------------------------------------


def shares(buckets: list[tuple[int, float]], start: float = T0) -> list[Mention]:
    """Per 5-minute bucket, `n` posts of which the given share is negative, evenly spread."""
    out: list[Mention] = []
    for b, (n, share) in enumerate(buckets):
        negative = round(n * share)
        for i in range(n):
            bad = i * negative // n != (i + 1) * negative // n
            out.append(
                Mention(
                    time=start + b * 300 + i * 300 / n,
                    topic="acme",
                    text="Acme support ignored me, refund please" if bad else ORDINARY[i % 4],
                    author=f"u{i % 25}",
                    followers=i,
                    network="mastodon" if bad else "bluesky",
                    sentiment="negative" if bad else "neutral",
                )
            )
    return out


def run_shift(stream: list[Mention], config: SentimentConfig | None = None) -> list:  # type: ignore[type-arg]
    detector = SentimentShiftDetector("acme", config or SentimentConfig(ignore=("acme",)))
    return [alert for m in stream for alert in detector.observe(m)]


def test_a_jump_in_negative_share_alerts_once_with_its_drivers() -> None:
    stream = shares([(60, 0.1)] * 24 + [(60, 0.5)] * 6 + [(60, 0.1)] * 6)
    alerts = run_shift(stream)
    assert len(alerts) == 1  # the bad half hour is one episode
    alert = alerts[0]
    assert alert.bucket_start.timestamp() == T0 + 24 * 300
    assert alert.baseline_share == pytest.approx(0.1)
    assert alert.posts >= 30  # min_volume
    assert alert.score >= 4
    why = alert.as_dict()["explanation"]
    assert why["drivers"]["terms"][0]["value"] in {"support", "ignored", "refund", "please"}
    assert why["drivers"]["networks"] == [
        {"value": "mastodon", "count": alert.labelled, "share": 1.0}
    ]
    assert len(why["examples"]) == 3
    assert "Negative share of acme" in why["summary"]


def test_steady_noisy_share_raises_nothing() -> None:
    rng = random.Random(5)
    stream = shares([(60, rng.uniform(0.05, 0.2)) for _ in range(72)])
    assert run_shift(stream) == []


def test_a_shift_needs_minimum_volume() -> None:
    stream = shares([(60, 0.1)] * 24 + [(20, 0.6)] * 3)
    assert run_shift(stream) == []
    assert len(run_shift(stream, SentimentConfig(min_volume=10))) == 1


def test_it_re_arms_after_calm_and_respects_cooldown() -> None:
    episode = [(60, 0.1)] * 12 + [(60, 0.6)]
    stream = shares([(60, 0.1)] * 12 + episode + episode)
    assert len(run_shift(stream, SentimentConfig(cooldown_seconds=0))) == 2
    assert len(run_shift(stream, SentimentConfig(cooldown_seconds=3 * 3600))) == 1


def test_positive_shift_is_watched_when_asked() -> None:
    stream = [
        Mention(
            time=m.time,
            topic="acme",
            sentiment="positive" if m.sentiment == "negative" else "neutral",
        )
        for m in shares([(60, 0.1)] * 24 + [(60, 0.5)])
    ]
    assert run_shift(stream) == []
    assert len(run_shift(stream, SentimentConfig(label="positive"))) == 1


# ---- influential authors ----------------------------------------------------------------------


def test_influential_author_alerts_once_per_cooldown_with_graded_severity() -> None:
    detector = InfluentialAuthorDetector("acme", InfluenceConfig(min_followers=10_000))

    def post(t: float, author: str, followers: int, sentiment: str = "neutral") -> list:  # type: ignore[type-arg]
        return detector.observe(
            Mention(time=T0 + t, topic="acme", text="Trying Acme skates", author=author,
                    followers=followers, sentiment=sentiment, network="bluesky", post="at://x")
        )  # fmt: skip

    assert post(0, "small", 9_999) == []
    first = post(1, "star", 10_000)
    assert [a.severity for a in first] == ["low"]
    assert post(60, "star", 10_000) == []  # cool-down per author
    assert [a.severity for a in post(61, "celebrity", 200_000)] == ["high"]
    assert [a.severity for a in post(62, "critic", 40_000, "negative")] == ["high"]
    assert len(post(6 * 3600 + 1, "star", 10_000)) == 1
    why = first[0].as_dict()["explanation"]
    assert (why["author"], why["followers"], why["min_followers"]) == ("star", 10_000, 10_000)
    assert why["examples"][0]["post"] == "at://x"


def test_influence_can_be_limited_to_negative_posts() -> None:
    detector = InfluentialAuthorDetector("acme", InfluenceConfig(sentiments=("negative",)))
    calm = Mention(time=T0, topic="acme", author="star", followers=50_000)
    angry = Mention(
        time=T0 + 1, topic="acme", author="star", followers=50_000, sentiment="negative"
    )
    assert detector.observe(calm) == []
    assert len(detector.observe(angry)) == 1


# ---- engine and per-topic settings ------------------------------------------------------------


def test_engine_applies_settings_per_topic() -> None:
    strict = TopicAlertConfig.from_mapping({"influence": {"min_followers": 1_000_000}})
    engine = AlertEngine(per_topic={"rival": strict})
    alerts = engine.run(
        [
            Mention(time=T0, topic="acme", author="star", followers=50_000),
            Mention(time=T0 + 1, topic="rival", author="star", followers=50_000),
        ]
    )
    assert [(a.kind, a.topic) for a in alerts] == [("influential_author", "acme")]


def test_engine_raises_volume_spikes_early_with_the_tipping_post() -> None:
    engine = AlertEngine(
        TopicAlertConfig.from_mapping(
            {"volume": {"min_history": 11, "early": True}, "terms": None, "sentiment": None}
        )
    )
    calm = ordinary(12 * 50, T0, 6)
    spike = ordinary(400, T0 + 3600, 0.5)
    alerts = [a for a in engine.run(merge(calm, spike)) if a.series == "acme"]
    assert len(alerts) == 1
    # The last calm bucket is judged only after its lateness (60 s), so 11 buckets are history
    # when the spike starts: median 50, √50 ≈ 7.1 → z ≥ 5 at 86 posts, the 86th post fires it.
    assert alerts[0].time.timestamp() == T0 + 3600 + 85 * 0.5
    assert alerts[0].as_dict()["explanation"]["chart"]["counts"][-1] == 86


@pytest.mark.parametrize(
    "data",
    [
        {"volumes": {}},
        {"terms": {"treshold": 3}},
        {"volume": None},
        {"sentiment": {"label": "angry"}},
    ],
)
def test_bad_topic_settings_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(Rejected) as caught:
        TopicAlertConfig.from_mapping(data)
    assert caught.value.code == "bad_config"
