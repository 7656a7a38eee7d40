"""How a feature's CLI reaches the store without importing the entry points.

``hubbub.runtime.Runtime`` migrates the store and loads the plugins; it sits above every
feature, so a feature may not import it. The main CLI hands it over once with ``use_store``
and every feature command opens the store with ``open_store``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Engine

from hubbub.core.errors import ConfigError
from hubbub.settings import Settings


class StoreAccess(Protocol):
    """A migrated engine, the settings and the workspace lookup (``Runtime`` provides them)."""

    @property
    def engine(self) -> Engine: ...

    @property
    def settings(self) -> Settings: ...

    def workspace_id(self, slug: str, create: bool = False) -> int: ...


_opener: list[Callable[[], StoreAccess]] = []


def use_store(opener: Callable[[], StoreAccess]) -> None:
    """Called once by the main CLI before it runs a command."""
    _opener[:] = [opener]


def open_store() -> StoreAccess:
    if not _opener:
        raise ConfigError("this command runs from the main `hubbub` CLI, which opens the store")
    return _opener[0]()
