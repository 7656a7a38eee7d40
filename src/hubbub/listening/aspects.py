"""Per-topic sentiment of a post that names several brands, products or competitors.

"love Acme, BetaCorp is awful" matched by the topics Acme and BetaCorp is positive for one and
negative for the other; share of voice compares like with like only if each topic counts the
post under its own verdict. Only topics of the kinds that name something (brand, product,
competitor) take part: a campaign or "other" topic may be a list of sentiment words
("refund OR broken"), and masking those as targets would blank every verdict of the post.
A post where fewer than two such topics are named keeps its one post-level label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from hubbub.enrich.sentiment.aspects import Scorer, score_aspects_many, verdict_of
from hubbub.enrich.sentiment.model import LABELS, Sentiment
from hubbub.listening.query import And, Field, Near, Node, Or, QueryError, Text, parse

ASPECT_KINDS = frozenset({"brand", "product", "competitor"})
MIN_TARGET_CHARS = 2  # a one-letter "name" would mask every "a" and "I"


def rule_names(node: Node) -> list[str]:
    """What a rule names: terms, phrases, hashtags and mentions it requires.

    Of an AND only the first child that names something counts, as rules read "brand AND
    context" ("acme AND (love OR hate)" names acme, not love); nothing under NOT; no wildcard.
    """
    match node:
        case Text(words=words, prefix=False):
            return [" ".join(words)]
        case Field(name="hashtag" | "mention", value=value):
            return [value]
        case Or(children=children):
            return [name for child in children for name in rule_names(child)]
        case And(children=children):
            for child in children:
                found = rule_names(child)
                if found:
                    return found
            return []
        case Near(left=left):
            return [" ".join(text.words) for text in left if not text.prefix]
        case _:
            return []


def topic_targets(name: str, kind: str, rule: str | Node) -> tuple[str, ...]:
    """The names a topic goes by in posts (its own name first), folded to lower case; none
    for a kind that does not name something, or a rule that no longer parses."""
    if kind not in ASPECT_KINDS:
        return ()
    try:
        node = parse(rule) if isinstance(rule, str) else rule
    except QueryError:
        return ()
    found = [name, *rule_names(node)]
    return tuple(
        dict.fromkeys(t for t in (n.strip().lower() for n in found) if len(t) >= MIN_TARGET_CHARS)
    )


def topic_sentiments(
    posts: Sequence[tuple[str, Iterable[int]]],
    targets: Mapping[int, Sequence[str]],
    scorer: Callable[[], Scorer],
) -> list[dict[int, Sentiment]]:
    """For each (text, ids of the topics it matched): a verdict per topic, when at least two
    topics with targets are named in the text; otherwise ``{}`` (the post's label stands).

    The windows of the whole batch go to the model ``scorer()`` gives in one call; a batch
    without such a post never asks for it (the `ml` tier loads on first use).
    """
    out: list[dict[int, Sentiment]] = [{} for _ in posts]
    asked: list[tuple[int, list[int]]] = []
    for i, (_, topic_ids) in enumerate(posts):
        named = [t for t in dict.fromkeys(topic_ids) if targets.get(t)]
        if len(named) >= 2:
            asked.append((i, named))
    if not asked:
        return out
    verdicts = score_aspects_many(
        [
            (posts[i][0], list(dict.fromkeys(t for topic in named for t in targets[topic])))
            for i, named in asked
        ],
        scorer(),
    )
    for (i, named), found in zip(asked, verdicts, strict=True):
        per_topic = {
            topic: _combined([found[t] for t in targets[topic] if t in found]) for topic in named
        }
        judged = {topic: verdict for topic, verdict in per_topic.items() if verdict is not None}
        if len(judged) >= 2:
            out[i] = judged
    return out


def _combined(verdicts: list[Sentiment]) -> Sentiment | None:
    """A topic named by several of its targets ("Acme" and "#acme"): combined as the windows
    of one target are."""
    if not verdicts:
        return None
    labels = np.array([LABELS.index(v.label) for v in verdicts], dtype=np.int64)
    return verdict_of(labels, np.array([v.score for v in verdicts], dtype=np.float64))
