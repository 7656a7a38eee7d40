"""Templates with autoescaping always on, and the few filters that turn data into safe markup."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

# A literal http(s) scheme and no whitespace or control character anywhere: browsers strip
# those (``java\tscript:``), so a URL that needs them to look harmless is never a link.
_WEB_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f]+", re.IGNORECASE)
MAX_LINK_LENGTH = 2048


def web_link(url: str | None) -> str | None:
    """The URL when it is safe as an ``href`` (http or https to a host), else ``None``."""
    if not url or len(url) > MAX_LINK_LENGTH or not _WEB_URL.fullmatch(url):
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return url if host else None


def utc(value: datetime | None) -> str:
    """Times are shown in UTC, to the second, with the zone spelled out."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def signed_percent(value: float | None) -> str:
    """A change as a whole signed percentage (``+3%``, ``-2%``); one that rounds to nothing is
    ``0%``, never ``-0%`` or ``+0%``; an undefined change is empty."""
    if value is None:
        return ""
    whole = round(100 * value)
    return f"{whole:+d}%" if whole else "0%"


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def payload_text(payload: bytes, limit: int = 65_536) -> tuple[str, bool]:
    """Bytes as readable text (invalid UTF-8 as ``\\x..``), cut at ``limit`` bytes."""
    return payload[:limit].decode("utf-8", errors="backslashreplace"), len(payload) > limit


def environment() -> Environment:
    """Autoescape is on for every template whatever its name; post data never gets ``|safe``.
    Templates ship with the package, so they are not re-checked on disk at every render."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        auto_reload=False,
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["web_link"] = web_link
    env.filters["utc"] = utc
    env.filters["iso"] = iso
    env.filters["signed_percent"] = signed_percent
    return env


def auth_context(request: Request) -> dict[str, Any]:
    """Who is signed in and the CSRF token for forms, on every page (error pages included)."""
    principal = getattr(request.state, "principal", None)
    signed_in = principal is not None and not principal.anonymous
    return {
        "me": principal if signed_in else None,
        "csrf_token": getattr(request.state, "csrf_token", ""),
    }


templates = Jinja2Templates(env=environment(), context_processors=[auth_context])
