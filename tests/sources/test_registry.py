"""Every connector and format is fully registered: nothing is left to a guess at run time."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from hubbub.sources.base import (
    LAYOUTS,
    Connector,
    connectors,
    format_layout,
    format_network,
    normalisers,
)

EXPECTED_FORMATS = {"jetstream", "mastodon", "feed", "hackernews", "jsonl", "csv"}
EXPECTED_CONNECTORS = {"bluesky", "mastodon", "rss", "hackernews"}


def test_the_documented_formats_and_connectors_exist() -> None:
    assert set(normalisers.names()) >= EXPECTED_FORMATS
    assert set(connectors.names()) >= EXPECTED_CONNECTORS


@pytest.mark.parametrize("name", sorted(normalisers.names()))
def test_each_format_has_a_network_and_layout(name: str) -> None:
    assert format_network(name)
    assert format_layout(name) in LAYOUTS


@pytest.mark.parametrize("name", sorted(connectors.names()))
def test_each_connector_is_complete(name: str) -> None:
    cls = connectors.get(name)
    assert issubclass(cls, Connector)
    assert cls.network and issubclass(cls.Config, BaseModel)
    for field_name, field in cls.Config.model_fields.items():
        assert field.description, f"{name}.{field_name} has no description"


def test_unknown_format_has_no_network() -> None:
    with pytest.raises(KeyError):
        format_network("no-such-format")
