"""The Jetstream normaliser against real captured events, real records and broken input."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from hubbub.connectors.bluesky.normalise import (
    FOLLOW,
    LIKE,
    POST,
    PROFILE,
    REPOST,
    normalise_jetstream,
)
from hubbub.core.errors import Rejected
from hubbub.core.items import (
    AuthorUpdate,
    DeleteItem,
    InteractionItem,
    Item,
    PostItem,
    RawEvent,
)
from hubbub.sources.base import normalisers
from tests.connectors.bluesky.events import DID, TIME_US, commit_event, normalise, recorded_lines
from tests.support.data import shared_path


def _outcomes(lines: list[bytes]) -> tuple[Counter[str], dict[str, list[Item]], Counter[str]]:
    kinds: Counter[str] = Counter()
    by_uri: dict[str, list[Item]] = {}
    rejected: Counter[str] = Counter()
    reasons: list[str] = []
    for line in lines:
        try:
            items = normalise(line)
        except Rejected as exc:
            rejected[exc.code] += 1
            reasons.append(exc.detail)
            continue
        assert len(items) == 1
        item = items[0]
        kinds[type(item).__name__ + ":" + str(getattr(item, "kind", ""))] += 1
        key = getattr(item, "native_id", None) or item.author.native_id  # type: ignore[union-attr]
        by_uri.setdefault(key, []).append(item)
    assert all(reasons), "every reject carries a reason"
    return kinds, by_uri, rejected


def _find(lines: list[bytes], needle: str) -> bytes:
    (line,) = [line for line in lines if needle.encode() in line]
    return line


def test_registered_under_jetstream() -> None:
    assert normalisers.get("jetstream") is normalise_jetstream


def test_expected_capture_counts_match_manifest() -> None:
    manifest = json.loads(shared_path("bluesky", "jetstream", "manifest.json").read_text())
    lines = recorded_lines("expected_v1.jsonl")
    assert len(lines) == manifest["v1_events"]
    kinds, _, rejected = _outcomes(lines)

    raw = [orjson.loads(line) for line in lines]
    ops = Counter(e["commit"]["operation"] for e in raw if e["kind"] == "commit")
    assert ops == {
        "create": manifest["creates"],
        "update": manifest["updates"],
        "delete": manifest["deletes"],
    }
    collected = {POST, REPOST, LIKE, FOLLOW, PROFILE}
    uncollected = sum(
        1 for e in raw if e["kind"] == "commit" and e["commit"]["collection"] not in collected
    )
    assert kinds == {
        "InteractionItem:like": 105,
        "PostItem:post": 17,
        "PostItem:reshare": 15,
        "InteractionItem:follow": 6,
        "DeleteItem:": manifest["deletes"],
        "AuthorUpdate:": manifest["identity"] + manifest["account"],
    }
    # Blocks and third-party status records are not collected: refused, with a reason.
    assert rejected == {"unknown_collection": uncollected}
    assert sum(kinds.values()) + sum(rejected.values()) == manifest["v1_events"]
    dids = {e["did"] for e in raw if e["kind"] == "commit"}
    assert dids == set(manifest["commit_dids"])


def test_golden_capture_every_event_accounted_for() -> None:
    kinds, by_uri, rejected = _outcomes(recorded_lines("golden_v1.jsonl"))
    assert kinds == {
        "InteractionItem:like": 1,
        "PostItem:post": 1,
        "PostItem:reshare": 1,
        "InteractionItem:follow": 1,
        "AuthorUpdate:": 3,
    }
    assert rejected == {"unknown_collection": 3}
    (profile,) = by_uri["did:plc:o6t5vwyr7ae73foww7bgye4r"][:1]
    assert isinstance(profile, AuthorUpdate)
    assert profile.author.display_name == "Multiversal Lokis Unit🔞"


def test_real_post_with_link_card() -> None:
    line = _find(recorded_lines("expected_v1.jsonl"), "3mptbyoeyc22k")
    (post,) = normalise(line)
    assert isinstance(post, PostItem)
    did = "did:plc:dclwtltrt2ggsryagfzk7dp4"
    assert post.native_id == f"at://{did}/app.bsky.feed.post/3mptbyoeyc22k"
    assert post.author.native_id == did
    assert post.url == f"https://bsky.app/profile/{did}/post/3mptbyoeyc22k"
    assert post.text == "www.youtube.com/watch?v=V5lD..."
    assert post.langs == ("en",)
    assert post.created_at == datetime(2026, 7, 4, 14, 38, 6, 240000, tzinfo=UTC)
    assert post.links == ("https://www.youtube.com/watch?v=V5lDo-jw8mA",)
    assert post.media == ("external",)
    assert post.kind == "post"
    assert not post.edited
    assert post.reply_to is None
    assert post.raw == line.decode()


def test_real_post_with_tags_link_and_image() -> None:
    (post,) = normalise(_find(recorded_lines("expected_v1.jsonl"), "3mptbyo7tas2u"))
    assert isinstance(post, PostItem)
    assert post.hashtags == ("talesatwonderworld", "balanwonderworldoc")
    assert post.links[0].startswith("https://www.tumblr.com/tempo-tales/765681292369166336/")
    assert post.media == ("image",)
    assert post.langs == ("es", "en")
    assert post.text.endswith("#balanwonderworldoc")


def test_real_reply_keeps_parent_and_root() -> None:
    (post,) = normalise(_find(recorded_lines("golden_v1.jsonl"), "Try RSV for a good time"))
    assert isinstance(post, PostItem)
    parent = "at://did:plc:j76trmiofvaxxpvx2vnb2vwf/app.bsky.feed.post/3mmojbrjwbs26"
    assert post.reply_to == parent
    assert post.thread_root == parent


def test_real_repost_like_follow_delete_identity_account() -> None:
    lines = recorded_lines("expected_v1.jsonl")
    (repost,) = normalise(_find(lines, "3mptbypowzs2e"))
    assert isinstance(repost, PostItem)
    assert repost.kind == "reshare"
    assert repost.text == ""
    assert (
        repost.reshare_of
        == "at://did:plc:lthsfxxeghkgg44eummxtvbe/app.bsky.feed.post/3mpt6c57uy22u"
    )
    assert repost.native_id.endswith("/app.bsky.feed.repost/3mptbypowzs2e")

    (like,) = normalise(lines[0])
    assert isinstance(like, InteractionItem)
    assert like.kind == "like"
    assert like.native_id == (
        "at://did:plc:wq4aajammjtxdomz3e23667t/app.bsky.feed.like/3mptbyplj5d2a"
    )
    assert like.actor.native_id == "did:plc:wq4aajammjtxdomz3e23667t"
    assert like.target_post == (
        "at://did:plc:r2zybk6op3ymzpz6jhqpkoy5/app.bsky.feed.post/3mpsjbtci2c2o"
    )
    assert like.created_at == datetime(2026, 7, 4, 14, 38, 8, 999000, tzinfo=UTC)

    (follow,) = normalise(_find(lines, "3mptbypmibb2v"))
    assert isinstance(follow, InteractionItem)
    assert follow.kind == "follow"
    assert follow.target_author == "did:plc:mlbpil2fwz43vfn6uuysxtqa"
    assert follow.target_post is None

    (gone,) = normalise(_find(lines, "3mpt73z3ejc2p"))
    assert isinstance(gone, DeleteItem)
    assert gone.native_id == (
        "at://did:plc:4smmjsqf6l5jkzczvw6vsrqc/app.bsky.feed.post/3mpt73z3ejc2p"
    )
    assert gone.at == datetime(2026, 7, 4, 14, 38, 8, 377628, tzinfo=UTC)

    identity_line, account_line = [line for line in lines if b'"kind":"commit"' not in line]
    (identity,) = normalise(identity_line)
    assert isinstance(identity, AuthorUpdate)
    assert identity.author.native_id == "did:plc:hqvhxrowqbemo5e4wjnj6zao"
    assert identity.active is None
    (account,) = normalise(account_line)
    assert isinstance(account, AuthorUpdate)
    assert account.active is True


def _record(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(shared_path("bluesky", "records", name).read_text())
    return data


@pytest.mark.parametrize("name", ["post_record.json", "extended_post_record.json"])
def test_recorded_post_records(name: str) -> None:
    data = _record(name)
    did, collection, rkey = data["uri"][5:].split("/")
    (post,) = normalise(commit_event(collection, data["value"], did=did, rkey=rkey))
    assert isinstance(post, PostItem)
    assert post.native_id == data["uri"]
    assert post.text == data["value"]["text"]
    # Older SDKs wrote createdAt without a zone; it is read as UTC.
    assert post.created_at.tzinfo is not None
    assert post.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "created_at"),
    [
        ("like_record.json", datetime(2023, 8, 26, 12, 56, 31, 44240, tzinfo=UTC)),
        ("extended_like_record.json", datetime(2023, 8, 26, 12, 19, 50, 226623, tzinfo=UTC)),
    ],
)
def test_recorded_like_records(name: str, created_at: datetime) -> None:
    data = _record(name)
    did, collection, rkey = data["uri"][5:].split("/")
    (like,) = normalise(commit_event(collection, data["value"], did=did, rkey=rkey))
    assert isinstance(like, InteractionItem)
    assert like.target_post == data["value"]["subject"]["uri"]
    assert like.created_at == created_at


def test_recorded_custom_record_type_is_refused_in_post_collection() -> None:
    data = _record("custom_record.json")
    with pytest.raises(Rejected) as caught:
        normalise(commit_event(POST, data["value"]))
    assert caught.value.code == "type_mismatch"


def test_recorded_quote_with_images() -> None:
    record = _record("thread_view_post_with_embed_media.json")["thread"]["post"]["record"]
    (post,) = normalise(commit_event(POST, record))
    assert isinstance(post, PostItem)
    assert post.quote_of == "at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/3kahesw26il2z"
    assert post.media == ("image",)
    assert post.text == ""


def _post(**extra: Any) -> dict[str, Any]:
    record = {"$type": POST, "text": "hello", "createdAt": "2026-07-04T14:38:06.240Z"}
    record.update(extra)
    return record


def test_facets_mentions_links_tags() -> None:
    facets = [
        {"features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:abc"}]},
        {"features": [{"$type": "app.bsky.richtext.facet#mention", "did": "not a did"}]},
        {"features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://a.example/x"}]},
        {"features": [{"$type": "app.bsky.richtext.facet#link", "uri": "javascript:alert(1)"}]},
        {"features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "#Launch"}]},
        {"features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "launch"}]},
        {"features": [{"$type": "app.bsky.richtext.facet#bold"}]},
        {"features": "not a list"},
        "not a facet",
    ]
    (post,) = normalise(commit_event(POST, _post(facets=facets)))
    assert isinstance(post, PostItem)
    assert post.mentions == ("did:plc:abc",)
    assert post.links == ("https://a.example/x",)
    assert post.hashtags == ("launch",)


@pytest.mark.parametrize(
    ("embed", "media", "quote", "links"),
    [
        ({"$type": "app.bsky.embed.images", "images": [{}, {}]}, ("image", "image"), None, ()),
        ({"$type": "app.bsky.embed.video", "video": {}}, ("video",), None, ()),
        (
            {"$type": "app.bsky.embed.external", "external": {"uri": "https://x.example/"}},
            ("external",),
            None,
            ("https://x.example/",),
        ),
        (
            {
                "$type": "app.bsky.embed.record",
                "record": {"uri": f"at://{DID}/{POST}/3k2yinh52ne2x"},
            },
            (),
            f"at://{DID}/{POST}/3k2yinh52ne2x",
            (),
        ),
        (
            # A quoted feed generator is not a quoted post.
            {
                "$type": "app.bsky.embed.record",
                "record": {"uri": f"at://{DID}/app.bsky.feed.generator/atproto"},
            },
            (),
            None,
            (),
        ),
        (
            {
                "$type": "app.bsky.embed.recordWithMedia",
                "record": {"record": {"uri": f"at://{DID}/{POST}/3k2yinh52ne2x"}},
                "media": {"$type": "app.bsky.embed.video"},
            },
            ("video",),
            f"at://{DID}/{POST}/3k2yinh52ne2x",
            (),
        ),
        ({"$type": "app.bsky.embed.unknownThing"}, (), None, ()),
    ],
)
def test_embeds(
    embed: dict[str, Any], media: tuple[str, ...], quote: str | None, links: tuple[str, ...]
) -> None:
    (post,) = normalise(commit_event(POST, _post(embed=embed)))
    assert isinstance(post, PostItem)
    assert post.media == media
    assert post.quote_of == quote
    assert post.links == links


def test_update_marks_edited_and_profile_gives_display_name() -> None:
    (post,) = normalise(commit_event(POST, _post(), operation="update"))
    assert isinstance(post, PostItem)
    assert post.edited
    profile = {"$type": PROFILE, "displayName": "Amira"}
    (update,) = normalise(commit_event(PROFILE, profile, rkey="self"))
    assert isinstance(update, AuthorUpdate)
    assert update.author.display_name == "Amira"
    assert update.author.native_id == DID


def test_delete_of_any_collected_record() -> None:
    for collection in (POST, REPOST, LIKE, FOLLOW):
        (gone,) = normalise(commit_event(collection, None, operation="delete"))
        assert isinstance(gone, DeleteItem)
        assert gone.native_id == f"at://{DID}/{collection}/3mptbyoeyc22k"


def test_identity_with_handle_is_lower_cased() -> None:
    event = {
        "did": DID,
        "time_us": TIME_US,
        "kind": "identity",
        "identity": {"did": DID, "handle": "Test.Marshal.dev", "seq": 1, "time": "x"},
    }
    (update,) = normalise(event)
    assert isinstance(update, AuthorUpdate)
    assert update.author.handle == "test.marshal.dev"
    event["identity"]["handle"] = "not_a handle"  # type: ignore[index]
    with pytest.raises(Rejected) as caught:
        normalise(event)
    assert caught.value.code == "bad_handle"


def test_account_deactivated() -> None:
    event = {"did": DID, "time_us": TIME_US, "kind": "account", "account": {"active": False}}
    (update,) = normalise(event)
    assert isinstance(update, AuthorUpdate)
    assert update.active is False


def _rejected(event: dict[str, Any] | bytes) -> Rejected:
    with pytest.raises(Rejected) as caught:
        normalise(event)
    assert caught.value.detail
    return caught.value


def _without(event: dict[str, Any], *path: str) -> dict[str, Any]:
    target = event
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return event


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"", "invalid_json"),
        (b'{"did": "\xff\xfe"}', "invalid_utf8"),
        (b"[1, 2]", "bad_shape"),
        (b'"a string"', "bad_shape"),
    ],
)
def test_unreadable_payloads(payload: bytes, code: str) -> None:
    assert _rejected(payload).code == code


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (_without(commit_event(POST, _post()), "did"), "missing_field"),
        (_without(commit_event(POST, _post()), "time_us"), "missing_field"),
        (_without(commit_event(POST, _post()), "kind"), "missing_field"),
        (_without(commit_event(POST, _post()), "commit"), "missing_field"),
        (_without(commit_event(POST, _post()), "commit", "collection"), "missing_field"),
        (_without(commit_event(POST, _post()), "commit", "rkey"), "missing_field"),
        (_without(commit_event(POST, _post()), "commit", "record"), "missing_field"),
        (_without(commit_event(POST, _post()), "commit", "record", "text"), "missing_field"),
        ({**commit_event(POST, _post()), "did": 42}, "bad_field"),
        ({**commit_event(POST, _post()), "did": "did:plc:"}, "bad_did"),
        ({**commit_event(POST, _post()), "time_us": "1783175888085434"}, "bad_field"),
        ({**commit_event(POST, _post()), "time_us": True}, "bad_field"),
        ({**commit_event(POST, _post()), "time_us": -5}, "bad_timestamp"),
        ({**commit_event(POST, _post()), "time_us": 2**62}, "bad_timestamp"),
        ({**commit_event(POST, _post()), "kind": "sync"}, "unknown_type"),
        ({**commit_event(POST, _post()), "commit": []}, "bad_field"),
        (commit_event(POST, _post(), operation="merge"), "unknown_type"),
        (commit_event("app.bsky.graph.block", {"subject": DID}), "unknown_collection"),
        (
            commit_event("org.hypercerts.claim.activity", None, operation="delete"),
            "unknown_collection",
        ),
        (commit_event(POST, _post(), rkey="a/b"), "bad_rkey"),
        (commit_event(POST, _post(), rkey=".."), "bad_rkey"),
        (commit_event(POST, _post(text=["x"])), "bad_field"),
        (commit_event(POST, _post(langs="en")), "bad_field"),
        (commit_event(POST, _post(reply="x")), "bad_field"),
        (commit_event(POST, _post(reply={"root": {"uri": f"at://{DID}"}})), "missing_field"),
        (
            commit_event(
                POST,
                _post(reply={"parent": {"uri": "https://x"}, "root": {"uri": f"at://{DID}"}}),
            ),
            "bad_uri",
        ),
        (commit_event(POST, _post(createdAt=None)), "bad_timestamp"),
        (commit_event(POST, _post(createdAt=1783175888)), "bad_timestamp"),
        (commit_event(POST, _post(createdAt="yesterday")), "bad_timestamp"),
        (commit_event(POST, _post(createdAt="2026-13-04T14:38:06Z")), "bad_timestamp"),
        (commit_event(POST, _post(createdAt="2026-07-04 14:38:06Z")), "bad_timestamp"),
        (commit_event(POST, _post(createdAt="2031-07-04T14:38:06Z")), "future_timestamp"),
        (commit_event(REPOST, {"createdAt": "2026-07-04T14:38:06Z"}), "missing_field"),
        (commit_event(REPOST, {"createdAt": "2026-07-04T14:38:06Z", "subject": "x"}), "bad_field"),
        (
            commit_event(LIKE, {"createdAt": "2026-07-04T14:38:06Z", "subject": {"uri": 3}}),
            "bad_field",
        ),
        (commit_event(LIKE, {"subject": {"uri": f"at://{DID}/{POST}/3k"}}), "bad_timestamp"),
        (commit_event(FOLLOW, {"createdAt": "2026-07-04T14:38:06Z", "subject": "bob"}), "bad_did"),
        (commit_event(FOLLOW, {"createdAt": "2026-07-04T14:38:06Z"}), "missing_field"),
        (commit_event(PROFILE, {"displayName": 7}, rkey="self"), "bad_field"),
        ({"did": DID, "time_us": TIME_US, "kind": "identity"}, "missing_field"),
        ({"did": DID, "time_us": TIME_US, "kind": "account", "account": {}}, "missing_field"),
        (
            {"did": DID, "time_us": TIME_US, "kind": "account", "account": {"active": "yes"}},
            "bad_field",
        ),
        (
            {"did": DID, "time_us": TIME_US, "kind": "identity", "identity": {"did": "did:plc:x"}},
            "bad_did",
        ),
    ],
)
def test_malformed_events_are_rejected_with_a_code(event: dict[str, Any], code: str) -> None:
    assert _rejected(event).code == code


def test_connector_transport_error_is_passed_on() -> None:
    event = RawEvent(
        payload=b"\x28\xb5\x2f\xfd garbage",
        format="jetstream",
        meta={"error": "bad_encoding", "detail": "zstd frame cannot be decompressed"},
    )
    with pytest.raises(Rejected) as caught:
        normalise_jetstream(event)
    assert caught.value.code == "bad_encoding"
