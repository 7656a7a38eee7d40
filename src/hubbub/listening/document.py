"""What a topic rule is matched against: the parts of a post the query language can name.

Kept free of the database so the matcher runs on freshly normalised items before storage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hubbub.core.items import PostItem
from hubbub.enrich.links.shorteners import canonical_link, link_domain

_HASHTAG = re.compile(r"(?<![\w&/])#(\w+)")
_HANDLE = re.compile(r"(?<![\w/])@(\w[\w.-]*(?:@[\w-]+(?:\.[\w-]+)+)?)")
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Document:
    """A post as the query language sees it. Values are as given; evaluators fold them."""

    text: str = ""
    title: str = ""
    langs: tuple[str, ...] = ()
    network: str = ""
    author_handle: str = ""
    author_followers: int | None = None
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    link_domains: tuple[str, ...] = ()
    is_reply: bool = False
    is_repost: bool = False

    @classmethod
    def from_post(
        cls,
        item: PostItem,
        followers: int | None = None,
        network: str | None = None,
        resolved: Mapping[str, str] | None = None,
    ) -> Document:
        """Build from a normalised post; hashtags, @handles and links written in the text count too.

        ``followers`` overrides the count the payload carried (e.g. the stored author's);
        ``network`` is used when the item itself does not name one; ``resolved`` maps short
        links (``canonical_link``) to the domain they lead to, which replaces the shortener's.
        """
        text = item.text or ""
        title = item.title or ""
        both = f"{title}\n{text}"
        # Each pattern needs its marker character: skipping the scan when it is absent is exact
        # and saves most of the cost on the firehose, where most posts have none.
        hashtags = [*item.hashtags, *(_HASHTAG.findall(both) if "#" in both else ())]
        # Network mention ids (DIDs, profile URLs) are not handles; keep only handle-like ones.
        mentions = [m for m in item.mentions if ":" not in m and "/" not in m]
        if "@" in both:
            mentions += [m.rstrip(".-") for m in _HANDLE.findall(both)]
        written = _URL.findall(both) if "://" in both else ()
        urls = [*item.links, *written]
        if resolved:
            domains = [d for d in (_domain(url, resolved) for url in urls) if d]
        else:
            domains = [d for d in map(link_domain, urls) if d]
        return cls(
            text=text,
            title=title,
            langs=item.langs,
            network=item.network or network or "",
            author_handle=item.author.handle or "",
            author_followers=followers if followers is not None else item.author.followers,
            hashtags=tuple(dict.fromkeys(h.lstrip("#") for h in hashtags)),
            mentions=tuple(dict.fromkeys(m.lstrip("@") for m in mentions)),
            link_domains=tuple(dict.fromkeys(domains)),
            is_reply=item.reply_to is not None,
            is_repost=item.kind == "reshare",
        )


def _domain(url: str, resolved: Mapping[str, str]) -> str | None:
    """Where a link leads when it is a resolved short link, else its own domain."""
    key = canonical_link(url)
    found = resolved.get(key) if key is not None else None
    return found or link_domain(url)


def urls_in(links: Iterable[str], title: str | None, text: str | None) -> list[str]:
    """A post's links and the links written in its title and text (what ``from_post`` reads)."""
    both = f"{title or ''}\n{text or ''}"
    return [*links, *(_URL.findall(both) if "://" in both else ())]
