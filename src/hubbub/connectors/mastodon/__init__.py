"""Mastodon: the normaliser for API documents and the streaming/REST source."""

from hubbub.connectors.mastodon import normalise
from hubbub.sources.base import register_format

# a file of a top-level array is imported element by element, so one bad status is one reject
register_format("mastodon", "mastodon", layout="document")

__all__ = ["normalise"]
