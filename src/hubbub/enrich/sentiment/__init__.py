"""Default-tier sentiment: a fast linear scorer that beats the VADER lexicon on social text."""

from hubbub.enrich.sentiment.model import LABELS, LinearSentiment, Sentiment, default_model

__all__ = ["LABELS", "LinearSentiment", "Sentiment", "default_model", "score"]


def score(texts: list[str]) -> list[Sentiment]:
    """Label and score each text with the shipped model, in input order."""
    return default_model().score(texts)
