"""Refusing a file that is not the weights a ``train`` command writes."""

from __future__ import annotations

from pathlib import Path

from hubbub.core.errors import Rejected


def unreadable(what: str, path: Path, exc: Exception) -> Rejected:
    """Why ``path`` is not ``what``: the system's reason for a file that cannot be opened, else
    that it is not a weights file (numpy's own message about pickled data, which it gives for
    any file that is not a numpy archive, would suggest loading untrusted code)."""
    if isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
    else:
        reason = "not a weights file written by Hubbub's train command"
    return Rejected("bad_weights", f"cannot read {what} {path}: {reason}")
