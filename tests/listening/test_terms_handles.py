"""Top terms of a topic whose posts mention Mastodon and Bluesky accounts and carry links: the
pieces of handles and host names are not among them, through the real ingest path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hubbub.listening.dashboard import top_terms
from hubbub.settings import Settings
from tests.listening.ingesting import ingest, post, topics
from tests.support.factories import BASE_TIME

pytestmark = pytest.mark.db

TEXTS = [
    "Rocket skates from @acme@mastodon.social arrived #skates",
    "cc @acme.bsky.social the skates wheel broke, see bsky.app/profile/acme.bsky.social",
    "skates review at https://blog.example.com/skates and www.acme.io/skates",
    "thanks @ana@hachyderm.io, the skates wheel works. mail support@acme.social",
]


def test_top_terms_hold_no_handle_or_host_fragments(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ids = topics(engine, workspace_id, skates="skates")
    events = [post(n, text, hashtags=[]) for n, text in enumerate(TEXTS)]
    assert ingest(engine, settings, workspace_id, events).rejected == 0
    start, end = BASE_TIME - timedelta(days=1), BASE_TIME + timedelta(days=1)
    with Session(engine) as session:
        found = dict(top_terms(session, ids["skates"], start, end, limit=50))
    assert found["skates"] == 4 and found["wheel"] == 2 and found["#skates"] == 1
    assert {"rocket", "arrived", "broke", "review", "thanks", "works", "mail"} <= found.keys()
    fragments = {"acme", "mastodon", "social", "bsky", "app", "profile", "blog", "example"}
    assert not fragments & found.keys(), sorted(found)
    assert not {"hachyderm", "ana", "support", "www", "io"} & found.keys()
