"""Intent of a social post (question, complaint, praise, ...): a fast shipped linear model."""

from hubbub.enrich.intent.data import LABELS
from hubbub.enrich.intent.model import Intent, LinearIntent, default_model

__all__ = ["LABELS", "Intent", "LinearIntent", "classify", "default_model", "predict"]


def predict(texts: list[str]) -> list[str]:
    """The most probable intent label of each text, in input order."""
    return [verdict.label for verdict in default_model().classify(texts)]


def classify(texts: list[str]) -> list[Intent]:
    """Label and probability of each text with the shipped model, in input order."""
    return default_model().classify(texts)
