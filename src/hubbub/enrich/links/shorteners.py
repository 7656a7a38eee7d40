"""The known URL shorteners, and the one spelling of a short link the resolutions are keyed by."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

#: Hosts whose links only redirect elsewhere. Branded short domains of a single site (youtu.be,
#: amzn.to) are left out on purpose: their domain already says where the link goes.
SHORTENERS = frozenset(
    {
        "bit.ly",
        "bitly.com",
        "j.mp",
        "t.co",
        "buff.ly",
        "ow.ly",
        "tinyurl.com",
        "goo.gl",
        "lnkd.in",
        "dlvr.it",
        "trib.al",
        "is.gd",
        "v.gd",
        "t.ly",
        "tiny.cc",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "rb.gy",
        "s.id",
        "fb.me",
        "ift.tt",
        "shar.es",
        "wp.me",
        "bl.ink",
        "soo.gd",
    }
)
#: Longer than this is no short link; it also bounds the unique index on ``short_url``.
MAX_SHORT_URL = 512
_TRAILING = ".,;:!?)]}>'\"…"


def known_shorteners(extra: list[str]) -> frozenset[str]:
    """The built-in list and the hosts a setting adds (``HUBBUB_EXTRA_SHORTENERS``)."""
    added = {h.strip().lower().rstrip(".") for h in extra if h.strip()}
    return SHORTENERS | {h[4:] if h.startswith("www.") else h for h in added}


def link_domain(url: str) -> str | None:
    """The host of a link, lower case, without ``www.``; None when it has none."""
    try:
        host = urlsplit(url if "://" in url else f"//{url}").hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host


def shortener_of(url: str, known: frozenset[str] = SHORTENERS) -> str | None:
    """The shortener's host (without ``www.``) when ``url`` is a link of a known shortener."""
    host = link_domain(url)
    return host if host is not None and host in known else None


def canonical_link(url: str) -> str | None:
    """One spelling of an http(s) link: scheme and host lower case, no fragment, punctuation
    that ended the sentence dropped; None when it is no such link or is too long.

    The path keeps its case: short codes are case-sensitive (bit.ly/AbC is not bit.ly/abc).
    """
    url = url.strip().rstrip(_TRAILING)
    if "://" not in url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    netloc = f"{netloc}:{port}" if port else netloc
    key = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
    return key if len(key) <= MAX_SHORT_URL else None


def short_key(url: str, known: frozenset[str] = SHORTENERS) -> str | None:
    """The canonical spelling of a known shortener's link with a code, else None."""
    key = canonical_link(url)
    if key is None or shortener_of(key, known) is None or not urlsplit(key).path.strip("/"):
        return None
    return key
