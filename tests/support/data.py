"""Access to ../shared/data: skip when absent on a user's clone, fail under CI=true."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get(
        "HUBBUB_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)


def shared_path(*parts: str) -> Path:
    """Path under the shared data folder, or skip (fail in CI) when it is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        message = f"shared data {path} is missing"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (required under CI=true)")
        pytest.skip(message + "; it ships beside the repository as ../shared/data")
    return path
