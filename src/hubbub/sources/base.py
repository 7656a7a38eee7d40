"""The contract every connector fulfils, and the registries they join.

A connector is one folder under ``hubbub.connectors``. It registers

* a **normaliser** per payload format (``@normalisers.register("jetstream")``): a pure function
  from one :class:`RawEvent` to normalised items, raising :class:`Rejected` with a reason on bad
  input. ``hubbub import --format X`` and the live listener share it.
* a **connector** class (``@connectors.register("bluesky")``) whose ``stream`` yields batches
  of raw events from the network forever, reconnecting by itself, starting at a cursor.

Nothing outside the connector's folder branches on which network it is.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel

from hubbub.core.items import Item, RawEvent
from hubbub.core.registry import Registry
from hubbub.settings import Settings

Normaliser = Callable[[RawEvent], list[Item]]

normalisers: Registry[Normaliser] = Registry("format")


REPORTED = {"hubbub_reported": True}
"""``extra`` of a connector's log line that restates a failed fetch it also yields as an event
without bytes (``meta["error"]``): the ingest stores that event as the source's last error,
precise and at its time, so the listener leaves the log line out of it (it still shows in the
log and on ``hubbub listen``'s status line)."""


def is_reported(record: logging.LogRecord) -> bool:
    """Whether a log line was logged with :data:`REPORTED`."""
    return bool(getattr(record, "hubbub_reported", False))


@dataclass
class SourceContext:
    """What a running connector gets from its host: settings, secrets, a logger."""

    settings: Settings
    source_name: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("hubbub.sources"))


class Connector(ABC):
    """A live source of raw events for one configured source.

    ``stream(cursor)`` yields non-empty batches; the host stores each batch and saves the
    last event's cursor in the same transaction before asking for the next one, so a batch
    is never acknowledged before it is durable.
    """

    name: ClassVar[str]
    network: ClassVar[str]
    Config: ClassVar[type[BaseModel]]
    secret_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: BaseModel, ctx: SourceContext) -> None:
        self.config = config
        self.ctx = ctx

    @abstractmethod
    def stream(self, cursor: str | None) -> AsyncIterator[list[RawEvent]]:
        """Yield batches of raw events from ``cursor`` on, until cancelled."""

    @classmethod
    def parse_config(cls, values: Mapping[str, Any]) -> BaseModel:
        """Validate user-given settings; raises pydantic.ValidationError with field names."""
        return cls.Config.model_validate(dict(values))


connectors: Registry[type[Connector]] = Registry("connector")


_format_networks: dict[str, str] = {}
_format_layouts: dict[str, str] = {}
LAYOUTS = ("lines", "document", "csv")


#: ``RawEvent.meta`` key of a CSV record the csv module could not read: why.
CSV_ERROR = "csv_error"


def register_format(format_name: str, network: str, layout: str = "document") -> None:
    """Declare a format's network and how a file of it splits into events.

    ``lines``: one event a line; ``document``: the whole file is one payload, except that a
    top-level JSON array is split into its elements; ``csv``: one event a row.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout {layout!r} is not one of {LAYOUTS}")
    _format_networks[format_name] = network
    _format_layouts[format_name] = layout


def format_layout(format_name: str) -> str:
    return _format_layouts.get(format_name, "document")


def format_network(format_name: str) -> str:
    """The network of a registered format; formats spanning networks (jsonl, csv) set
    ``network`` on each item as well.

    There is deliberately no fallback: a guessed network would store the same post under two
    identities the moment the guess and the registration disagree.
    """
    try:
        return _format_networks[format_name]
    except KeyError:
        raise KeyError(f"format {format_name!r} has no registered network") from None
