"""Reads on workspaces: which authors are the workspace's own accounts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from hubbub.workspaces.models import WorkspaceAccount


def normal_handle(handle: str) -> str:
    """A handle as own accounts are compared: lower case, without the leading ``@``."""
    return handle.strip().lstrip("@").lower()


@dataclass(frozen=True)
class OwnAccounts:
    """The workspace's registered accounts, to tell its own authors from everyone else's.

    An author is ours when its (network, native author id) is a registered account's, or, for
    an author stored before its id was known or under another id form, its handle on the same
    network matches case-insensitively (as the inbox decides what is our response)."""

    ids: frozenset[tuple[str, str]] = frozenset()
    handles: frozenset[tuple[str, str]] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.ids)

    def owns(self, network: str, native_id: str, handle: str | None) -> bool:
        """Whether the author (network, native id, handle) is one of these accounts."""
        if (network, native_id) in self.ids:
            return True
        name = normal_handle(handle or "")
        return bool(name) and (network, name) in self.handles


def own_accounts(session: Session | Connection, workspace_id: int) -> OwnAccounts:
    """The accounts this workspace registered (never another workspace's)."""
    rows = session.execute(
        select(
            WorkspaceAccount.network, WorkspaceAccount.native_author_id, WorkspaceAccount.handle
        ).where(WorkspaceAccount.workspace_id == workspace_id)
    ).all()
    return OwnAccounts(
        ids=frozenset((network, native) for network, native, _ in rows),
        handles=frozenset((network, normal_handle(handle)) for network, _, handle in rows),
    )
