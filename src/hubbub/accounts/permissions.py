"""Roles, ordered, and the one table saying which role each permission needs.

Routes name a permission, never a role, so changing who may do what is an edit of
:data:`PERMISSIONS` (and of ``docs/permissions.md``, which a test keeps in step).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A member's role in one workspace; each role may do all that the roles below it may."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"
    OWNER = "owner"


ROLES_ASCENDING: tuple[Role, ...] = tuple(Role)
ROLES_DESCENDING: tuple[Role, ...] = tuple(reversed(ROLES_ASCENDING))


def rank(role: Role | str) -> int:
    """0 for viewer up to 5 for owner; raises ValueError for an unknown role."""
    return ROLES_ASCENDING.index(Role(role))


def at_least(role: Role | str | None, minimum: Role) -> bool:
    return role is not None and rank(role) >= rank(minimum)


class Scope(StrEnum):
    """Who a permission is about: anyone, any signed-in principal, or a member of a workspace."""

    PUBLIC = "public"
    SIGNED_IN = "signed-in"
    WORKSPACE = "workspace"


@dataclass(frozen=True)
class Permission:
    name: str
    scope: Scope
    minimum: Role | None
    description: str


PERMISSIONS: dict[str, Permission] = {
    p.name: p
    for p in (
        Permission("public", Scope.PUBLIC, None, "Sign-in, first-run setup, health, API schema."),
        Permission("signed-in", Scope.SIGNED_IN, None, "Home, sign-out, who am I."),
        Permission("posts.read", Scope.WORKSPACE, Role.VIEWER, "Read posts."),
        Permission("sources.read", Scope.WORKSPACE, Role.VIEWER, "See sources and their health."),
        Permission(
            "sources.manage",
            Scope.WORKSPACE,
            Role.ADMIN,
            "Connect, pause, re-key and remove sources (credentials are stored encrypted, "
            "never shown again).",
        ),
        Permission("topics.read", Scope.WORKSPACE, Role.ANALYST, "See topics and dashboards."),
        Permission(
            "accuracy.read",
            Scope.WORKSPACE,
            Role.VIEWER,
            "See how accurate sentiment and intents are, and the corrections made.",
        ),
        Permission(
            "enrichment.correct",
            Scope.WORKSPACE,
            Role.ANALYST,
            "Correct a post's sentiment label and intents.",
        ),
        Permission("topics.manage", Scope.WORKSPACE, Role.MANAGER, "Add and remove topics."),
        Permission(
            "metrics.read",
            Scope.WORKSPACE,
            Role.ANALYST,
            "See funnel and response metrics, goals and the business case; export them.",
        ),
        Permission(
            "goals.manage",
            Scope.WORKSPACE,
            Role.MANAGER,
            "Add and remove quarterly goals; edit the business case.",
        ),
        Permission(
            "conversions.record",
            Scope.WORKSPACE,
            Role.MANAGER,
            "Record conversions (API; the CSV import is `hubbub metrics conversions import`).",
        ),
        Permission("inbox.read", Scope.WORKSPACE, Role.VIEWER, "Read inbox conversations."),
        Permission(
            "inbox.work",
            Scope.WORKSPACE,
            Role.AGENT,
            "Change a conversation's status, add notes, queue replies.",
        ),
        Permission("deadletters.read", Scope.WORKSPACE, Role.ANALYST, "Read refused raw payloads."),
        Permission("members.read", Scope.WORKSPACE, Role.ADMIN, "See the workspace's members."),
        Permission(
            "members.manage",
            Scope.WORKSPACE,
            Role.ADMIN,
            "Add members (new addresses get an account), change roles up to one's own, remove.",
        ),
        Permission("tokens.read", Scope.WORKSPACE, Role.ADMIN, "List API tokens."),
        Permission(
            "tokens.manage",
            Scope.WORKSPACE,
            Role.ADMIN,
            "Create (role at most one's own) and revoke API tokens.",
        ),
        Permission("audit.read", Scope.WORKSPACE, Role.ADMIN, "Read the audit log."),
        Permission(
            "webhooks.manage",
            Scope.WORKSPACE,
            Role.ADMIN,
            "List, add and remove outgoing webhooks; see their deliveries.",
        ),
        Permission(
            "alerts.read",
            Scope.WORKSPACE,
            Role.ANALYST,
            "See stored alerts and why they fired, playbooks, their runs and reply drafts.",
        ),
        Permission(
            "drafts.approve",
            Scope.WORKSPACE,
            Role.AGENT,
            "Approve or reject a playbook's reply draft at a step of its chain one's role reaches.",
        ),
        Permission(
            "playbooks.manage",
            Scope.WORKSPACE,
            Role.MANAGER,
            "Add, edit, enable, disable, remove and dry-run playbooks; end crisis mode.",
        ),
        Permission(
            "reports.read",
            Scope.WORKSPACE,
            Role.ANALYST,
            "Download reports (PDF, HTML, XLSX) and see the scheduled ones.",
        ),
        Permission(
            "reports.manage",
            Scope.WORKSPACE,
            Role.MANAGER,
            "Add and remove scheduled reports and their recipients.",
        ),
        Permission(
            "influence.read",
            Scope.WORKSPACE,
            Role.VIEWER,
            "See influencers, communities, cascades; plan campaign seeds.",
        ),
        Permission(
            "influence.mark",
            Scope.WORKSPACE,
            Role.MANAGER,
            "Mark authors (advocate, employee, partner, competitor, blocked).",
        ),
    )
}


def allows(permission: Permission, role: Role | str | None) -> bool:
    """Whether a member with ``role`` has a workspace ``permission``."""
    return permission.minimum is not None and at_least(role, permission.minimum)
