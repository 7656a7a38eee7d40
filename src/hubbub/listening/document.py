"""What a topic rule is matched against: the parts of a post the query language can name.

Kept free of the database so the matcher runs on freshly normalised items before storage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from hubbub.core.items import PostItem

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
        cls, item: PostItem, followers: int | None = None, network: str | None = None
    ) -> Document:
        """Build from a normalised post; hashtags, @handles and links written in the text count too.

        ``followers`` overrides the count the payload carried (e.g. the stored author's);
        ``network`` is used when the item itself does not name one.
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
        domains = [d for d in map(link_domain, [*item.links, *written]) if d]
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
