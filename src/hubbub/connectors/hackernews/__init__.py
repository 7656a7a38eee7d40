"""Hacker News connector: the official Firebase API live, Algolia search for keyword history."""

from hubbub.connectors.hackernews import normalise
from hubbub.sources.base import register_format

# A saved API response is one payload: an item, an Algolia hit, or a whole ``hits`` response.
register_format("hackernews", "hackernews", layout="document")

__all__ = ["normalise"]
