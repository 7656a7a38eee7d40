"""Ingest stages: features (listening, enrichment) that see each batch around the store step.

The ingest service stays ignorant of what topics or enrichers are. A stage registered here is
asked, per batch and network, which post items to keep (``select``, before the transaction,
on freshly normalised items) and then, inside the batch's transaction after the posts are
written, to store what it derived from them (``after_store``). Both run in the same
transaction as the posts and the cursor, so a crash never leaves a match without its post or a
post without its match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.core.items import Item
from hubbub.core.registry import Registry
from hubbub.settings import Settings


@dataclass
class Selection:
    """What a stage kept of one network's items, and what it carries to ``after_store``.

    ``items`` are passed on to the store in their original order (and emptied once prepared:
    ``after_store`` must find what it needs in ``state``, which may have crossed a process
    boundary, so it must pickle). ``dropped`` counts post
    items not kept (the workspace does not keep them; they are counted, never stored).
    ``state`` is the stage's own (matches, enrichment) for ``after_store``.
    """

    items: list[Item]
    dropped: int = 0
    state: object = None
    counts: dict[str, int] = field(default_factory=dict)


class IngestStage(Protocol):
    """One feature's view of the ingest path. Must be safe to call from one thread at a time."""

    #: Loads something heavy on first use (a model): a stream's batches are then all prepared
    #: in the prepare worker, so the writer never loads it too.
    slow_to_start: bool

    def select(
        self, engine: Engine, workspace_id: int, network: str, items: Sequence[Item]
    ) -> Selection:
        """Decide which items to keep; must not write."""
        ...

    def after_store(
        self, session: Session, workspace_id: int, network: str, selection: Selection
    ) -> None:
        """Write what the stage derived from the kept posts, in the batch's transaction."""
        ...


StageFactory = Callable[[Settings], IngestStage]

# name → factory; each Ingestor builds one instance of each, and runs them in name order.
ingest_stages: Registry[StageFactory] = Registry("ingest stage")
