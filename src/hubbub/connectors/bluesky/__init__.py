"""Bluesky through Jetstream: posts, reposts, likes, follows, profiles, identity changes."""

from hubbub.connectors.bluesky import normalise
from hubbub.sources.base import register_format

__all__ = ["normalise"]

# One Jetstream event a line: ``hubbub import --format jetstream`` streams the file.
register_format("jetstream", "bluesky", layout="lines")
