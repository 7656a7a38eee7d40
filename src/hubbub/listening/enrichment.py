"""Enrichment of matched posts: an ordered list of enrichers, each filling its fields for a batch.

Language comes first (the network's declared language, else lingua), then sentiment, intents
and entities. Enrichers work on whole batches because the scorers are vectorised.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from hubbub.core.errors import ConfigError, Rejected
from hubbub.core.items import PostItem
from hubbub.enrich import intent as intent_model
from hubbub.enrich import sentiment as sentiment_model
from hubbub.enrich.sentiment.aspects import Scorer
from hubbub.listening.aspects import topic_sentiments
from hubbub.listening.document import Document
from hubbub.listening.models import UNKNOWN_LANG

# Languages lingua chooses among: restricting the set keeps detection fast and avoids exotic
# guesses on short posts. Posts in other languages usually declare theirs (Bluesky, Mastodon).
DETECTED_LANGUAGES = (
    Language.ENGLISH,
    Language.GERMAN,
    Language.FRENCH,
    Language.SPANISH,
    Language.PORTUGUESE,
    Language.ITALIAN,
    Language.DUTCH,
    Language.SWEDISH,
    Language.POLISH,
    Language.TURKISH,
    Language.RUSSIAN,
    Language.UKRAINIAN,
    Language.ARABIC,
    Language.HINDI,
    Language.INDONESIAN,
    Language.JAPANESE,
    Language.KOREAN,
    Language.CHINESE,
    Language.CATALAN,
)
DEFAULT_TIER = "default"
ML_TIER = "ml"
ASPECT_LANGS = frozenset({"en", UNKNOWN_LANG})  # per-topic verdicts: English or unknown only
MIN_LETTERS = 3  # fewer letters than this is no evidence of a language
MIN_RELATIVE_DISTANCE = 0.1
INTENT_MIN_PROBABILITY = 0.3  # secondary intents listed besides the most probable one

_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_HANDLE_OR_TAG = re.compile(r"[@#$][\w.-]+")
_LETTER = re.compile(r"[^\W\d_]")
_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9]{0,5}(?:\.[A-Za-z]{1,2})?)(?![\w])")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A matched post and the document it was matched as."""

    item: PostItem
    doc: Document


@dataclass(slots=True)
class Enriched:
    """What the enrichers found about one post (the columns of ``post_enrichments``)."""

    lang: str = UNKNOWN_LANG
    lang_detected: bool = False
    sentiment_score: float = 0.0
    sentiment_label: str = "neutral"
    sentiment_tier: str = DEFAULT_TIER
    intents: list[str] = field(default_factory=list)
    entities: dict[str, list[str]] = field(default_factory=dict)


Enricher = Callable[[Sequence[Candidate], list[Enriched]], None]


def post_text(item: PostItem) -> str:
    """Title and text as one string, what the scorers read."""
    return f"{item.title}\n{item.text}" if item.title else item.text


@cache
def detector() -> LanguageDetector:
    """One lingua detector per process, restricted to ``DETECTED_LANGUAGES``.

    Low-accuracy mode (trigrams only) loads in a fraction of a second and detects in tens of
    microseconds; high accuracy took seconds to load and milliseconds a post. A guess whose
    lead over the runner-up is under ``MIN_RELATIVE_DISTANCE`` is no guess (``und``).
    """
    return (
        LanguageDetectorBuilder.from_languages(*DETECTED_LANGUAGES)
        .with_low_accuracy_mode()
        .with_minimum_relative_distance(MIN_RELATIVE_DISTANCE)
        .build()
    )


def declared_language(langs: Sequence[str]) -> str | None:
    """The primary subtag of the first declared language (``en-US`` → ``en``)."""
    for raw in langs:
        primary = raw.strip().lower().replace("_", "-").split("-")[0]
        if primary.isalpha() and 2 <= len(primary) <= 3:
            return primary
    return None


def detect_language(text: str) -> str:
    """lingua's guess (ISO 639-1) on the text without links, handles and tags; ``und`` if none."""
    cleaned = _HANDLE_OR_TAG.sub(" ", _URL.sub(" ", text))
    if len(_LETTER.findall(cleaned)) < MIN_LETTERS:
        return UNKNOWN_LANG
    found = detector().detect_language_of(cleaned)
    return found.iso_code_639_1.name.lower() if found is not None else UNKNOWN_LANG


def language_of(item: PostItem) -> tuple[str, bool]:
    """(language, whether it was detected): declared when the network gives one."""
    declared = declared_language(item.langs)
    if declared is not None:
        return declared, False
    return detect_language(post_text(item)), True


def language(batch: Sequence[Candidate], out: list[Enriched]) -> None:
    """Declared language when the network gives one, otherwise detected."""
    for candidate, enriched in zip(batch, out, strict=True):
        enriched.lang, enriched.lang_detected = language_of(candidate.item)


def entities(batch: Sequence[Candidate], out: list[Enriched]) -> None:
    """Mentioned handles, hashtags, cashtags and link domains, folded and de-duplicated."""
    for candidate, enriched in zip(batch, out, strict=True):
        doc = candidate.doc
        cashtags = _CASHTAG.findall(f"{doc.title}\n{doc.text}")
        enriched.entities = {
            "mentions": list(dict.fromkeys(m.lower() for m in doc.mentions)),
            "hashtags": list(dict.fromkeys(h.lower() for h in doc.hashtags)),
            "cashtags": list(dict.fromkeys(c.upper() for c in cashtags)),
            "domains": list(doc.link_domains),
        }


def sentiment_and_intents(batch: Sequence[Candidate], out: list[Enriched]) -> None:
    """Sentiment label and score in [-1, 1], then the most probable intent and any other at
    least ``INTENT_MIN_PROBABILITY`` (``none`` is never listed: an empty list means nothing to
    act on). Both shipped models read the same hashed features, computed once per post."""
    labels: Sequence[str] = intent_model.LABELS
    texts = [post_text(c.item) for c in batch]
    proba, polarity = intent_model.default_model().proba_with_polarity(texts)
    for row, polar, enriched in zip(proba, polarity, out, strict=True):
        best = int(polar.argmax())
        enriched.sentiment_label = sentiment_model.LABELS[best]
        enriched.sentiment_score = float(polar[2] - polar[0])
        order = sorted(range(len(labels)), key=lambda i: -row[i])
        chosen = [order[0], *(i for i in order[1:] if row[i] >= INTENT_MIN_PROBABILITY)]
        enriched.intents = [labels[i] for i in chosen if labels[i] != "none"]


def ml_sentiment(batch: Sequence[Candidate], out: list[Enriched]) -> None:
    """The `ml` tier's sentiment label and score in place of the default tier's (intents stay
    the default model's: it reads the default tier's features, not the embeddings)."""
    from hubbub.enrich.sentiment.ml import ml_model  # torch loads only where this tier is used

    labels, scores = ml_model().predict([post_text(c.item) for c in batch])
    for label, score, enriched in zip(labels, scores, out, strict=True):
        enriched.sentiment_label = sentiment_model.LABELS[int(label)]
        enriched.sentiment_score = float(score)
        enriched.sentiment_tier = ML_TIER


DEFAULT_ENRICHERS: tuple[tuple[str, Enricher], ...] = (
    ("language", language),
    ("sentiment and intents", sentiment_and_intents),
    ("entities", entities),
)
ML_ENRICHERS: tuple[tuple[str, Enricher], ...] = (
    *DEFAULT_ENRICHERS[:2],
    ("ml sentiment", ml_sentiment),
    *DEFAULT_ENRICHERS[2:],
)


class Enrichment:
    """Runs its enrichers in order over a batch of candidates."""

    def __init__(self, enrichers: Sequence[tuple[str, Enricher]] = DEFAULT_ENRICHERS) -> None:
        self.enrichers = tuple(enrichers)
        #: The `ml` tier loads torch and its encoder on first use (~5 s, ~0.8 GB).
        self.loads_a_model = any(enricher is ml_sentiment for _, enricher in self.enrichers)

    @classmethod
    def for_tier(cls, tier: str) -> Enrichment:
        """The enrichment of ``HUBBUB_SENTIMENT_TIER``; the `ml` tier refuses at once, with the
        install line, when its extra is missing (not at the first matched post)."""
        if tier == DEFAULT_TIER:
            return cls()
        if tier != ML_TIER:
            raise ValueError(f"unknown sentiment tier {tier!r}")
        from hubbub.enrich.sentiment.ml import require_ml

        try:
            require_ml()
        except Rejected as exc:
            raise ConfigError(f"HUBBUB_SENTIMENT_TIER=ml: {exc.detail}") from None
        return cls(ML_ENRICHERS)

    def scorer(self) -> Scorer:
        """The sentiment model of this enrichment's tier, for per-topic verdicts."""
        if self.loads_a_model:
            from hubbub.enrich.sentiment.ml import ml_model

            return ml_model()
        return sentiment_model.default_model()

    def topic_sentiments(
        self,
        posts: Sequence[tuple[str, Sequence[int], str]],
        targets: Mapping[int, Sequence[str]],
    ) -> list[dict[int, tuple[str, float]]]:
        """(label, score) per topic of each (text, matched topic ids, language) naming two or
        more topics with targets (``listening.aspects``); ``{}`` where the post's own label
        stands, as for a post in another language than English: the clause rules and both
        tiers are English."""
        found = topic_sentiments(
            [(text, ids if lang in ASPECT_LANGS else ()) for text, ids, lang in posts],
            targets,
            self.scorer,
        )
        return [{t: (v.label, v.score) for t, v in verdicts.items()} for verdicts in found]

    def __call__(self, batch: Sequence[Candidate]) -> list[Enriched]:
        out = [Enriched() for _ in batch]
        if batch:
            for _name, enricher in self.enrichers:
                enricher(batch, out)
        return out
