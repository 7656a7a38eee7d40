"""Imports every model module so ``Base.metadata`` is complete for Alembic and tests."""

from __future__ import annotations

import hubbub.accounts.models
import hubbub.accounts.reset
import hubbub.alerts.models
import hubbub.enrich.links.models
import hubbub.graph.models
import hubbub.inbox.models
import hubbub.listening.corrections.models
import hubbub.listening.models
import hubbub.measure.models
import hubbub.posts.models
import hubbub.reports.models
import hubbub.sources.models
import hubbub.webhooks.models
import hubbub.workspaces.models
from hubbub.store.base import Base

metadata = Base.metadata

__all__ = ["hubbub", "metadata"]
