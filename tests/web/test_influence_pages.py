"""Influence pages over HTTP on posts put in through the real ingest path: the influencer
table (filters, sorting, marking by role), the community map, cascades, the seeding planner,
other workspaces and escaping."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.accounts.models import AuditEntry
from hubbub.accounts.permissions import Role
from hubbub.core.clock import utcnow
from hubbub.graph.actions import mark_author, update_interaction_edges
from hubbub.graph.models import AuthorMark
from hubbub.graph.queries import find_author, graph_freshness
from hubbub.listening.actions import add_topic
from hubbub.posts.models import Post
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.web import influence
from hubbub.web.auth import SESSION_COOKIE
from hubbub.workspaces.actions import ensure_workspace
from tests.web.conftest import (
    LiveServer,
    csrf_token,
    ingest,
    member,
    record_event,
    session_cookie,
)

pytestmark = pytest.mark.db

HOSTILE = '<script>alert("handle")</script>'
HOSTILE_TEXT = "<img src=x onerror=alert('text')> skates"


def _author(name: str, followers: int | None = None, **extra: Any) -> dict[str, Any]:
    author: dict[str, Any] = {"native_id": f"did:plc:{name}", "handle": f"{name}.example"}
    if followers is not None:
        author["followers"] = followers
    author.update(extra)
    return author


def _buzz() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(post key, author, fields): Amira's launch reshared by six fans and a bot, replied to by
    a hostile account, one reshare answered in turn; a celebrity with one reply; a Mastodon
    author; and off-topic chatter the topic does not match."""
    amira = _author("amira", 1200, url="https://bsky.app/profile/amira.example")
    celeb = _author("celeb", 100_000)
    hostile = {
        "native_id": "did:plc:hostile",
        "handle": HOSTILE,
        "display_name": "<b>bold</b>",
        "url": "javascript:alert('url')",
    }
    bot = _author("bot", 5)
    posts: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("amira", amira, {"text": "Rocket skates launch today #skates", "hashtags": ["skates"]}),
        ("celeb", celeb, {"text": "Celebrities like skates too"}),
    ]
    for i in range(6):
        posts.append(
            (
                f"fan{i}",
                _author(f"fan{i}", 10),
                {"kind": "reshare", "reshare_of": "amira", "text": "skates"},
            )
        )
    posts += [
        ("fan0-reply", _author("fan0", 10), {"reply_to": "celeb", "text": "love your skates"}),
        ("erin", _author("erin", 3), {"reply_to": "fan0", "text": "skates? where?"}),
        ("hostile", hostile, {"reply_to": "amira", "text": HOSTILE_TEXT}),
        ("bot1", bot, {"kind": "reshare", "reshare_of": "amira", "text": "skates"}),
        ("bot2", bot, {"kind": "reshare", "reshare_of": "celeb", "text": "skates"}),
        ("bot3", bot, {"kind": "reshare", "reshare_of": "hostile", "text": "skates"}),
        ("dora", _author("dora", 50), {"text": "Nothing to do with it"}),
        ("dora-reply", _author("fan1", 10), {"reply_to": "dora", "text": "indeed nothing"}),
    ]
    return posts


@pytest.fixture
def buzz(engine: Engine, settings: Settings, workspace_id: int) -> dict[str, int]:
    """Topics ``skates`` and ``chatter`` first (matched live), then the posts; returns post
    ids by key."""
    with transaction(engine) as session:
        add_topic(session, workspace_id, "skates", "skates", "brand")
        add_topic(session, workspace_id, "chatter", "nothing", "other")  # only matches are kept
    start = utcnow() - timedelta(hours=6)
    events = []
    for n, (key, author, fields) in enumerate(_buzz(), start=1):
        record = {
            "author": author,
            "native_id": f"bluesky:{key}",
            "created_at": (start + timedelta(minutes=7 * n)).isoformat(),
            "hashtags": [],
            **fields,
        }
        for ref in ("reshare_of", "reply_to"):
            if ref in record:
                record[ref] = f"bluesky:{record[ref]}"
        events.append(record_event(n, **record))
    events.append(
        record_event(
            99,
            network="mastodon",
            native_id="mastodon:chen:1",
            author={
                "native_id": "https://mastodon.example/@chen",
                "handle": "chen@mastodon.example",
            },
            text="skates on the fediverse",
            created_at=start.isoformat(),
        )
    )
    result = ingest(engine, settings, workspace_id, events)
    assert result.rejected == result.dropped == 0
    with transaction(engine) as session:
        rows = session.execute(
            select(Post.native_id, Post.id).where(Post.workspace_id == workspace_id)
        ).all()
    return {native.split(":", 1)[1]: post_id for native, post_id in rows}


def _author_id(engine: Engine, workspace_id: int, handle: str) -> int:
    with transaction(engine) as session:
        found = find_author(session, workspace_id, handle)
        assert found is not None
        return found.id


def _rows(html: str) -> list[str]:
    """Author handles of the influencer table, in order."""
    body = html.split('<table class="table influencers">')[1].split("</table>", maxsplit=1)[0]
    return [
        name.strip()
        for name in re.findall(
            r'<tr id="author-\d+">\s*<td class="num">\d+</td>\s*<td class="handle">(?:<a [^>]*>)?([^<]+)',
            body,
        )
    ]


def _as(
    app: FastAPI, engine: Engine, settings: Settings, workspace_id: int, role: Role
) -> TestClient:
    user_id = member(engine, workspace_id, role, f"{role.value}@acme.example")
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set(SESSION_COOKIE, session_cookie(engine, settings, user_id))
    return client


def test_influencer_table_ranks_explains_and_filters(
    client: TestClient, buzz: dict[str, int]
) -> None:
    page = client.get("/w/acme/influencers", params={"topic": "skates"})
    assert page.status_code == 200
    handles = _rows(page.text)
    assert handles[0] == "amira.example"  # reshared by six fans and a bot
    assert "dora.example" not in handles  # off topic
    assert "chen@mastodon.example" in handles
    assert 'href="https://bsky.app/profile/amira.example"' in page.text
    amira_row = page.text.split("amira.example</a>")[1].split("</tr>")[0]
    assert (
        amira_row.count('class="num') >= 6
    )  # score, reach, resonance, relevance, authority, followers
    whole = _rows(client.get("/w/acme/influencers").text)
    assert "dora.example" in whole

    mastodon = _rows(
        client.get("/w/acme/influencers", params={"topic": "skates", "network": "mastodon"}).text
    )
    assert mastodon == ["chen@mastodon.example"]
    flagged = client.get("/w/acme/influencers", params={"topic": "skates"}).text
    assert "reshare_only" in flagged.split("bot.example")[1].split("</tr>")[0]
    hidden = _rows(
        client.get("/w/acme/influencers", params={"topic": "skates", "hide_flagged": "1"}).text
    )
    assert "bot.example" in handles and "bot.example" not in hidden
    high = _rows(
        client.get("/w/acme/influencers", params={"topic": "skates", "min_score": "0.5"}).text
    )
    assert high and set(high) < set(handles) and "amira.example" in high
    by_followers = _rows(
        client.get("/w/acme/influencers", params={"topic": "skates", "sort": "followers"}).text
    )
    assert by_followers[:2] == ["celeb.example", "amira.example"]
    ascending = _rows(
        client.get(
            "/w/acme/influencers", params={"topic": "skates", "sort": "followers", "order": "asc"}
        ).text
    )
    assert ascending[-2:] == ["amira.example", "celeb.example"]
    bad = client.get("/w/acme/influencers", params={"min_score": "lots"})
    assert bad.status_code == 400 and 'id="filter-error"' in bad.text
    assert client.get("/w/acme/influencers", params={"topic": "nope"}).status_code == 404


def test_the_ranking_pages_past_its_first_rows(
    client: TestClient, buzz: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _rows(client.get("/w/acme/influencers", params={"sort": "followers"}).text)
    monkeypatch.setattr(influence, "MAX_ROWS", 3)  # the page size, not a behaviour
    seen: list[str] = []
    url: str | None = "/w/acme/influencers?sort=followers"
    while url is not None:
        page = client.get(url).text
        seen += _rows(page)
        after = re.search(r'<a href="\?([^"]*)" rel="next">', page)
        url = f"/w/acme/influencers?{unescape(after.group(1))}" if after else None
    assert seen == whole and len(whole) > 3  # every row once, in the chosen order
    assert "rows 1–3 shown" in client.get("/w/acme/influencers").text
    bad = client.get("/w/acme/influencers", params={"page": "99"})
    assert bad.status_code == 400 and "is not one of 1 to" in bad.text
    huge = client.get("/w/acme/influencers", params={"page": "9" * 5000})  # int() refuses it
    assert huge.status_code == 422 and "page" in huge.text


def test_marking_for_managers_not_viewers(
    app: FastAPI, engine: Engine, settings: Settings, workspace_id: int, buzz: dict[str, int]
) -> None:
    celeb = _author_id(engine, workspace_id, "celeb.example")
    viewer = _as(app, engine, settings, workspace_id, Role.VIEWER)
    page = viewer.get("/w/acme/influencers")
    assert page.status_code == 200 and "/influencers/mark" not in page.text
    refused = viewer.post(
        "/w/acme/influencers/mark",
        data={"author_id": celeb, "mark": "competitor", "csrf_token": csrf_token(page.text)},
    )
    assert refused.status_code == 403

    manager = _as(app, engine, settings, workspace_id, Role.MANAGER)
    page = manager.get("/w/acme/influencers", params={"topic": "skates"})
    token = csrf_token(page.text)
    assert "/influencers/mark" in page.text
    no_csrf = manager.post(
        "/w/acme/influencers/mark", data={"author_id": celeb, "mark": "competitor"}
    )
    assert no_csrf.status_code == 403
    done = manager.post(
        "/w/acme/influencers/mark",
        data={"author_id": celeb, "mark": "competitor", "topic": "skates", "csrf_token": token},
        follow_redirects=False,
    )
    assert (
        done.status_code == 303 and done.headers["location"] == "/w/acme/influencers?topic=skates"
    )
    marked = _rows(manager.get("/w/acme/influencers", params={"mark": "competitor"}).text)
    assert marked == ["celeb.example"]
    row = manager.get("/w/acme/influencers").text.split(f'id="author-{celeb}"')[1].split("</tr>")[0]
    assert '<span class="badge mark competitor">competitor</span>' in row
    bad = manager.post(
        "/w/acme/influencers/mark", data={"author_id": celeb, "mark": "friend", "csrf_token": token}
    )
    assert bad.status_code == 400
    for refused_form in ({"author_id": 2**64}, {"author_id": 0}, {"action": "explode"}):
        form = {"author_id": celeb, "mark": "competitor", "csrf_token": token} | refused_form
        assert manager.post("/w/acme/influencers/mark", data=form).status_code == 422, form
    manager.post(
        "/w/acme/influencers/mark",
        data={"author_id": celeb, "mark": "competitor", "action": "remove", "csrf_token": token},
    )
    assert _rows(manager.get("/w/acme/influencers", params={"mark": "competitor"}).text) == []
    with transaction(engine) as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-2:] == ["author.mark", "author.unmark"]


def test_community_map_and_cards(client: TestClient, buzz: dict[str, int]) -> None:
    page = client.get("/w/acme/communities", params={"topic": "skates"})
    assert page.status_code == 200
    svg = page.text.split('<svg class="network-map"')[1].split("</svg>")[0]
    circles = re.findall(r'<circle class="comm(\d+)" cx="([\d.]+)" cy="([\d.]+)"', svg)
    assert len(circles) >= 10
    assert {community for community, _, _ in circles} - {"0"}  # coloured by community
    assert all(0 <= float(x) <= 800 and 0 <= float(y) <= 600 for _, x, y in circles)
    assert len({(x, y) for _, x, y in circles}) == len(circles)  # a layout, not a pile
    assert "<line " in svg
    cards = page.text.split('<ol class="cards communities">')[1]
    assert 'id="community-1"' in cards and "amira.example" in cards and "#skates" in cards
    again = client.get("/w/acme/communities", params={"topic": "skates"}).text
    assert sorted(re.findall(r'<circle class="(comm\d+)"', again)) == sorted(
        f"comm{c}" for c, _, _ in circles
    )


def test_cascade_list_and_tree(client: TestClient, buzz: dict[str, int]) -> None:
    listing = client.get("/w/acme/cascades", params={"topic": "skates"})
    assert listing.status_code == 200
    first = listing.text.split("<tbody>")[1].split("</tr>")[0]
    assert f'id="cascade-{buzz["amira"]}"' in first and '<td class="num size">10</td>' in first
    assert f'id="cascade-{buzz["dora"]}"' not in listing.text
    assert f'id="cascade-{buzz["dora"]}"' in client.get("/w/acme/cascades").text

    page = client.get(f"/w/acme/cascades/{buzz['amira']}")
    assert page.status_code == 200
    assert '<dd class="num" id="size">10 people</dd>' in page.text
    assert '<dd class="num" id="depth">2</dd>' in page.text  # erin answered fan0's reshare
    assert '<dd class="num" id="breadth">8</dd>' in page.text
    assert 'id="starter">amira.example<' in page.text
    amplifiers = page.text.split('<ol class="amplifiers">')[1].split("</ol>")[0]
    assert "fan0.example" in amplifiers
    tree = page.text.split('<svg class="cascade-tree"')[1].split("</svg>")[0]
    assert len(re.findall(r'<circle class="node ', tree)) == 10
    assert len(re.findall(r'<path class="link ', tree)) == 9
    xs = [float(x) for x in re.findall(r'<circle class="node \w+" cx="([\d.]+)"', tree)]
    assert xs == sorted(xs)  # x is time since the root: adoptions come in time order
    assert client.get(f"/w/acme/cascades/{buzz['dora-reply']}").status_code == 200
    assert client.get("/w/acme/cascades/999999999").status_code == 404


def test_seeding_planner_beats_or_equals_followers(
    client: TestClient, engine: Engine, workspace_id: int, buzz: dict[str, int]
) -> None:
    form = client.get("/w/acme/seeding", params={"topic": "skates"})
    assert form.status_code == 200 and 'id="imm"' not in form.text
    page = client.get("/w/acme/seeding", params={"topic": "skates", "k": "1", "model": "IC"})
    assert page.status_code == 200, page.text
    reach = {
        key: float(re.search(rf'id="{key}".*?data-reach="([\d.]+)"', page.text, re.S).group(1))  # type: ignore[union-attr]
        for key in ("imm", "top_by_followers", "top_by_pagerank")
    }
    imm = page.text.split('id="imm"')[1].split("</section>")[0]
    followers = page.text.split('id="top_by_followers"')[1].split("</section>")[0]
    assert "amira.example" in imm and "celeb.example" in followers
    assert reach["imm"] >= reach["top_by_followers"] and reach["imm"] > 1
    lt = client.get(
        "/w/acme/seeding",
        params={"topic": "skates", "k": "2", "model": "LT", "force": "celeb.example"},
    )
    assert (
        lt.status_code == 200 and "celeb.example" in lt.text.split('id="imm"')[1].split("</ol>")[0]
    )
    with transaction(engine) as session:
        mark_author(
            session, workspace_id, _author_id(engine, workspace_id, "amira.example"), "advocate"
        )
    kept = client.get("/w/acme/seeding", params={"topic": "skates", "k": "1"}).text
    skipped = client.get(
        "/w/acme/seeding", params={"topic": "skates", "k": "1", "exclude": "advocate"}
    ).text
    assert "amira.example" in kept.split('id="imm"')[1].split("</ol>")[0]
    assert "amira.example" not in skipped.split('id="imm"')[1].split("</ol>")[0]
    assert 'value="advocate" checked' in skipped
    assert client.get("/w/acme/seeding", params={"k": "500"}).status_code == 400
    assert (
        client.get("/w/acme/seeding", params={"k": "2", "force": "nobody.example"}).status_code
        == 400
    )


def test_seeding_planner_leaves_out_flagged_accounts_unless_asked(
    client: TestClient, buzz: dict[str, int]
) -> None:
    """The bot only ever reshares: flagged, so never seeded unless the box is ticked."""
    page = client.get("/w/acme/seeding", params={"k": "3"})
    assert page.status_code == 200, page.text
    flagged = page.text.split('id="excluded-flagged"')[1].split("</details>")[0]
    assert "1 left out for authenticity flags" in flagged
    assert '<span class="handle">bot.example</span>' in flagged and "reshare only" in flagged
    assert 'name="include_flagged" value="1">' in page.text  # unticked
    ticked = client.get("/w/acme/seeding", params={"k": "3", "include_flagged": "1"})
    assert ticked.status_code == 200 and 'id="excluded-flagged"' not in ticked.text
    assert 'name="include_flagged" value="1" checked' in ticked.text


def test_seeding_planner_skips_accounts_and_keeps_within_a_budget(
    client: TestClient, buzz: dict[str, int]
) -> None:
    def imm_list(params: dict[str, str]) -> str:
        page = client.get("/w/acme/seeding", params={"topic": "skates", "k": "2", **params})
        assert page.status_code == 200, page.text
        return page.text.split('id="imm"')[1].split("</section>")[0]

    assert "amira.example" in imm_list({})
    assert "amira.example" not in imm_list({"skip": "amira.example"})
    # amira costs more than the whole budget: no list may hold her, each keeps within it.
    priced = imm_list({"costs": "amira.example 5, celeb.example 2", "budget": "2"})
    assert "amira.example" not in priced and 'class="cost">' in priced
    page = client.get(
        "/w/acme/seeding",
        params={"topic": "skates", "k": "2", "costs": "amira.example 5", "budget": "2"},
    ).text
    costs = [float(c) for c in re.findall(r'class="cost">([\d.]+)<', page)]
    assert len(costs) == 3 and all(c <= 2 for c in costs)
    for bad in ({"costs": "amira.example", "budget": "2"}, {"budget": "-1"}, {"skip": "nobody"}):
        refused = client.get("/w/acme/seeding", params={"topic": "skates", "k": "2", **bad})
        assert refused.status_code == 400 and 'id="seed-error"' in refused.text


def test_other_workspaces_are_404(
    client: TestClient, engine: Engine, settings: Settings, workspace_id: int, buzz: dict[str, int]
) -> None:
    with transaction(engine) as session:
        globex = ensure_workspace(session, "globex", "Globex").id
    member(engine, globex, Role.OWNER, "owner@globex.example")
    ingest(
        engine, settings, globex, [record_event(1, native_id="bluesky:g:1", author=_author("gina"))]
    )
    with transaction(engine) as session:
        foreign_post = session.scalar(select(Post.id).where(Post.workspace_id == globex))
    foreign_author = _author_id(engine, globex, "gina.example")
    for path in ("influencers", "communities", "cascades", "seeding", f"cascades/{buzz['amira']}"):
        assert client.get(f"/w/globex/{path}").status_code == 404, path
    assert client.get(f"/w/acme/cascades/{foreign_post}").status_code == 404
    token = csrf_token(client.get("/w/acme/influencers").text)
    refused = client.post(
        "/w/acme/influencers/mark",
        data={"author_id": foreign_author, "mark": "blocked", "csrf_token": token},
    )
    assert refused.status_code == 400
    with transaction(engine) as session:
        assert session.scalars(select(AuthorMark)).all() == []


def test_user_text_is_escaped_everywhere(client: TestClient, buzz: dict[str, int]) -> None:
    pages = [
        client.get("/w/acme/influencers", params={"topic": "skates"}),
        client.get("/w/acme/communities", params={"topic": "skates"}),
        client.get("/w/acme/cascades", params={"topic": "skates"}),
        client.get(f"/w/acme/cascades/{buzz['amira']}"),
        client.get(f"/w/acme/cascades/{buzz['hostile']}"),
        client.get("/w/acme/seeding", params={"topic": "skates", "k": "9"}),
    ]
    for page in pages:
        assert page.status_code == 200, page.url
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, page.url
        assert "javascript:" not in page.text and "<b>bold" not in page.text, page.url
    assert "&lt;script&gt;alert(&#34;handle&#34;)&lt;/script&gt;" in pages[0].text
    assert "&lt;script&gt;alert(&quot;handle&quot;)&lt;/script&gt;" in pages[3].text  # SVG
    assert "&lt;img src=x onerror=alert(&#39;text&#39;)&gt;" in pages[4].text


def test_influencer_and_cascade_pages_in_a_phone_browser(
    browser: Any, live_server: LiveServer, buzz: dict[str, int], owner_cookie: str
) -> None:
    """Real Chromium at 390 px: the pages fit the screen (the wide table scrolls in its own
    box), the pictures are drawn, and the hostile handle shows as text without running."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.add_cookies([{"name": SESSION_COOKIE, "value": owner_cookie, "url": live_server.url}])
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for path, picture in (
        ("/w/acme/influencers?topic=skates", "table.influencers"),
        (f"/w/acme/cascades/{buzz['amira']}", "svg.cascade-tree"),
        ("/w/acme/communities?topic=skates", "svg.network-map"),
    ):
        response = page.goto(live_server.url + path, wait_until="load")
        assert response is not None and response.status == 200, path
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 390, f"{path}: content is {width}px wide on a 390px phone"
        box = page.locator(picture).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100, path
        assert page.evaluate("typeof window.__pwned") == "undefined"
    page.goto(live_server.url + "/w/acme/influencers?topic=skates", wait_until="load")
    assert HOSTILE in page.locator("table.influencers").inner_text()
    assert page.locator("svg.cascade-tree").count() == 0
    page.goto(live_server.url + f"/w/acme/cascades/{buzz['amira']}", wait_until="load")
    nodes = page.locator("svg.cascade-tree circle.node")
    assert nodes.count() == 10
    assert nodes.first.bounding_box()["width"] > 2  # type: ignore[index]
    assert dialogs == []
    context.close()


def test_a_topic_without_matches_renders_empty_pages(
    client: TestClient, engine: Engine, workspace_id: int, buzz: dict[str, int]
) -> None:
    with transaction(engine) as session:
        add_topic(session, workspace_id, "quiet", "zeppelin", "other")
    influencers = client.get("/w/acme/influencers", params={"topic": "quiet"})
    assert influencers.status_code == 200 and _rows(influencers.text) == []
    communities = client.get("/w/acme/communities", params={"topic": "quiet"})
    assert (
        communities.status_code == 200
        and "No interactions between authors yet." in communities.text
    )
    cascades = client.get("/w/acme/cascades", params={"topic": "quiet"})
    assert cascades.status_code == 200 and 'id="cascade-' not in cascades.text
    seeding = client.get("/w/acme/seeding", params={"topic": "quiet", "k": "3"})
    assert seeding.status_code == 200 and 'id="seed-error"' in seeding.text


def test_pages_are_cached_until_new_posts_arrive(
    app: FastAPI,
    client: TestClient,
    engine: Engine,
    settings: Settings,
    workspace_id: int,
    buzz: dict[str, int],
) -> None:
    """A repeat view is served from the cache; a new post (whether the graph job or the page
    brings the persisted graph up to date) and a new mark each show on the next view."""
    first = _rows(client.get("/w/acme/influencers", params={"topic": "skates"}).text)
    cache = app.state.influence_cache
    hits = cache.hits
    assert _rows(client.get("/w/acme/influencers", params={"topic": "skates"}).text) == first
    assert cache.hits == hits + 1
    with Session(engine) as session:  # the page brought the persisted graph up to date
        assert graph_freshness(session, workspace_id, 0) is not None

    start = utcnow() - timedelta(hours=1)
    newcomer = _author("zed", 40)
    events = [
        record_event(200, author=newcomer, native_id="bluesky:zed",
                     text="Zed's skates review", created_at=start.isoformat())
    ]  # fmt: skip
    for i in range(12):
        events.append(
            record_event(
                201 + i,
                author=_author(f"zfan{i}", 5),
                native_id=f"bluesky:zfan{i}",
                kind="reshare",
                reshare_of="bluesky:zed",
                text="skates",
                created_at=(start + timedelta(minutes=i + 1)).isoformat(),
            )
        )
    ingest(engine, settings, workspace_id, events)
    with transaction(engine) as session:  # what the worker's graph job does
        while update_interaction_edges(session, workspace_id).scanned:
            pass
    after = _rows(client.get("/w/acme/influencers", params={"topic": "skates"}).text)
    assert after[0] == "zed.example" and "zed.example" not in first
    cascades = client.get("/w/acme/cascades", params={"topic": "skates"}).text
    assert "zed.example" in cascades.split("<tbody>")[1].split("</tr>")[0]

    more = [
        record_event(300 + i, author=_author(f"yfan{i}", 5), native_id=f"bluesky:yfan{i}",
                     kind="reshare", reshare_of="bluesky:amira", text="skates",
                     created_at=(start + timedelta(minutes=30 + i)).isoformat())
        for i in range(20)
    ]  # fmt: skip
    ingest(engine, settings, workspace_id, more)  # no graph job: the page catches up itself
    again = client.get("/w/acme/influencers", params={"topic": "skates"})
    assert _rows(again.text)[0] == "amira.example"
    zed = _author_id(engine, workspace_id, "zed.example")
    with transaction(engine) as session:
        mark_author(session, workspace_id, zed, "blocked")
    assert "zed.example" not in _rows(
        client.get("/w/acme/influencers", params={"topic": "skates"}).text
    )
