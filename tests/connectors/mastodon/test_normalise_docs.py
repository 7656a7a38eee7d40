"""The Mastodon API documentation's examples: every one is normalised or refused with a reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hubbub.connectors.mastodon.normalise import normalise
from hubbub.core.errors import Rejected
from hubbub.core.items import DeleteItem, Item, PostItem, RawEvent
from tests.support.data import shared_path

SERVER = "https://mastodon.social"
# Pages whose valid examples are statuses, notifications or documents made of them.
STATUS_PAGES = {
    "entities/Status.md",
    "entities/Notification.md",
    "entities/Context.md",
    "entities/Search.md",
    "methods/statuses.md",
    "methods/timelines.md",
    "methods/notifications.md",
    "methods/grouped_notifications.md",
    "methods/streaming.md",
    "methods/search.md",
    "methods/favourites.md",
    "methods/bookmarks.md",
}


def folder() -> Path:
    return shared_path("mastodon", "api_docs_examples")


def _index() -> list[dict[str, Any]]:
    try:
        entries: list[dict[str, Any]] = json.loads((folder() / "INDEX.json").read_text())
    except pytest.skip.Exception:
        return []
    return entries


def run(path: Path, **meta: str) -> list[Item]:
    return normalise(RawEvent(path.read_bytes(), "mastodon", meta={"server": SERVER, **meta}))


def attempt(path: Path) -> list[Item] | str:
    """Items, or the reject code (with a reason required)."""
    try:
        return run(path)
    except Rejected as exc:
        return exc.code if exc.detail else ""


def page(entry: dict[str, Any]) -> str:
    return str(entry["source_md"]).removeprefix("content/en/")


@pytest.mark.parametrize("entry", _index(), ids=lambda e: e["file"])
def test_every_example(entry: dict[str, Any]) -> None:
    path = folder() / entry["file"]
    if not entry["valid_json"]:
        with pytest.raises(Rejected) as caught:
            run(path)
        assert caught.value.code == "invalid_json"
        return
    items = attempt(path)
    if isinstance(items, str):
        assert items in {"unknown_type", "api_error", "missing_field", "bad_shape"}
        return
    # only status-bearing pages may produce items (an empty array is an empty page anywhere)
    assert page(entry) in STATUS_PAGES or items == [], f"{entry['file']} unexpectedly normalised"
    for item in items:
        if isinstance(item, PostItem):
            assert item.native_id.startswith("https://")
            assert item.author.handle and "@" in item.author.handle


def test_status_example() -> None:
    (post,) = run(folder() / "entities/Status__00.json")
    assert isinstance(post, PostItem)
    assert post.native_id == "https://mastodon.social/users/Gargron/statuses/103270115826048975"
    assert post.author.native_id == "https://mastodon.social/@Gargron"
    assert post.author.handle == "Gargron@mastodon.social"
    assert post.author.followers == 322930
    assert post.text == (
        '"I lost my inheritance with one wrong digit on my sort code"\n\n'
        "https://www.theguardian.com/money/2019/dec/07/"
        "i-lost-my-193000-inheritance-with-one-wrong-digit-on-my-sort-code"
    )
    assert post.links == (
        "https://www.theguardian.com/money/2019/dec/07/"
        "i-lost-my-193000-inheritance-with-one-wrong-digit-on-my-sort-code",
    )
    assert (post.likes, post.reshares, post.replies, post.quotes) == (11, 6, 5, 2)
    assert post.langs == ("en",)
    assert post.edited is False


def test_timeline_array_example() -> None:
    (post,) = run(folder() / "methods/statuses__07.json")
    assert isinstance(post, PostItem)
    assert post.native_id == "https://mastodon.social/users/Gargron/statuses/1"
    assert post.text == "Hello world"


def test_streaming_update_example() -> None:
    (post,) = run(folder() / "methods/streaming__02.json")
    assert isinstance(post, PostItem)
    assert post.native_id == "https://fosstodon.org/users/tobtobxx/statuses/108913983628474640"
    assert post.author.handle == "tobtobxx@fosstodon.org"
    # a remote status replying to a remote parent: only the local id is known
    assert post.reply_to == f"{SERVER}/api/v1/statuses/108913981098896721"
    assert post.text.startswith("And now I can't exit the inner nvim")


def test_streaming_delete_example() -> None:
    (deleted,) = run(folder() / "methods/streaming__03.json", received_at="2024-01-02T03:04:05Z")
    assert isinstance(deleted, DeleteItem)
    assert deleted.native_id == f"{SERVER}/api/v1/statuses/106692867363994015"
    assert deleted.at.isoformat() == "2024-01-02T03:04:05+00:00"


def test_streaming_delete_maps_through_known_ids() -> None:
    known = json.dumps({"106692867363994015": "https://example.social/users/a/statuses/9"})
    (deleted,) = run(folder() / "methods/streaming__03.json", id_map=known)
    assert isinstance(deleted, DeleteItem)
    assert deleted.native_id == "https://example.social/users/a/statuses/9"


def test_non_content_streaming_event_is_unknown() -> None:
    with pytest.raises(Rejected) as caught:
        run(folder() / "methods/streaming__04.json")
    assert caught.value.code == "unknown_type"


def test_error_example_is_an_api_error() -> None:
    with pytest.raises(Rejected) as caught:
        run(folder() / "methods/statuses__02.json")
    assert caught.value.code == "api_error"
    assert "access token" in caught.value.detail
