"""Password reset by e-mailed link, against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hubbub.accounts.actions import AccountError, create_user, start_session
from hubbub.accounts.models import AuditEntry, User, WebSession
from hubbub.accounts.queries import session_for_cookie
from hubbub.accounts.reset import (
    MAX_PER_EMAIL,
    PasswordReset,
    pending_count,
    request_reset,
    reset_password,
    send_reset_mail,
)
from hubbub.accounts.security import verify_password
from hubbub.cli.app import app
from hubbub.core.clock import utcnow
from hubbub.settings import Settings, get_settings
from hubbub.store.engine import transaction
from hubbub.web.app import create_app
from hubbub.web.auth import SESSION_COOKIE

EMAIL = "olivia@acme.example"
OLD = "correct horse battery staple"
NEW = "a brand new passphrase here"


@dataclass
class Mailbox:
    """What the local SMTP server received."""

    port: int = 0
    messages: list[Message] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook name)
        self.messages.append(message_from_bytes(envelope.original_content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _smtp(mailbox: Mailbox, **kwargs: Any) -> Iterator[Mailbox]:
    mailbox.port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port, **kwargs)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    yield from _smtp(Mailbox())


@pytest.fixture
def mail_settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "smtp_from": "hubbub@acme.example",
            "smtp_starttls": False,
        }
    )


@pytest.fixture
def user_id(engine: Engine) -> int:
    with transaction(engine) as session:
        return create_user(session, EMAIL, OLD).id


@pytest.fixture
def browser(mail_settings: Settings, engine: Engine, user_id: int) -> Iterator[TestClient]:
    with TestClient(create_app(mail_settings, engine), base_url="http://127.0.0.1") as client:
        yield client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def _ask(client: TestClient, email: str) -> Any:
    page = client.get("/forgot")
    assert page.status_code == 200
    return client.post("/forgot", data={"email": email, "csrf_token": _csrf(page.text)})


def _link(message: Message) -> str:
    found = re.search(r"http://127\.0\.0\.1(/reset/\S+)", message.get_payload(decode=True).decode())
    assert found, "no reset link in the mail"
    return found.group(1)


def _sign_in(client: TestClient, password: str) -> int:
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"email": EMAIL, "password": password, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    return answer.status_code


def test_a_mailed_link_sets_a_new_password_once_and_signs_everyone_out(
    browser: TestClient, mailbox: Mailbox, engine: Engine, settings: Settings, user_id: int
) -> None:
    with transaction(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        user.must_change_password_at = utcnow()  # a one-time password is pending
        other_browser, _ = start_session(session, user, settings)

    login = browser.get("/login")
    assert 'href="/forgot"' in login.text and "Forgot password?" in login.text
    answer = _ask(browser, EMAIL.upper())
    assert answer.status_code == 200
    assert "If the address belongs to an account, a link" in answer.text
    [mail] = mailbox.messages
    assert mail["To"] == EMAIL and mail["From"] == "hubbub@acme.example"
    path = _link(mail)
    with Session(engine) as session:
        stored = session.scalar(
            select(PasswordReset.token_hash).where(PasswordReset.user_id == user_id)
        )
    assert stored is not None and stored not in path, "only the token's digest is stored"

    form = browser.get(path)
    assert form.status_code == 200 and 'name="password"' in form.text
    differ = browser.post(
        path, data={"password": NEW, "confirm": NEW + "!", "csrf_token": _csrf(form.text)}
    )
    assert differ.status_code == 400 and "differ" in differ.text
    done = browser.post(
        path,
        data={"password": NEW, "confirm": NEW, "csrf_token": _csrf(form.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"
    assert "Your password was changed" in browser.get("/login?reset=1").text

    with Session(engine) as session:
        assert session_for_cookie(session, other_browser) is None, "other sessions ended"
        reset_user = session.get(User, user_id)
        assert reset_user is not None and reset_user.must_change_password_at is None
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert "password.reset_requested" in actions and "password.reset" in actions
    assert _sign_in(browser, OLD) == 400
    assert _sign_in(browser, NEW) == 303

    browser.cookies.delete(SESSION_COOKIE)
    again = browser.get(path)
    assert again.status_code == 400 and "invalid, used or expired" in again.text
    reuse = browser.post(
        path, data={"password": OLD, "confirm": OLD, "csrf_token": browser.cookies["hubbub_csrf"]}
    )
    assert reuse.status_code == 400 and "invalid, used or expired" in reuse.text
    assert _sign_in(browser, NEW) == 303


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    browser: TestClient, mailbox: Mailbox, engine: Engine
) -> None:
    known = _ask(browser, EMAIL)
    unknown = _ask(browser, "nobody@acme.example")
    assert known.status_code == unknown.status_code == 200
    strip = re.compile(r'name="csrf_token" value="[^"]+"')
    assert strip.sub("", known.text) == strip.sub("", unknown.text)
    assert len(mailbox.messages) == 1
    with Session(engine) as session:
        rows = list(session.scalars(select(PasswordReset).order_by(PasswordReset.id)))
    assert [r.token_hash is not None for r in rows] == [True, False]


def test_an_expired_link_is_refused(
    browser: TestClient, mailbox: Mailbox, engine: Engine, user_id: int
) -> None:
    _ask(browser, EMAIL)
    path = _link(mailbox.messages[0])
    with transaction(engine) as session:
        session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    page = browser.get(path)
    assert page.status_code == 400 and "expired" in page.text
    csrf = browser.cookies["hubbub_csrf"]
    post = browser.post(path, data={"password": NEW, "confirm": NEW, "csrf_token": csrf})
    assert post.status_code == 400
    assert _sign_in(browser, OLD) == 303


def test_requests_are_throttled_alike_for_known_and_unknown_addresses(
    browser: TestClient, mailbox: Mailbox
) -> None:
    for email in (EMAIL, "nobody@acme.example"):
        answers = [_ask(browser, email).status_code for _ in range(MAX_PER_EMAIL + 1)]
        assert answers == [200] * MAX_PER_EMAIL + [429]
    assert len(mailbox.messages) == MAX_PER_EMAIL


def test_without_smtp_the_page_points_to_the_command_line(
    settings: Settings, engine: Engine, user_id: int
) -> None:
    with TestClient(create_app(settings, engine), base_url="http://127.0.0.1") as client:
        page = client.get("/forgot")
        assert page.status_code == 200
        assert "unavailable" in page.text and "hubbub user set-password" in page.text
        assert 'action="/forgot"' not in page.text
        refused = client.post("/forgot", data={"email": EMAIL, "csrf_token": "x"})
        assert refused.status_code == 403  # no CSRF cookie: refused before anything else
        client.get("/login")
        token = client.cookies.get("hubbub_csrf")
        assert token
        answer = client.post("/forgot", data={"email": EMAIL, "csrf_token": token})
        assert answer.status_code == 400
    with Session(engine) as session:
        assert session.scalar(select(PasswordReset.id)) is None


def test_a_too_short_password_leaves_the_link_usable(
    engine: Engine, mail_settings: Settings, user_id: int
) -> None:
    with transaction(engine) as session:
        link = request_reset(session, mail_settings, EMAIL, address="127.0.0.1")
    assert link is not None
    with pytest.raises(AccountError, match="at least 12"), transaction(engine) as session:
        reset_password(session, link.token, "short")
    with transaction(engine) as session:
        assert pending_count(session, user_id) == 1
        reset_password(session, link.token, NEW)
    with Session(engine) as session:
        assert pending_count(session, user_id) == 0
        assert session.scalar(select(WebSession.id).where(WebSession.user_id == user_id)) is None


def test_smtp_authentication_is_used_when_configured(mail_settings: Settings) -> None:
    box = Mailbox()

    def authenticate(
        _server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        box.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"s3cret")

    for _ in _smtp(box, authenticator=authenticate, auth_require_tls=False):
        config = mail_settings.model_copy(
            update={
                "smtp_port": box.port,
                "smtp_username": "hubbub",
                "smtp_password": SecretStr("s3cret"),
            }
        )
        assert send_reset_mail(config, EMAIL, "http://127.0.0.1/reset/abc")
    assert box.logins == [("hubbub", "s3cret")]
    assert len(box.messages) == 1
    # With the server gone, sending fails quietly (the page's answer must not change).
    assert not send_reset_mail(config, EMAIL, "http://127.0.0.1/reset/def")


def test_set_password_from_the_command_line(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine, user_id: int
) -> None:
    """What the page points to when e-mail is off."""
    monkeypatch.setenv("HUBBUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HUBBUB_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            ["user", "set-password", "--email", EMAIL, "--password-stdin"],
            input=NEW + "\n",
            catch_exceptions=False,
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None and verify_password(user.password_hash, NEW)
