"""Real-browser tests: Playwright drives Debian's Chromium against uvicorn on 127.0.0.1.

Skipped with a reason when Chromium or playwright is missing, failed under ``CI=true``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.accounts.models import ApiToken
from hubbub.core.items import RawEvent
from hubbub.settings import Settings
from hubbub.sources.actions import add_source, record_source_error
from hubbub.store.engine import transaction
from hubbub.web.auth import SESSION_COOKIE
from tests.support.data import shared_path
from tests.support.factories import jsonl_event
from tests.web.conftest import (
    OWNER,
    PASSWORD,
    LiveServer,
    ingest,
    member,
    record_event,
)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# Each payload would set window.__pwned or open a dialog if the browser ever ran it.
XSS_TEXTS = [
    "<script>window.__pwned = 'script'; alert('script')</script>",
    "<img src=x onerror=\"window.__pwned='img'; alert('img')\">",
    "<svg onload=\"window.__pwned='svg'; alert('svg')\"><circle r=5></circle></svg>",
    "</p></li></ol><script>window.__pwned='broken'</script><p class=\"text",
    "<iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe>",
    "<a href=\"javascript:window.__pwned='anchor'\">click me</a>",
    "<details open ontoggle=\"window.__pwned='details'\">x</details>",
    "<<script>script>window.__pwned='nested'<</script>/script>",
    "<body onload=\"window.__pwned='body'\">",
    "<style>@import 'http://127.0.0.1:9/x.css';</style><b>unclosed <i>tags",
]
XSS_URLS = [
    "javascript:window.__pwned='url';alert('url')",
    "JaVaScRiPt:window.__pwned='url-case'",
    " javascript:window.__pwned='url-space'",
    "java\tscript:window.__pwned='url-tab'",
    "data:text/html,<script>alert('data')</script>",
    "https://example.com/\"><script>window.__pwned='attr'</script>",
]


@pytest.fixture
def hostile(engine: Engine, settings: Settings, workspace_id: int) -> int:
    """Posts, an author, a source error and a dead letter all carrying XSS payloads."""
    events = [jsonl_event(n, text=text) for n, text in enumerate(XSS_TEXTS, start=1)]
    events += [
        jsonl_event(n, text=f"url payload {n}", url=url)
        for n, url in enumerate(XSS_URLS, start=len(XSS_TEXTS) + 1)
    ]
    events.append(
        record_event(
            50,
            text="author payload",
            title="<script>window.__pwned='title'</script>",
            author={
                "native_id": "did:plc:evil",
                "handle": "<img src=x onerror=alert('handle')>",
                "display_name": '"><svg onload="window.__pwned=\'name\'">',
            },
        )
    )
    events.append(RawEvent(payload=b"<script>window.__pwned='letter'</script>", format="jsonl"))
    with transaction(engine) as session:
        source_id = add_source(
            session,
            settings,
            workspace_id,
            "rss",
            "evil-feed",
            {"url": "https://feed.example/rss"},
            {},
        ).id
    result = ingest(engine, settings, workspace_id, events, source_id=source_id)
    assert result.rejected == 1
    with transaction(engine) as session:
        record_source_error(session, source_id, "<img src=x onerror=\"window.__pwned='error'\">")
    return len(events) - 1


def _open(
    browser: Any,
    server: LiveServer,
    path: str,
    viewport: dict[str, int],
    bypass_csp: bool = False,
    cookie: str | None = None,
) -> tuple[Any, list[str]]:
    """A fresh page at ``path`` (signed in with ``cookie``); any dialog (alert, confirm …) is
    recorded and dismissed."""
    context = browser.new_context(
        viewport=viewport, bypass_csp=bypass_csp, java_script_enabled=True
    )
    if cookie is not None:
        context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": server.url}])
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    response = page.goto(server.url + path, wait_until="load")
    assert response is not None and response.status == 200
    return page, dialogs


def test_posts_page_renders_the_posts(
    browser: Any,
    live_server: LiveServer,
    engine: Engine,
    settings: Settings,
    workspace_id: int,
    owner_cookie: str,
) -> None:
    ingest(
        engine,
        settings,
        workspace_id,
        [jsonl_event(n, text=f"Browser post {n}") for n in range(1, 4)],
    )
    page, _ = _open(browser, live_server, "/", DESKTOP, cookie=owner_cookie)
    assert page.url.endswith("/w/acme/posts")
    assert page.locator("li.post").count() == 3
    assert page.locator("li.post .text").all_inner_texts() == [
        "Browser post 3",
        "Browser post 2",
        "Browser post 1",
    ]
    assert page.locator("#total").inner_text() == "3"
    # the stylesheet loaded from our own origin (CSP allows nothing else) and applies
    assert page.eval_on_selector("li.post", "e => getComputedStyle(e).borderStyle") == "solid"
    page.fill("input[name=contains]", "post 2")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**contains=post+2**")
    assert page.locator("li.post .text").all_inner_texts() == ["Browser post 2"]
    page.context.close()


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "escaping-alone"])
def test_xss_payloads_show_as_text_and_never_run(
    browser: Any, live_server: LiveServer, hostile: int, bypass_csp: bool, owner_cookie: str
) -> None:
    """With the CSP bypassed too, so the escaping is proven on its own, not hidden by CSP."""
    for path in ("/w/acme/posts", "/w/acme/sources", "/w/acme/deadletters"):
        page, dialogs = _open(browser, live_server, path, DESKTOP, bypass_csp, owner_cookie)
        page.wait_for_timeout(150)  # give onload/onerror handlers a moment to fire, if any
        assert dialogs == [], path
        assert page.evaluate("typeof window.__pwned") == "undefined", path
        # Our own disclosure widgets carry a class; a post's <details> would not.
        ours = ":not(.add-source):not(.credentials)"
        for tag in ("script", "iframe", "svg", "img", f"details{ours}", "style", "i", "b"):
            assert page.locator(f"main {tag}").count() == 0, (path, tag)
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        assert all(h.startswith((live_server.url, "https://")) for h in hrefs)
        if path == "/w/acme/posts":
            shown = page.locator("li.post .text").all_inner_texts()
            assert set(XSS_TEXTS) <= set(shown)
            assert page.locator("li.post").count() == hostile
            unsafe = page.locator("code.unsafe-url").all_inner_texts()
            assert len(unsafe) == len(XSS_URLS) - 1
            links = page.locator("a.original")
            assert links.count() == 1
            assert links.get_attribute("href") == XSS_URLS[-1]
            assert (
                "<img src=x onerror=alert('handle')>" in page.locator(".handle").all_inner_texts()
            )
        if path == "/w/acme/sources":
            assert "window.__pwned='error'" in page.locator(".error-text").inner_text()
        if path == "/w/acme/deadletters":
            page.click("a[href^='/w/acme/deadletters/']")
            page.wait_for_selector("pre.payload")
            assert page.locator("pre.payload").inner_text() == (
                "<script>window.__pwned='letter'</script>"
            )
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert dialogs == []
        page.context.close()


def _screenshot_fits(page: Any, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{path.name}: content is {width}px wide on a 390px phone"


def test_phone_layout_has_no_horizontal_overflow(
    browser: Any,
    live_server: LiveServer,
    engine: Engine,
    settings: Settings,
    workspace_id: int,
    tmp_path: Path,
    owner_cookie: str,
) -> None:
    """Long unbroken words and URLs, real Bluesky posts, every page, at 390×844."""
    long_word = "Acme" * 60
    events = [
        jsonl_event(1, text=long_word, url="https://example.com/" + "segment/" * 40),
        jsonl_event(2, text="Emoji 🚀🛼 and RTL עברית text " * 6, url="gopher://" + "x" * 300),
        RawEvent(
            payload=b'{"v": 1, "type": "' + b"y" * 500 + b'"}', format="jsonl", cursor="c" * 300
        ),
    ]
    for name in ("expected_v1.jsonl", "golden_v1.jsonl"):
        lines = shared_path("bluesky", "jetstream", name).read_bytes().splitlines()
        events += [RawEvent(payload=line, format="jetstream") for line in lines if line.strip()]
    with transaction(engine) as session:
        source_id = add_source(
            session,
            settings,
            workspace_id,
            "rss",
            "n" * 100,
            {"url": "https://feed.example/" + "p" * 200},
            {},
        ).id
    result = ingest(engine, settings, workspace_id, events, source_id=source_id)
    assert result.store.stored >= 15  # the real Bluesky posts made it in
    with transaction(engine) as session:
        record_source_error(session, source_id, "E" * 400)
    page, _ = _open(browser, live_server, "/w/acme/posts?limit=200", PHONE, cookie=owner_cookie)
    assert page.locator("li.post").count() == result.store.stored
    _screenshot_fits(page, tmp_path / "posts-phone.png")
    for name in ("sources", "tokens", "members", "audit", "accuracy", "deadletters"):
        page.goto(f"{live_server.url}/w/acme/{name}")
        _screenshot_fits(page, tmp_path / f"{name}-phone.png")
    page.click("a[href^='/w/acme/deadletters/']")
    page.wait_for_selector("pre.payload")
    _screenshot_fits(page, tmp_path / "deadletter-phone.png")
    page.context.close()


def test_sign_in_see_posts_csrf_less_post_refused_sign_out(
    browser: Any, live_server: LiveServer, engine: Engine, settings: Settings, workspace_id: int
) -> None:
    """The whole session as a person lives it, in the real browser."""
    ingest(engine, settings, workspace_id, [jsonl_event(1, text="Signed-in post")])
    member(engine, workspace_id, "owner", OWNER)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(live_server.url + "/w/acme/posts")
    assert page.url == live_server.url + "/login?next=%2Fw%2Facme%2Fposts"
    page.fill("input[name=email]", OWNER)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert page.locator("p.error").inner_text() == "Wrong e-mail or password."
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/w/acme/posts")
    assert page.locator("li.post .text").all_inner_texts() == ["Signed-in post"]
    assert OWNER in page.locator("form.account .who").inner_text()
    cookie = next(c for c in context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script can read it

    # The browser sends the session cookie, but without the form's token the POST is refused.
    refused = context.request.post(
        live_server.url + "/w/acme/tokens", form={"name": "forged", "role": "owner"}
    )
    assert refused.status == 403
    assert "CSRF" in refused.text()
    # The real form (which carries the token) works.
    page.goto(live_server.url + "/w/acme/tokens")
    page.fill("input[name=name]", "from the form")
    page.click("form.filters button[type=submit]")
    assert page.locator("#new-token").inner_text().startswith("hbb_")
    with Session(engine) as session:
        names = list(session.scalars(select(ApiToken.name)))
        assert names == ["from the form"]
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 1

    page.click("form.account button[type=submit]")
    page.wait_for_url("**/login")
    page.goto(live_server.url + "/w/acme/posts")
    assert "/login" in page.url  # the old session is gone
    assert not any(c["name"] == SESSION_COOKIE and c["value"] for c in context.cookies())
    context.close()
