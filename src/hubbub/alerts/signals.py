"""What the detectors read: one `Mention` per matched post, and the words a post is made of.

A mention is a post that matched a topic, reduced to what alerts need. It is a plain value so
the same detectors run on the live stream, on stored history and on generated benchmark load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

SENTIMENTS = ("negative", "neutral", "positive")

_STOPWORD_TEXT = """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further get got had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's i
    i'd i'll i'm i've if in into is isn't it it's its itself just let's like me more most much
    mustn't my myself new no nor not now of off on once one only or other ought our ours
    ourselves out over own really rt same shan't she she'd she'll she's should shouldn't so some
    such than that that's the their theirs them themselves then there there's these they they'd
    they'll they're they've this those through to too under until up us very via was wasn't we
    we'd we'll we're we've were weren't what what's when when's where where's which while who
    who's whom why why's will with won't would wouldn't you you'd you'll you're you've your
    yours yourself yourselves amp http https www com today still even back
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
"""Common English words that carry no topic of their own (plus link and retweet debris)."""

_LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@[\w.\-]+")
_TOKEN = re.compile(r"#\w+|[^\W\d_][\w'’]*[^\W_]|[^\W\d_]", re.UNICODE)
MIN_TERM_CHARS = 3


def terms_of(text: str, hashtags: tuple[str, ...] = ()) -> set[str]:
    """Distinct lowercased words (3+ letters, no stopwords, links or @handles) and #hashtags.

    A post counts once per term however often it repeats it, so one shouting post cannot burst.
    """
    cleaned = _MENTION.sub(" ", _LINK.sub(" ", text))
    found: set[str] = set()
    for token in _TOKEN.findall(cleaned):
        word = token.lower().replace("’", "'")
        if word.startswith("#"):
            if len(word) > 1:
                found.add(word)
            continue
        if len(word) >= MIN_TERM_CHARS and word not in STOPWORDS:
            found.add(word)
    found.update("#" + tag.lower().lstrip("#") for tag in hashtags if tag.strip("#"))
    return found


@dataclass(frozen=True, slots=True)
class Mention:
    """One post that matched a topic, with what the detectors and explanations use."""

    time: float
    """When the post was made, Unix seconds (simulated or real)."""
    topic: str
    text: str = ""
    post: str = ""
    """A reference a person can follow: the post's URL, else its network id."""
    author: str = ""
    """The author's handle (or id)."""
    followers: int = 0
    network: str = ""
    sentiment: str = "neutral"
    """``negative``, ``neutral`` or ``positive`` (the enrichment's label)."""
    hashtags: tuple[str, ...] = ()

    def example(self, chars: int = 200) -> dict[str, str]:
        """The post as an alert shows it: reference, author, network and the start of its text."""
        text = self.text if len(self.text) <= chars else self.text[: chars - 1] + "…"
        return {"post": self.post, "author": self.author, "network": self.network, "text": text}


class AnyAlert(Protocol):
    """What every alert kind offers: when, what, about which topic, how bad, and why."""

    @property
    def time(self) -> Any: ...

    @property
    def kind(self) -> str: ...

    @property
    def topic(self) -> str: ...

    @property
    def severity(self) -> str: ...

    def summary(self) -> str: ...

    def as_dict(self) -> dict[str, Any]: ...
