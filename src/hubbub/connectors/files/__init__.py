"""Hubbub's own file formats: ``jsonl`` (the documented export, round-trips) and ``csv``."""

from hubbub.connectors.files import formats as formats
