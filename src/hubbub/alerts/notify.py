"""Notifications through apprise (Slack, Teams, email, webhooks …), behind Hubbub's SSRF rule.

A notification URL is as dangerous as a URL we fetch: ``json://10.0.0.5/admin`` would make
Hubbub post to a private service. So for the apprise services whose host the user chooses
(webhooks, self-hosted servers, SMTP), the host must resolve to public addresses only, the same
rule and the same settings (``HUBBUB_ALLOW_PRIVATE_ADDRESSES``, ``HUBBUB_ALLOWED_PRIVATE_HOSTS``)
as ``hubbub.sources.net``. Services with a fixed vendor host (``slack://``, ``msteams://`` …)
carry tokens where a host would be and are not resolved. Apprise connects by itself, so the
check runs just before sending; a DNS answer that changes in between is not caught (unlike
SafeHTTP, which also checks the address it connected to).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import apprise

from hubbub.alerts.playbooks import ASSET
from hubbub.core.errors import UnsafeURL
from hubbub.settings import Settings
from hubbub.sources.net import host_allowed, is_public_address

_HOSTED_SCHEME_TEXT = """
    json jsons form forms xml xmls mailto mailtos ntfy ntfys gotify gotifys apprise apprises
    mmost mmosts rocket rockets matrix matrixs ncloud nclouds nctalk nctalks mqtt mqtts rsyslog
    syslog kodi kodis xbmc xbmcs emby embys jellyfin jellyfins
"""
HOSTED_SCHEMES = frozenset(_HOSTED_SCHEME_TEXT.split())
"""Apprise schemes whose host part is a server the user picks, so it is checked."""


@dataclass(frozen=True)
class Delivery:
    """What happened to one notification URL; `target` is redacted (no tokens, no passwords)."""

    target: str
    ok: bool
    detail: str


def redacted(url: str) -> str:
    """The URL as apprise prints it with secrets masked, or just its scheme."""
    plugin = apprise.Apprise.instantiate(url, asset=ASSET)
    if plugin is None:
        return url.split("://", 1)[0] + "://…"
    text: str = plugin.url(privacy=True)  # type: ignore[no-untyped-call]
    return text.split("?", 1)[0]


def check_notify_url(url: str, settings: Settings) -> None:
    """Refuse a notification URL whose chosen host is not public (SSRF), like fetched URLs."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in HOSTED_SCHEMES:
        return
    plugin = apprise.Apprise.instantiate(url, asset=ASSET)
    host = getattr(plugin, "host", None)
    if not host:
        raise UnsafeURL(f"no host in {redacted(url)}")
    port = getattr(plugin, "port", None)
    if host_allowed(settings, host, port):
        return
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise UnsafeURL(f"cannot resolve {host}: {exc}") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not is_public_address(address):
            raise UnsafeURL(
                f"{host} resolves to non-public address {address}; "
                "allow it with HUBBUB_ALLOWED_PRIVATE_HOSTS"
            )


def send(urls: Sequence[str], title: str, body: str, settings: Settings) -> list[Delivery]:
    """Send one notification to each URL (each checked first); one `Delivery` per URL."""
    deliveries: list[Delivery] = []
    for url in urls:
        target = redacted(url)
        try:
            check_notify_url(url, settings)
        except UnsafeURL as exc:
            deliveries.append(Delivery(target, False, f"refused: {exc}"))
            continue
        sender = apprise.Apprise(asset=ASSET)
        if not sender.add(url):
            deliveries.append(Delivery(target, False, "not a notification URL apprise knows"))
            continue
        ok = bool(sender.notify(body=body, title=title))
        deliveries.append(Delivery(target, ok, "sent" if ok else "the service refused it"))
    return deliveries
