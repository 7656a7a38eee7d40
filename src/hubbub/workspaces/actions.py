"""Writes on workspaces."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from hubbub.core.errors import ConfigError
from hubbub.workspaces.models import Workspace

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
DEFAULT_SLUG = "default"


def ensure_workspace(
    session: Session, slug: str = DEFAULT_SLUG, name: str | None = None
) -> Workspace:
    """The workspace with ``slug``, created when missing (idempotent)."""
    if not SLUG.match(slug):
        raise ConfigError(f"workspace slug {slug!r} must be lower-case letters, digits and dashes")
    found = session.scalar(select(Workspace).where(Workspace.slug == slug))
    if found is not None:
        return found
    workspace = Workspace(slug=slug, name=name or slug)
    session.add(workspace)
    session.flush()
    return workspace


def get_workspace(session: Session, slug: str) -> Workspace:
    found = session.scalar(select(Workspace).where(Workspace.slug == slug))
    if found is None:
        raise ConfigError(f"no workspace {slug!r}; create it with `hubbub init --workspace {slug}`")
    return found
