"""Bulk inserts store what they are given, whichever columns a batch leaves empty."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, select, text

from hubbub.store.bulk import BulkInsert

METADATA = MetaData()
PROBE = Table(
    "bulk_probe",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("key", String(20), nullable=False, unique=True),
    Column("note", String(20)),
    Column("flavour", String(20), server_default=text("'plain'")),
    Column("hits", Integer, nullable=False),
)


@pytest.fixture
def probe(engine: Engine) -> Iterator[Engine]:
    METADATA.create_all(engine)
    yield engine
    METADATA.drop_all(engine)


def stored(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        query = select(PROBE.c.key, PROBE.c.note, PROBE.c.flavour, PROBE.c.hits)
        return [tuple(row) for row in connection.execute(query.order_by(PROBE.c.key))]


def test_a_column_empty_in_every_row_is_left_out_and_stored_null(probe: Engine) -> None:
    insert = BulkInsert(PROBE, ["key", "note", "flavour", "hits"])
    rows = [("a", None, "x", 1), ("b", None, "y", 2)]
    with probe.begin() as connection:
        sql, sent = insert._without_empty_columns(connection.dialect, rows)
        assert "note" not in sql and sent == [("a", "x", 1), ("b", "y", 2)]
        assert insert.execute_processed(connection, rows) == 2
    assert stored(probe) == [("a", None, "x", 1), ("b", None, "y", 2)]


def test_a_column_with_a_server_default_is_never_left_out(probe: Engine) -> None:
    """Leaving it out would store its default instead of the NULL the rows hold."""
    insert = BulkInsert(PROBE, ["key", "note", "flavour", "hits"])
    with probe.begin() as connection:
        insert.execute_processed(connection, [("a", None, None, 1)])
    assert stored(probe) == [("a", None, None, 1)]


def test_batches_of_different_shapes_each_store_their_values(probe: Engine) -> None:
    insert = BulkInsert(PROBE, ["key", "note", "flavour", "hits"])
    batches = [
        [("a", "n1", None, 1), ("b", None, None, 2)],
        [("c", None, "z", 3)],
        [("d", "n4", "w", 4), ("a", "again", "v", 9)],  # a conflicts: ignored
    ]
    with probe.begin() as connection:
        counts = [insert.execute_processed(connection, rows) for rows in batches]
    assert counts == [2, 1, 1]
    assert stored(probe) == [
        ("a", "n1", None, 1),
        ("b", None, None, 2),
        ("c", None, "z", 3),
        ("d", "n4", "w", 4),
    ]


def test_an_upsert_adds_its_counters_whatever_is_empty(probe: Engine) -> None:
    insert = BulkInsert(PROBE, ["key", "note", "hits"], add_on_conflict=(["key"], ["hits"]))
    with probe.begin() as connection:
        insert.execute_processed(connection, [("a", None, 1), ("b", "kept", 2)])
        insert.execute_processed(connection, [("a", None, 5)])
    assert stored(probe) == [("a", None, "plain", 6), ("b", "kept", "plain", 2)]


def test_rows_of_the_wrong_width_are_refused(probe: Engine) -> None:
    insert = BulkInsert(PROBE, ["key", "note", "hits"])
    with probe.begin() as connection, pytest.raises(ValueError, match="values for 3 columns"):
        insert.execute_processed(connection, [("a", None)])
    with probe.begin() as connection, pytest.raises(ValueError, match=r"shorter|longer"):
        insert.execute_processed(connection, [("a", None, 1), ("b", None)])


def test_a_row_of_nothing_but_nulls_is_refused_by_the_database(probe: Engine) -> None:
    insert = BulkInsert(PROBE, ["key", "note", "hits"])
    with probe.connect() as connection, pytest.raises(Exception, match=r"(?i)not.null|null value"):
        insert.execute_processed(connection, [(None, None, None)])
