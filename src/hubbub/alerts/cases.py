"""Who opens a case when a playbook says ``open_case``.

The inbox sits above alerts in the layers, so alerts never import it: the inbox registers its
opener here when it is loaded (``hubbub.runtime.load_connectors``), and a playbook run calls it
in its own transaction, so the case and the run's log commit together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from hubbub.core.registry import Registry

CaseOpener = Callable[[Session, int, Mapping[str, Any], Mapping[str, str], str], str]
"""(session, workspace id, alert, the action's params, playbook name) → what was done."""

case_openers: Registry[CaseOpener] = Registry("case opener")
