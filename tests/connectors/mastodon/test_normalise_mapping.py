"""Mapping decisions on real statuses reshaped into the other documents Mastodon sends."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubbub.connectors.mastodon.normalise import html_to_text, normalise
from hubbub.core.errors import PartlyRejected, Rejected
from hubbub.core.items import DeleteItem, InteractionItem, Item, PostItem, RawEvent

from .recorded import interactions, recorded_notifications

SERVER = "https://mastodon.social"


def run(document: Any, **meta: str) -> list[Item]:
    payload = document if isinstance(document, bytes) else json.dumps(document).encode()
    return normalise(RawEvent(payload, "mastodon", meta={"server": SERVER, **meta}))


def attempt(document: Any) -> list[Item] | str:
    """Items, or the reject code; any other exception fails the test."""
    try:
        return run(document)
    except Rejected as exc:
        return exc.code


def rejected(document: Any, **meta: str) -> Rejected:
    with pytest.raises(Rejected) as caught:
        run(document, **meta)
    return caught.value


def status(uri_part: str = "110446223051565765") -> dict[str, Any]:
    for rec in interactions():
        if rec.uri.endswith(f"/api/v1/statuses/{uri_part}"):
            return dict(json.loads(rec.body))
    raise AssertionError(uri_part)


def local_status() -> dict[str, Any]:
    return status("110446183735368325")


def notification(kind: str) -> dict[str, Any]:
    with_status = next(n for n in recorded_notifications() if n["status"] is not None)
    return dict(copy.deepcopy(with_status), type=kind)


def reblog_of(inner: dict[str, Any], by: dict[str, Any]) -> dict[str, Any]:
    """A reblog wrapper the way Mastodon builds one: the rebloggers status around the original."""
    wrapper = copy.deepcopy(by)
    wrapper.update(
        id="110500000000000000",
        uri=f"{by['account']['uri']}/statuses/110500000000000000/activity",
        url=None,
        content="",
        reblog=inner,
        mentions=[],
        tags=[],
        media_attachments=[],
        card=None,
    )
    return wrapper


# --------------------------------------------------------------------------- reshares, quotes


def test_reblog_gives_a_reshare_and_the_original() -> None:
    inner, by = status(), local_status()
    reshare, original = run(reblog_of(inner, by))
    assert isinstance(reshare, PostItem)
    assert isinstance(original, PostItem)
    assert reshare.kind == "reshare"
    assert reshare.reshare_of == inner["uri"] == original.native_id
    assert reshare.author.native_id == by["account"]["url"]
    assert reshare.native_id == f"{inner['uri']}#reblogged-by:{by['account']['url']}"
    assert reshare.text == ""
    assert json.loads(reshare.raw)["reblog"] == {"id": inner["id"], "uri": inner["uri"]}
    assert original.text.startswith("test post for mastodon.py stuff")


def test_reblog_notification_names_the_reshare_like_the_timeline_does() -> None:
    note = notification("reblog")
    wrapper = reblog_of(note["status"], {**local_status(), "account": note["account"]})
    from_timeline = run(wrapper)[0]
    from_notification = run(note)
    reshare = from_notification[0]
    assert isinstance(reshare, PostItem)
    assert reshare.kind == "reshare"
    assert reshare.native_id == from_timeline.native_id  # type: ignore[union-attr]
    assert isinstance(from_notification[1], PostItem)
    assert from_notification[1].native_id == note["status"]["uri"]


def test_quote_as_a_full_status_object_is_understood() -> None:
    quoting, quoted = local_status(), status()
    quoting["quote"] = quoted  # the pre-4.4 form some servers send
    first, second = run(quoting)
    assert isinstance(first, PostItem)
    assert first.quote_of == quoted["uri"]
    assert isinstance(second, PostItem)
    assert second.native_id == quoted["uri"]


# --------------------------------------------------------------------------- notifications


def test_favourite_notification_is_a_like() -> None:
    note = notification("favourite")
    like, target = run(note)
    assert isinstance(like, InteractionItem)
    assert like.kind == "like"
    assert like.actor.native_id == note["account"]["url"]
    assert like.target_post == note["status"]["uri"]
    assert like.target_author == note["status"]["account"]["url"]
    assert like.native_id == f"{note['status']['uri']}#favourited-by:{note['account']['url']}"
    assert like.created_at.isoformat().startswith(note["created_at"][:19])
    assert isinstance(target, PostItem)


def test_follow_notification_names_our_account_when_known() -> None:
    note = dict(notification("follow"), status=None)
    (follow,) = run(note, account="https://mastodon.social/@brand")
    assert isinstance(follow, InteractionItem)
    assert follow.kind == "follow"
    assert follow.target_author == "https://mastodon.social/@brand"
    assert follow.native_id == f"{note['account']['url']}#follows:https://mastodon.social/@brand"
    (anonymous,) = run(note)
    assert isinstance(anonymous, InteractionItem)
    assert anonymous.target_author is None


@pytest.mark.parametrize(
    "kind", ["poll", "follow_request", "admin.sign_up", "severed_relationships"]
)
def test_other_notification_types_are_unknown(kind: str) -> None:
    assert rejected(notification(kind)).code == "unknown_type"


def test_streaming_notification_event() -> None:
    event = {
        "stream": ["user:notification"],
        "event": "notification",
        "payload": json.dumps(notification("mention")),
    }
    (post,) = run(event)
    assert isinstance(post, PostItem)


def test_streaming_status_update_is_an_edited_post() -> None:
    event = {"event": "status.update", "payload": json.dumps(status())}
    (post,) = run(event)
    assert isinstance(post, PostItem)
    assert post.edited


# --------------------------------------------------------------------------- replies


def test_local_self_reply_is_rebuilt_from_the_uri_form() -> None:
    reply = local_status()
    reply["in_reply_to_id"] = "110446183735360000"
    reply["in_reply_to_account_id"] = reply["account"]["id"]
    (post,) = run(reply)
    assert isinstance(post, PostItem)
    assert post.reply_to == "https://mastodon.social/users/halcy/statuses/110446183735360000"


def test_reply_to_unknown_remote_parent_uses_the_api_url_form() -> None:
    reply = status()
    reply["in_reply_to_id"] = "42"
    reply["in_reply_to_account_id"] = "999"
    (post,) = run(reply)
    assert isinstance(post, PostItem)
    assert post.reply_to == f"{SERVER}/api/v1/statuses/42"
    assert post.thread_root is None


def test_reply_in_a_timeline_page_resolves_to_its_parent_in_the_page() -> None:
    parent, reply = local_status(), status()
    reply["in_reply_to_id"] = parent["id"]
    reply["in_reply_to_account_id"] = "unrelated"
    items = run([reply, parent])
    assert items[0].reply_to == parent["uri"]  # type: ignore[union-attr]


def test_context_without_ancestors_roots_at_the_focal_status() -> None:
    reply = local_status()
    reply["in_reply_to_id"] = "110446183735360000"
    reply["in_reply_to_account_id"] = reply["account"]["id"]
    (post,) = run({"ancestors": [], "descendants": [reply]})
    assert isinstance(post, PostItem)
    assert post.thread_root == post.reply_to


# --------------------------------------------------------------------------- HTML


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ('<p>hi<script>alert("pwn")</script></p>', "hi"),
        ("<p>a<style>p{color:red}</style>b</p>", "ab"),
        ('<p><img src=x onerror="steal()">pic</p>', "pic"),
        ('<p><a href="javascript:alert(1)" onclick="x()">click</a></p>', "click"),
        (
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; is text</p>",
            "<script>alert(1)</script> is text",
        ),
        ("<p>one<br>two<br/>three</p><p>four</p>", "one\ntwo\nthree\n\nfour"),
        ("<p>caf&eacute; &amp; &#x1F600;</p>", "café & 😀"),
        ("<iframe src=https://evil.example></iframe><p>ok</p>", "ok"),
        ("<ul><li>a</li><li>b</li></ul>", "a\nb"),
        ("<!-- hidden --><p>  spaced\n  out  </p>", "spaced out"),
    ],
)
def test_html_becomes_inert_text(html: str, text: str) -> None:
    assert html_to_text(html)[0] == text


def test_hostile_status_links_and_spoiler() -> None:
    hostile = status()
    hostile["spoiler_text"] = "CW: scam"
    hostile["content"] = (
        '<p><a href="javascript:alert(1)">a</a> <a href="data:text/html,x">b</a> '
        '<a href="https://ok.example/x" onmouseover="steal()">c</a> '
        '<a href="https://icosahedron.website/@halcy" class="u-url mention">@halcy</a> '
        '<a href="https://x.example/tags/Deal">#Deal</a></p>'
    )
    hostile["card"] = {"url": "javascript:alert(2)"}
    (post,) = run(hostile)
    assert isinstance(post, PostItem)
    assert post.text == "CW: scam\n\na b c @halcy #Deal"
    assert post.links == ("https://ok.example/x",)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{not json", "invalid_json"),
        (b'{"id": "\xff"}', "invalid_utf8"),
        (b"42", "bad_shape"),
        (b"null", "bad_shape"),
        (b"{}", "unknown_type"),
        (b'{"error": "Record not found"}', "api_error"),
        (b'[{"id": "1", "username": "x", "acct": "x"}]', "unknown_type"),
        (b'{"event": "update", "payload": "{broken"}', "invalid_json"),
        (b'{"event": "update"}', "missing_field"),
        (b'{"event": "announcement", "payload": "{}"}', "unknown_type"),
        (b'{"event": "delete", "payload": ""}', "missing_field"),
        (b'{"ancestors": {}, "descendants": []}', "bad_field"),
        (
            b'{"notification_groups": [{"type": "favourite", "sample_account_ids": ["9"], '
            b'"latest_page_notification_at": "2024-01-01T00:00:00Z"}], "accounts": []}',
            "missing_field",
        ),
    ],
)
def test_malformed_documents(payload: bytes, code: str) -> None:
    assert rejected(payload).code == code


def test_status_field_errors() -> None:
    no_uri = status()
    del no_uri["uri"]
    assert rejected(no_uri).code == "missing_field"
    bad_time = dict(status(), created_at="yesterday")
    assert rejected(bad_time).code == "bad_timestamp"
    bad_account = dict(status(), account="halcy")
    assert rejected(bad_account).code == "bad_field"
    no_url = status()
    no_url["account"] = {k: v for k, v in no_url["account"].items() if k not in ("url", "uri")}
    assert rejected(no_url).code == "missing_field"
    bad_content = dict(status(), content=["<p>"])
    assert rejected(bad_content).code == "bad_field"


def test_future_status_is_refused_against_the_receive_time() -> None:
    future = dict(status(), created_at="2024-01-03T00:00:01Z")
    assert rejected(future, received_at="2024-01-01T00:00:00Z").code == "future_timestamp"
    assert run(future, received_at="2024-01-02T12:00:00Z")  # within the default day of skew
    assert run(future)  # without a receive time (a plain import) nothing to compare with


def test_delete_without_server_cannot_be_mapped() -> None:
    payload = json.dumps({"event": "delete", "payload": "123"}).encode()
    with pytest.raises(Rejected) as caught:
        normalise(RawEvent(payload, "mastodon"))
    assert caught.value.code == "missing_field"


def test_delete_with_server() -> None:
    (item,) = run({"event": "delete", "payload": "123"})
    assert isinstance(item, DeleteItem)
    assert item.native_id == f"{SERVER}/api/v1/statuses/123"


def test_mixed_array_keeps_good_elements_and_refuses_each_bad_one() -> None:
    with pytest.raises(PartlyRejected) as caught:
        run([status(), {"id": "1", "acct": "someone"}, "junk"])
    assert len(caught.value.items) == 1
    refused = [(r.code, r.detail.split(":")[0], json.loads(part)) for r, part in caught.value.parts]
    assert refused == [
        ("unknown_type", "elements[1]", {"id": "1", "acct": "someone"}),
        ("unknown_type", "elements[2]", "junk"),
    ]


# --------------------------------------------------------------------------- fuzzing

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
STATUS_KEYS = [
    "id",
    "uri",
    "url",
    "created_at",
    "account",
    "content",
    "spoiler_text",
    "reblog",
    "quote",
    "mentions",
    "tags",
    "card",
    "media_attachments",
    "in_reply_to_id",
    "language",
    "favourites_count",
    "edited_at",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_any_json_is_items_or_rejected(document: Any) -> None:
    result = attempt(document)
    assert isinstance(result, list) or result


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(STATUS_KEYS), JSON, max_size=6))
def test_damaged_statuses_are_items_or_rejected(damage: dict[str, Any]) -> None:
    document = {**local_status(), **damage}
    for wrapped in (document, [document], {"event": "update", "payload": json.dumps(document)}):
        result = attempt(wrapped)
        assert isinstance(result, list) or result


NOTE_KEYS = ["id", "type", "created_at", "account", "status", "group_key"]
GROUP_KEYS = ["type", "status_id", "sample_account_ids", "latest_page_notification_at"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(NOTE_KEYS), JSON, max_size=3),
    st.dictionaries(st.sampled_from(GROUP_KEYS), JSON, max_size=3),
    st.sampled_from(["mention", "favourite", "reblog", "follow"]),
)
def test_damaged_notifications_are_items_or_rejected(
    damage: dict[str, Any], group_damage: dict[str, Any], kind: str
) -> None:
    document = {**notification(kind), **damage}
    grouped = {
        "accounts": [document.get("account")],
        "statuses": [document.get("status")],
        "notification_groups": [
            {
                "type": kind,
                "status_id": document.get("status", {}).get("id")
                if isinstance(document.get("status"), dict)
                else None,
                "sample_account_ids": [document["account"].get("id")]
                if isinstance(document.get("account"), dict)
                else [],
                "latest_page_notification_at": "2024-01-01T00:00:00Z",
                **group_damage,
            }
        ],
    }
    for wrapped in (document, [document], grouped):
        result = attempt(wrapped)
        assert isinstance(result, list) or result


def test_huge_content_is_handled_in_linear_time() -> None:
    import time

    big = dict(local_status(), content="<p>word<br></p>" * 30_000)
    started = time.perf_counter()
    (post,) = run(big)
    assert isinstance(post, PostItem)
    assert post.text.count("word") == 30_000
    assert time.perf_counter() - started < 5.0
