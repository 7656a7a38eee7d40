"""The server-rendered pages over HTTP: content, filters, paging, 404s, escaping, headers."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from hubbub.accounts.actions import create_user
from hubbub.core.items import DeleteItem, RawEvent
from hubbub.posts.actions import store_items
from hubbub.settings import Settings
from hubbub.sources.actions import add_source, record_source_error
from hubbub.store.engine import transaction
from hubbub.web.app import create_app
from hubbub.web.auth import SESSION_COOKIE
from hubbub.web.render import STATIC_DIR, TEMPLATES_DIR, web_link
from hubbub.workspaces.actions import ensure_workspace
from tests.support.factories import BASE_TIME, jsonl_event
from tests.web.conftest import OWNER, PASSWORD, ingest, member, record_event, session_cookie

SAME_TEXT = "Where can I buy the new Acme rocket skates in Lyon this week?"


@pytest.fixture
def acme(engine: Engine, settings: Settings, workspace_id: int) -> int:
    """Seven posts: five by amira on bluesky, a near-duplicate by chen on mastodon, a reply by
    bruno, and amira's post 5 deleted afterwards."""
    events = [jsonl_event(n, native_id=f"bluesky:amira:{n}") for n in range(1, 5)]
    events += [
        jsonl_event(5, text=SAME_TEXT, url="https://bsky.app/profile/amira/post/5"),
        jsonl_event(6, network="mastodon", author="chen", text=SAME_TEXT.upper()),
        jsonl_event(7, author="bruno", text="Reply from Bruno", reply_to="bluesky:amira:1"),
        jsonl_event(8, author="bruno", text="to be deleted"),
    ]
    result = ingest(engine, settings, workspace_id, events)
    assert result.rejected == 0
    with transaction(engine) as session:
        store_items(
            session,
            workspace_id,
            "bluesky",
            [DeleteItem(native_id="bluesky:bruno:8", at=BASE_TIME + timedelta(hours=1))],
            received_at=BASE_TIME + timedelta(hours=1),
        )
    return workspace_id


def post_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="post-(\d+)"', html)]


def texts(html: str) -> list[str]:
    return [unescape(t) for t in re.findall(r'<p class="text">(.*?)</p>', html, re.S)]


def test_home_redirects_to_the_first_workspace(client: TestClient, acme: int) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/w/acme/posts"


def test_first_visit_without_any_user_leads_to_setup(anonymous: TestClient) -> None:
    response = anonymous.get("/")
    assert [r.headers["location"] for r in response.history] == ["/login", "/setup"]
    assert response.status_code == 200
    assert "No account exists yet" in response.text


def test_home_without_a_workspace_says_how_to_get_one(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """A user who is a member of nothing sees no workspace, not even its name."""
    with transaction(engine) as session:
        loner = create_user(session, "loner@example.com", PASSWORD).id
    with TestClient(create_app(settings, engine), base_url="http://127.0.0.1") as client:
        client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, loner))
        response = client.get("/")
    assert response.status_code == 200
    assert "No workspace yet" in response.text
    assert "Acme Inc." not in response.text and "/w/acme" not in response.text


def test_posts_page_shows_each_post_with_its_markers(client: TestClient, acme: int) -> None:
    response = client.get("/w/acme/posts")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert len(post_ids(html)) == 7  # the deleted post is hidden by default
    assert '<span id="total">7</span>' in html
    # newest first: bruno's reply (n=7) leads, then chen's near-duplicate (n=6)
    assert texts(html)[:2] == ["Reply from Bruno", SAME_TEXT.upper()]
    assert "2026-07-04 12:07:00 UTC" in html
    assert "bruno.bsky.social" in html and "chen@mastodon.example" in html
    assert '<span class="badge network">mastodon</span>' in html
    assert '<span class="badge kind">reply</span>' in html
    assert re.search(r"near-duplicate of #\d+", html)
    assert '<a class="original" href="https://bsky.app/profile/amira/post/5"' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("network=mastodon", [SAME_TEXT.upper()]),
        ("author=bruno.bsky.social", ["Reply from Bruno"]),
        ("author=%40bruno.bsky.social", ["Reply from Bruno"]),
        ("contains=LYON", [SAME_TEXT.upper(), SAME_TEXT]),
        (
            "since=2026-07-04T12:03&until=2026-07-04T12:05",
            [
                "Line 4: Acme's new rocket skates are amazing",
                "Line 3: Acme's new rocket skates are amazing",
            ],
        ),
        ("unique=on&contains=lyon", [SAME_TEXT]),
        ("deleted=on&author=bruno.bsky.social", ["", "Reply from Bruno"]),
    ],
)
def test_filters_narrow_the_posts(
    client: TestClient, acme: int, query: str, expected: list[str]
) -> None:
    response = client.get(f"/w/acme/posts?{query}")
    assert response.status_code == 200
    assert texts(response.text) == expected


def test_deleted_posts_carry_a_marker(client: TestClient, acme: int) -> None:
    html = client.get("/w/acme/posts?deleted=on").text
    assert len(post_ids(html)) == 8
    assert html.count('<span class="badge deleted">deleted</span>') == 1


def test_older_links_walk_every_post_once_even_with_equal_times(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    same = BASE_TIME.isoformat()
    events = [jsonl_event(n, created_at=same, text=f"same time {n}") for n in range(1, 8)]
    events += [jsonl_event(n, text=f"later {n}") for n in range(8, 11)]
    ingest(engine, settings, workspace_id, events)
    seen: list[int] = []
    url: str | None = "/w/acme/posts?limit=2"
    pages = 0
    while url:
        html = client.get(url).text
        ids = post_ids(html)
        assert 0 < len(ids) <= 2
        seen += ids
        pages += 1
        found = re.search(r'<a rel="next" href="\?([^"]+)"', html)
        url = f"/w/acme/posts?{unescape(found.group(1))}" if found else None
    assert pages == 5
    assert len(seen) == len(set(seen)) == 10
    full = post_ids(client.get("/w/acme/posts?limit=100").text)
    assert seen == full


def test_paging_keeps_the_filters(client: TestClient, acme: int) -> None:
    html = client.get("/w/acme/posts?network=bluesky&limit=10&contains=rocket").text
    assert 'rel="next"' not in html
    first = client.get("/w/acme/posts?network=bluesky&contains=rocket&limit=2").text
    link = unescape(re.search(r'<a rel="next" href="\?([^"]+)"', first).group(1))  # type: ignore[union-attr]
    assert "network=bluesky" in link and "contains=rocket" in link and "limit=2" in link
    second = client.get(f"/w/acme/posts?{link}").text
    assert set(post_ids(first)).isdisjoint(post_ids(second))
    assert "back to newest" in second


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=yesterday", "since is not an ISO 8601 date"),
        ("since=2026-07-05&until=2026-07-04", "until must be later than since"),
        ("limit=0", "limit must be between 1 and 500"),
        ("limit=ten", "limit must be a whole number"),
        ("cursor=bm9wZQ", "cursor is not one this server issued"),
        ("deleted=maybe", "deleted must be true or false"),
        ("network=mastodn", "network is unknown: 'mastodn' (use bluesky,"),
    ],
)
def test_bad_filters_answer_400_with_the_reason(
    client: TestClient, workspace_id: int, query: str, message: str
) -> None:
    response = client.get(f"/w/acme/posts?{query}")
    assert response.status_code == 400
    assert message in unescape(response.text)
    assert post_ids(response.text) == []


def test_unknown_workspace_or_page_is_404(client: TestClient, acme: int) -> None:
    for path in (
        "/w/nope/posts",
        "/w/nope/sources",
        "/w/nope/deadletters",
        "/w/nope/deadletters/1",
        "/w/nope",
        "/w/acme/deadletters/999",
        "/no/such/page",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "Not Found" in response.text, path


def test_sources_page_shows_health_of_each_source(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        source_id = add_source(
            session,
            settings,
            workspace_id,
            "rss",
            "acme-blog",
            {"url": "https://blog.example/feed.xml"},
            {},
        ).id
    ingest(
        engine,
        settings,
        workspace_id,
        [jsonl_event(1), RawEvent(payload=b"{not json", format="jsonl", cursor="cur-42")],
        source_id=source_id,
    )
    with transaction(engine) as session:
        record_source_error(session, source_id, "HTTP 503 from <blog.example>")
    html = client.get("/w/acme/sources").text
    card = html[html.index(f'id="source-{source_id}"') :]
    assert "acme-blog" in card and ">rss<" in card and ">enabled<" in card
    assert re.search(r"<dt>Events</dt><dd class=\"num\">2</dd>", card)
    assert re.search(r"<dt>Stored</dt><dd class=\"num\">1</dd>", card)
    assert re.search(r"<dt>Rejected</dt><dd class=\"num\">1</dd>", card)
    assert "<code>cur-42</code>" in card
    assert "HTTP 503 from &lt;blog.example&gt;" in card
    assert " UTC" in card


def test_dead_letters_page_counts_reasons_and_shows_payload_as_text(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    bad = [
        RawEvent(payload=b"<script>window.__pwned=1</script>", format="jsonl", cursor="1"),
        RawEvent(payload=b"{broken", format="jsonl", cursor="2"),
        RawEvent(payload=b'{"v": 1, "type": "poll"}', format="jsonl", cursor="3"),
        RawEvent(payload=b"\xff\xfe binary", format="jsonl", cursor="4"),
    ]
    result = ingest(engine, settings, workspace_id, bad)
    assert result.rejected == 4
    html = client.get("/w/acme/deadletters").text
    counts = dict(
        re.findall(r'reason=([a-z0-9_]+)">[a-z0-9_]+</a></td><td class="num">(\d+)', html)
    )
    assert counts == {code: str(n) for code, n in result.reasons.items()}
    assert sum(int(n) for n in counts.values()) == 4
    ids = [int(n) for n in re.findall(r'/w/acme/deadletters/(\d+)"', html)]
    assert len(ids) == 4 and ids == sorted(ids, reverse=True)
    detail = client.get(f"/w/acme/deadletters/{ids[-1]}").text
    assert '<pre class="payload">&lt;script&gt;window.__pwned=1&lt;/script&gt;</pre>' in detail
    binary = client.get(f"/w/acme/deadletters/{ids[0]}").text
    assert r"\xff\xfe binary" in binary
    only = client.get("/w/acme/deadletters?reason=unknown_type").text
    assert len(re.findall(r'/w/acme/deadletters/(\d+)"', only)) == 1


def test_dead_letter_of_another_workspace_is_404(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex", "Globex").id
    member(engine, other, "owner", OWNER)  # a member of both sees both, each at its own URL
    ingest(engine, settings, other, [RawEvent(payload=b"{x", format="jsonl")])
    html = client.get("/w/globex/deadletters").text
    (letter_id,) = re.findall(r'/w/globex/deadletters/(\d+)"', html)
    assert client.get(f"/w/globex/deadletters/{letter_id}").status_code == 200
    assert client.get(f"/w/acme/deadletters/{letter_id}").status_code == 404


XSS_TEXT = '<script>window.__pwned=1</script><img src=x onerror="alert(1)">'


def test_user_content_is_escaped_everywhere(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    ingest(
        engine,
        settings,
        workspace_id,
        [
            record_event(
                1,
                text=XSS_TEXT,
                title="<b>title</b>",
                url="javascript:alert(1)",
                author={
                    "native_id": "did:plc:x",
                    "handle": "<i>h</i>",
                    "display_name": '"><svg onload=alert(1)>',
                },
            ),
            jsonl_event(2, url='https://example.com/"><script>alert(2)</script>'),
        ],
    )
    html = client.get("/w/acme/posts").text
    assert "<script>" not in html and "<svg" not in html and "<img" not in html
    assert "<b>title</b>" not in html and "<i>h</i>" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    assert '<code class="unsafe-url">javascript:alert(1)</code>' in html
    assert 'href="https://example.com/&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in html


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("https://example.com/a?b=1#c", True),
        ("HTTP://EXAMPLE.COM", True),
        ("https://bücher.example/ü", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox(1)", False),
        ("https://", False),
        ("https:///path-only", False),
        ("//example.com/protocol-relative", False),
        ("https://exa mple.com", False),
        ("https://example.com/\nline", False),
        ("ftp://example.com/file", False),
        ("https://[::1", False),
        ("", False),
        (None, False),
    ],
)
def test_only_http_and_https_urls_become_links(url: str | None, link: bool) -> None:
    assert web_link(url) == (url if link else None)


EXPECTED_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def test_security_headers_on_every_response(client: TestClient, acme: int) -> None:
    for path in (
        "/w/acme/posts",
        "/w/acme/sources",
        "/w/acme/deadletters",
        "/w/nope/posts",
        "/w/acme/posts?limit=0",
        "/static/style.css",
        "/api/v1/health",
        "/api/v1/w/acme/posts",
        "/api/v1/w/acme/posts?limit=0",
    ):
        response = client.get(path)
        for name, value in EXPECTED_HEADERS.items():
            assert response.headers[name] == value, path
        policy = response.headers["content-security-policy"]
        directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
        assert directives["default-src"] == ["'self'"], path
        assert directives["frame-ancestors"] == ["'none'"], path
        # Only our own static files run: no inline script, no event-handler attribute.
        assert directives["script-src"] == ["'self'"], path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path


def test_foreign_host_header_is_refused(app: object, acme: int) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under its own name; no account protects us yet."""
    with TestClient(app, base_url="http://evil.example") as client:  # type: ignore[arg-type]
        response = client.get("/w/acme/posts")
    assert response.status_code == 400
    assert "Amira" not in response.text


def test_templates_and_css_need_no_script_inline_style_or_cdn() -> None:
    """What the Content-Security-Policy forbids must not be needed by our own markup: the one
    script is a static file of ours, never inline, and no element carries an event handler."""
    for template in TEMPLATES_DIR.glob("*.html"):
        source = template.read_text()
        scripts = re.findall(r"<script[^>]*>(.*?)</script>", source, re.S)
        assert all(body.strip() == "" for body in scripts), template.name
        for tag in re.findall(r"<script[^>]*>", source):
            assert "url_for('static'" in tag, template.name
        assert not re.search(r"\son[a-z]+=", source), template.name
        assert "style=" not in source and "<style" not in source, template.name
        assert "|safe" not in source.replace(" ", ""), template.name
        assert not re.search(r'(src|href)="(https?:)?//', source), template.name
    css = (STATIC_DIR / "style.css").read_text()
    assert "@import" not in css and "url(" not in css


def test_stylesheet_is_served(client: TestClient) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert Path(STATIC_DIR / "style.css").read_bytes() == response.content


def test_ids_past_64_bits_are_refused_not_a_server_error(client: TestClient) -> None:
    huge = str(10**30)
    for path in (
        f"/w/acme/deadletters/{huge}",
        f"/w/acme/inbox/{huge}",
        f"/w/acme/audit?before={huge}",
        f"/w/acme/deadletters?before={huge}",
    ):
        response = client.get(path)
        assert response.status_code == 422, (path, response.status_code)
