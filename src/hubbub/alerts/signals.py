"""What the detectors read: one `Mention` per matched post, and the words a post is made of.

A mention is a post that matched a topic, reduced to what alerts need. It is a plain value so
the same detectors run on the live stream, on stored history and on generated benchmark load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from hubbub.enrich.terms import STOPWORDS, terms_of

SENTIMENTS = ("negative", "neutral", "positive")

__all__ = ["SENTIMENTS", "STOPWORDS", "AnyAlert", "Mention", "terms_of"]


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
