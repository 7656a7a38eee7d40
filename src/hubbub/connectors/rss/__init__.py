"""RSS, Atom and JSON Feed: polled feeds, with optional per-entry comment feeds."""

from hubbub.connectors.rss import normalise
from hubbub.sources.base import register_format

# A feed file is one document: ``hubbub import --format feed`` reads it whole.
register_format(normalise.FORMAT, "rss", layout="document")

__all__ = ["normalise"]
