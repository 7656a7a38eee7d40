"""``hubbub user`` and ``hubbub token`` through the real ``hubbub`` command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from typer.testing import Result

from hubbub.accounts.models import ApiToken, User
from hubbub.accounts.queries import token_for_bearer
from hubbub.accounts.security import verify_password
from tests.support.cli import Invoke, hubbub_cli

PASSWORD = "correct horse battery staple"


@pytest.fixture
def hubbub(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    with hubbub_cli(db_url, tmp_path / "home", monkeypatch) as invoke:
        yield invoke


def _users(db_url: str) -> list[User]:
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(User).order_by(User.id)))
    finally:
        engine.dispose()


def test_user_create_reads_the_password_from_stdin_or_a_hidden_prompt(
    hubbub: Invoke, db_url: str
) -> None:
    made = hubbub(
        "user",
        "create",
        "--email",
        "Amira@Example.com",
        "--workspace",
        "default",
        "--role",
        "owner",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert "created as owner of default" in made.output
    prompted = hubbub(
        "user",
        "create",
        "--email",
        "bruno@example.com",
        "--workspace",
        "default",
        "--role",
        "viewer",
        input=f"{PASSWORD}2\n{PASSWORD}2\n",
    )
    assert PASSWORD not in prompted.output  # hidden: the typed password is not echoed
    users = _users(db_url)
    assert [u.email for u in users] == ["amira@example.com", "bruno@example.com"]
    assert verify_password(users[0].password_hash, PASSWORD)
    assert verify_password(users[1].password_hash, PASSWORD + "2")
    short = hubbub(
        "user",
        "create",
        "--email",
        "c@example.com",
        "--workspace",
        "default",
        "--role",
        "viewer",
        "--password-stdin",
        input="short\n",
        code=1,
    )
    assert "at least 12 characters" in short.output
    listing = hubbub("user", "list").output
    assert "amira@example.com" in listing and "default:owner" in listing
    assert "default:viewer" in listing
    hubbub(
        "user", "role", "--email", "bruno@example.com", "--workspace", "default", "--role", "admin"
    )
    assert "default:admin" in hubbub("user", "list").output
    last = hubbub(
        "user",
        "role",
        "--email",
        "amira@example.com",
        "--workspace",
        "default",
        "--role",
        "viewer",
        code=1,
    )
    assert "last owner" in last.output
    hubbub("user", "remove", "--email", "bruno@example.com", "--workspace", "default")
    assert "bruno@example.com" in hubbub("user", "list").output  # the account stays
    hubbub(
        "user",
        "password",
        "--email",
        "bruno@example.com",
        "--password-stdin",
        input="a new long passphrase\n",
    )
    assert verify_password(_users(db_url)[1].password_hash, "a new long passphrase")


def test_token_create_prints_the_token_once_then_revoke(hubbub: Invoke, db_url: str) -> None:
    made = hubbub("token", "create", "--workspace", "default", "--role", "analyst", "--name", "ci")
    plaintext = made.stdout.strip().splitlines()[-1]
    assert plaintext.startswith("hbb_")
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            assert token_for_bearer(session, plaintext) is not None
            token_id = session.scalars(select(ApiToken.id)).one()
        listing = hubbub("token", "list", "--workspace", "default").output
        assert "ci" in listing and "analyst" in listing and plaintext not in listing
        hubbub("token", "revoke", str(token_id), "--workspace", "default")
        with Session(engine) as session:
            assert token_for_bearer(session, plaintext) is None
        missing = hubbub("token", "revoke", "999", "--workspace", "default", code=1)
        assert "no token 999" in missing.output
    finally:
        engine.dispose()
    bad = hubbub(
        "token", "create", "--workspace", "default", "--role", "root", "--name", "x", code=2
    )
    assert "root" in bad.output


def test_user_create_checks_the_address_and_marks_made_up_passwords(
    hubbub: Invoke, db_url: str
) -> None:
    def create(email: str, *extra: str, code: int = 0) -> Result:
        return hubbub(
            "user",
            "create",
            "--email",
            email,
            "--workspace",
            "default",
            "--role",
            "viewer",
            "--password-stdin",
            *extra,
            input=PASSWORD + "\n",
            code=code,
        )

    refused = create("x@y", code=1)
    assert "the domain needs a dot" in refused.output
    assert _users(db_url) == []
    create("own@example.com")
    create("made.up@example.com", "--one-time")
    own, made_up = _users(db_url)
    assert own.must_change_password_at is None
    assert made_up.must_change_password_at is not None
    # Setting a password from the command line counts as the user's own unless --one-time.
    hubbub(
        "user",
        "set-password",
        "--email",
        "made.up@example.com",
        "--password-stdin",
        input="their own passphrase\n",
    )
    hubbub(
        "user",
        "set-password",
        "--email",
        "own@example.com",
        "--password-stdin",
        "--one-time",
        input="made up by an admin\n",
    )
    own, made_up = _users(db_url)
    assert made_up.must_change_password_at is None
    assert own.must_change_password_at is not None
