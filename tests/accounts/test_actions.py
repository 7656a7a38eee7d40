"""Account actions against the real database: hashing, roles, tokens, sessions, throttle, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hubbub.accounts.actions import (
    CLI,
    AccountError,
    Actor,
    LoginThrottled,
    add_member,
    change_role,
    check_new_email,
    create_token,
    create_user,
    login,
    logout,
    remove_member,
    revoke_token,
    set_password,
    setup_owner,
    start_session,
)
from hubbub.accounts.models import ApiToken, AuditEntry, LoginFailure, User, WebSession
from hubbub.accounts.permissions import PERMISSIONS, ROLES_ASCENDING, Role, Scope, allows, rank
from hubbub.accounts.queries import role_in, session_for_cookie, token_for_bearer, user_by_email
from hubbub.accounts.security import digest, hash_password, same, verify_password
from hubbub.core.clock import utcnow
from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.workspaces.actions import ensure_workspace

PASSWORD = "correct horse battery staple"


def _user(session: Session, email: str, role: Role | None = None, workspace_id: int = 0) -> User:
    user = create_user(session, email, PASSWORD)
    if role is not None:
        add_member(session, workspace_id, user, role)
    return user


def test_roles_are_ordered_and_every_workspace_permission_names_one() -> None:
    assert [r.value for r in ROLES_ASCENDING] == [
        "viewer",
        "analyst",
        "agent",
        "manager",
        "admin",
        "owner",
    ]
    assert [rank(r) for r in ROLES_ASCENDING] == list(range(6))
    for permission in PERMISSIONS.values():
        if permission.scope is Scope.WORKSPACE:
            assert permission.minimum is not None
            assert allows(permission, Role.OWNER)
            assert not allows(permission, None)
        else:
            assert permission.minimum is None


def test_users_get_argon2_hashes_and_unique_lowercased_emails(engine: Engine) -> None:
    with transaction(engine) as session:
        user = create_user(session, "  Amira@Example.COM ", PASSWORD, display_name="Amira")
        assert user.email == "amira@example.com"
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert verify_password(user.password_hash, PASSWORD)
        assert not verify_password(user.password_hash, PASSWORD + "!")
        assert not verify_password("not a hash", PASSWORD)
    with transaction(engine) as session, pytest.raises(AccountError, match="exists already"):
        create_user(session, "AMIRA@example.com", PASSWORD)
    for bad_email, password, message in [
        ("not-an-email", PASSWORD, "not an e-mail"),
        ("bruno@example.com", "short", "at least 12"),
        ("bruno@example.com", "x" * 1025, "at most 1024"),
    ]:
        with transaction(engine) as session, pytest.raises(AccountError, match=message):
            create_user(session, bad_email, password)


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("x@y", "the domain needs a dot"),
        ("", "an e-mail address is needed"),
        ("amira example@acme.example", "contains a space"),
        ("amira@acme .example", "contains a space"),
        ("amira@exa\tmple.com", "contains a space"),
        ("amira.acme.example", "needs one @"),
        ("@acme.example", "needs one @"),
        ("a@b@acme.example", "needs one @"),
        ("amira@", "the domain needs a dot"),
        ("amira@.example", "is not a domain"),
        ("amira@acme.", "is not a domain"),
        ("amira@acme..example", "is not a domain"),
        ("amira@-acme.example", "is not a domain"),
        ("amira@acme_corp.example", "is not a domain"),
        ("amira@10.0.0.1", "is not a domain"),
        ("a" * 65 + "@acme.example", "before @ is too long"),
        ("a" * 64 + "@" + "b" * 190 + ".example", "at most 254 characters"),
    ],
)
def test_new_users_need_an_address_of_the_shape_name_at_domain_tld(
    email: str, message: str
) -> None:
    with pytest.raises(AccountError, match=message):
        check_new_email(email)


def test_reserved_names_pass_and_the_address_is_lower_cased() -> None:
    assert check_new_email(" Owner@Demo.INVALID ") == "owner@demo.invalid"
    assert check_new_email("a.b+tag@lab.test") == "a.b+tag@lab.test"
    assert check_new_email("amira@mail.acme.example") == "amira@mail.acme.example"
    assert check_new_email("jörg@bücher.example") == "jörg@bücher.example"
    longest = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 53 + ".example"
    assert len(longest) == 254 and check_new_email(longest) == longest


def test_users_created_before_the_check_keep_their_address_and_can_sign_in(
    engine: Engine, settings: Settings
) -> None:
    with transaction(engine) as session:
        with pytest.raises(AccountError, match="the domain needs a dot"):
            create_user(session, "x@y", PASSWORD)
        legacy = User(email="x@y", display_name="x", password_hash=hash_password(PASSWORD))
        session.add(legacy)
    with transaction(engine) as session:
        assert user_by_email(session, "x@y") is not None
        assert login(session, "x@y", PASSWORD, settings, address="127.0.0.1") is not None


def test_a_generated_password_is_one_time_until_any_other_is_set(
    engine: Engine, settings: Settings
) -> None:
    with transaction(engine) as session:
        own = create_user(session, "amira@example.com", PASSWORD)
        made_up = create_user(session, "bruno@example.com", PASSWORD, one_time=True)
        assert own.must_change_password_at is None
        assert made_up.must_change_password_at is not None
        here, here_web = start_session(session, made_up, settings)
        elsewhere, _ = start_session(session, made_up, settings)
    with transaction(engine) as session:
        user = user_by_email(session, "bruno@example.com")
        assert user is not None
        set_password(session, user, "one of my very own", keep_session=here_web.id)
        assert user.must_change_password_at is None
    with Session(engine) as session:
        assert session_for_cookie(session, here) is not None
        assert session_for_cookie(session, elsewhere) is None
    with transaction(engine) as session:
        user = user_by_email(session, "amira@example.com")
        assert user is not None
        set_password(session, user, "made up for amira", one_time=True)
        assert user.must_change_password_at is not None
        details = list(
            session.scalars(
                select(AuditEntry.detail)
                .where(AuditEntry.action.in_(["user.create", "user.password"]))
                .order_by(AuditEntry.id)
            )
        )
    assert [d.get("one_time", False) for d in details] == [False, True, False, True]


def test_roles_never_rise_above_the_granters_own_and_an_owner_always_remains(
    engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:
        owner = _user(session, "owner@example.com", Role.OWNER, workspace_id)
        admin = _user(session, "admin@example.com", Role.ADMIN, workspace_id)
        agent = _user(session, "agent@example.com")
        as_admin = Actor(user_id=admin.id)
        add_member(session, workspace_id, agent, Role.AGENT, actor=as_admin)
        with pytest.raises(AccountError, match="cannot grant the owner role"):
            change_role(session, workspace_id, agent, Role.OWNER, actor=as_admin)
        with pytest.raises(AccountError, match="cannot grant the owner role"):
            change_role(session, workspace_id, owner, Role.VIEWER, actor=as_admin)  # demoting
        with pytest.raises(AccountError, match="cannot grant the owner role"):
            create_token(session, workspace_id, Role.OWNER, "x", actor=as_admin)
        with pytest.raises(AccountError, match="member already"):
            add_member(session, workspace_id, agent, Role.VIEWER)
        with pytest.raises(AccountError, match="not a role"):
            add_member(session, workspace_id, owner, "superuser")
        with pytest.raises(AccountError, match="last owner"):
            change_role(session, workspace_id, owner, Role.ADMIN)
        with pytest.raises(AccountError, match="last owner"):
            remove_member(session, workspace_id, owner)
        change_role(session, workspace_id, admin, Role.OWNER, actor=Actor(user_id=owner.id))
        remove_member(session, workspace_id, owner, actor=Actor(user_id=admin.id))
        assert role_in(session, owner.id, workspace_id) is None
        assert role_in(session, admin.id, workspace_id) is Role.OWNER
        assert role_in(session, agent.id, workspace_id) is Role.AGENT


def test_members_of_another_workspace_cannot_act_on_this_one(
    engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:
        other = ensure_workspace(session, "globex").id
        outsider = _user(session, "boss@globex.example", Role.OWNER, other)
        target = _user(session, "someone@example.com")
        with pytest.raises(AccountError, match="not a member"):
            add_member(session, workspace_id, target, Role.VIEWER, actor=Actor(user_id=outsider.id))
        token, _ = create_token(session, other, Role.OWNER, "globex")
        with pytest.raises(AccountError, match="another workspace"):
            create_token(session, workspace_id, Role.VIEWER, "x", actor=Actor(token_id=token.id))
        mine, _ = create_token(session, workspace_id, Role.VIEWER, "acme")
        with pytest.raises(AccountError, match="no token"):
            revoke_token(session, other, mine.id)


def test_tokens_are_stored_as_digests_shown_once_and_revocable(
    engine: Engine, workspace_id: int
) -> None:
    with transaction(engine) as session:
        token, plaintext = create_token(session, workspace_id, Role.ANALYST, " reports ")
        assert plaintext.startswith("hbb_") and len(plaintext) > 40
        assert token.token_hash == digest(plaintext) and token.prefix == plaintext[:12]
        assert token.name == "reports"
    with Session(engine) as session:
        stored = session.scalars(select(ApiToken)).one()
        assert plaintext not in (stored.token_hash, stored.prefix, stored.name)
        found = token_for_bearer(session, plaintext)
        assert found is not None and found.role == "analyst"
        assert token_for_bearer(session, plaintext + "x") is None
        assert token_for_bearer(session, "") is None
    with transaction(engine) as session:
        revoke_token(session, workspace_id, token.id)
        revoke_token(session, workspace_id, token.id)  # twice: no error, one audit entry
    with Session(engine) as session:
        assert token_for_bearer(session, plaintext) is None
        revokes = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "token.revoke")
        )
        assert revokes == 1


def test_two_live_tokens_never_share_a_name(engine: Engine, workspace_id: int) -> None:
    with transaction(engine) as session:
        first, _ = create_token(session, workspace_id, Role.ANALYST, "zapier")
        other = ensure_workspace(session, "globex").id
        create_token(session, other, Role.ANALYST, "zapier")  # another workspace's own
    with pytest.raises(AccountError, match="'zapier' is in use already"):
        with transaction(engine) as session:
            create_token(session, workspace_id, Role.VIEWER, " Zapier ")
    with transaction(engine) as session:
        revoke_token(session, workspace_id, first.id)
        create_token(session, workspace_id, Role.VIEWER, "zapier")  # the name is free again


def test_sessions_expire_end_on_logout_and_on_password_change(
    engine: Engine, settings: Settings
) -> None:
    with transaction(engine) as session:
        user = create_user(session, "amira@example.com", PASSWORD)
        cookie, web = start_session(session, user, settings)
        other_cookie, _ = start_session(session, user, settings)
    assert web.id == digest(cookie) and web.csrf_secret and not same(web.csrf_secret, cookie)
    with Session(engine) as session:
        assert session_for_cookie(session, cookie) is not None
        later = utcnow() + timedelta(hours=settings.session_hours, seconds=1)
        assert session_for_cookie(session, cookie, now=later) is None
        assert session_for_cookie(session, "made-up") is None
    with transaction(engine) as session:
        found = session.get(WebSession, digest(cookie))
        assert found is not None
        logout(session, found)
    with transaction(engine) as session:
        assert session_for_cookie(session, cookie) is None
        assert session_for_cookie(session, other_cookie) is not None
        stored = user_by_email(session, "amira@example.com")
        assert stored is not None
        set_password(session, stored, "a brand new passphrase")
    with Session(engine) as session:
        assert session_for_cookie(session, other_cookie) is None


def test_login_throttles_by_account_and_address_and_audits_failures(
    engine: Engine, settings: Settings
) -> None:
    strict = settings.model_copy(
        update={"login_max_failures_per_account": 2, "login_max_failures_per_address": 3}
    )
    with transaction(engine) as session:
        create_user(session, "amira@example.com", PASSWORD)
    for _ in range(2):
        with transaction(engine) as session:
            assert (
                login(session, "amira@example.com", "nope nope nope", strict, address="10.0.0.1")
                is None
            )
    with transaction(engine) as session, pytest.raises(LoginThrottled, match="this account") as exc:
        login(session, "amira@example.com", PASSWORD, strict, address="10.0.0.2")
    assert 0 < exc.value.retry_after <= strict.login_throttle_seconds
    with transaction(engine) as session:
        assert (
            login(session, "ghost@example.com", "whatever-long", strict, address="10.0.0.1") is None
        )
    with transaction(engine) as session, pytest.raises(LoginThrottled, match="your address"):
        login(session, "bruno@example.com", PASSWORD, strict, address="10.0.0.1")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(LoginFailure)) == 3
        failed = session.scalars(
            select(AuditEntry.target).where(AuditEntry.action == "login.failed")
        ).all()
    assert len(failed) == 3 and "email:ghost@example.com" in failed


def test_setup_owner_only_once(engine: Engine, workspace_id: int) -> None:
    with transaction(engine) as session:
        user = setup_owner(session, "first@example.com", PASSWORD)
        assert role_in(session, user.id, workspace_id) is Role.OWNER
    with transaction(engine) as session, pytest.raises(AccountError, match="setup is done"):
        setup_owner(session, "second@example.com", PASSWORD)


def test_every_action_writes_one_audit_entry(
    engine: Engine, settings: Settings, workspace_id: int
) -> None:
    with transaction(engine) as session:
        user = create_user(session, "amira@example.com", PASSWORD)
        owner = create_user(session, "owner@example.com", PASSWORD)
        add_member(session, workspace_id, owner, Role.OWNER)
        add_member(session, workspace_id, user, Role.VIEWER, actor=Actor(user_id=owner.id))
        change_role(session, workspace_id, user, Role.AGENT, actor=Actor(user_id=owner.id))
        token, _ = create_token(session, workspace_id, Role.VIEWER, "t")
        revoke_token(session, workspace_id, token.id)
        set_password(session, user, "another long passphrase")
        _cookie, web = start_session(session, user, settings)
        logout(session, web)
        remove_member(session, workspace_id, user, actor=CLI)
    with Session(engine) as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.workspace_id, AuditEntry.actor_user_id).order_by(
                AuditEntry.id
            )
        ).all()
    assert [r.action for r in rows] == [
        "user.create",
        "user.create",
        "member.add",
        "member.add",
        "member.role",
        "token.create",
        "token.revoke",
        "user.password",
        "login",
        "logout",
        "member.remove",
    ]
    by_action = {r.action: r for r in rows}
    assert by_action["member.role"].actor_user_id == owner.id
    assert by_action["member.role"].workspace_id == workspace_id
    assert by_action["member.remove"].actor_user_id is None  # the command line


def test_hashes_verify_whichever_hasher_made_them_and_old_ones_are_upgraded(
    engine: Engine, settings: Settings
) -> None:
    from argon2 import PasswordHasher
    from argon2.profiles import RFC_9106_LOW_MEMORY

    from hubbub.accounts.security import needs_rehash, use_hasher

    with transaction(engine) as session:
        cheap_hash = create_user(session, "amira@example.com", PASSWORD).password_hash
    strong = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)  # the production default
    cheap = use_hasher(strong)
    try:
        assert PasswordHasher().check_needs_rehash(cheap_hash)
        assert verify_password(cheap_hash, PASSWORD) and needs_rehash(cheap_hash)
        with transaction(engine) as session:
            assert login(session, "amira@example.com", PASSWORD, settings, address="x") is not None
        with Session(engine) as session:
            upgraded = session.scalars(select(User.password_hash)).one()
        assert upgraded != cheap_hash and not needs_rehash(upgraded)
        assert "m=65536,t=3,p=4" in upgraded
    finally:
        use_hasher(cheap)
