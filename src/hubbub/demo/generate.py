"""Several weeks of conversation about a fictional brand, as Hubbub jsonl lines.

Deterministic for a seed and an end time: people, daily rhythm, threads, reshares, a viral
moment and a crisis day are drawn from one seeded generator, and every id has the shape its
network really uses (AT URIs with DIDs and TIDs, Mastodon status URIs with snowflake ids,
Hacker News item numbers, feed entry URLs), so the demo exercises the same paths as live data.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from hubbub.core.clock import as_utc, utcnow
from hubbub.demo import texts as tx

NETWORKS = ("bluesky", "mastodon", "hackernews", "rss")
MIN_DAYS = 3

_B32 = "234567abcdefghijklmnopqrstuvwxyz"  # atproto's base32-sortable alphabet (TIDs)
_DID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_HASHTAG = re.compile(r"(?<![\w&])#(\w+)")
_URL = re.compile(r"https?://[^\s)]+")
_HOURLY = (
    1.0,
    0.6,
    0.4,
    0.3,
    0.3,
    0.5,
    1.2,
    2.4,
    3.2,
    2.8,
    2.5,
    2.6,
    3.0,
    2.8,
    2.5,
    2.5,
    2.8,
    3.2,
    3.6,
    3.8,
    3.6,
    3.0,
    2.2,
    1.5,
)
_HOURLY_CUMULATIVE = tuple(itertools.accumulate(_HOURLY))
_WEEKDAY = (1.0, 1.05, 1.05, 1.0, 0.95, 0.8, 0.75)
_HN_ANCHOR = (datetime(2024, 4, 14, tzinfo=UTC), 40_000_000, 0.157)  # time, item id, ids a second

_LANGS = {
    "bluesky": (("en", 0.78), ("pt", 0.08), ("ja", 0.06), ("es", 0.04), ("de", 0.02), ("fr", 0.02)),
    "mastodon": (("en", 0.55), ("de", 0.22), ("fr", 0.13), ("es", 0.05), ("ja", 0.05)),
}
_TZ = {
    "en": ((-8, 2), (-5, 4), (0, 3), (10, 1)),
    "de": ((1, 1),),
    "fr": ((1, 1),),
    "es": ((1, 2), (-5, 1)),
    "pt": ((-3, 3), (0, 1)),
    "ja": ((9, 1),),
}
_HOSTS = {
    "en": (
        "mastodon.social",
        "hachyderm.io",
        "fosstodon.org",
        "mas.to",
        "mstdn.social",
        "mastodon.online",
    ),
    "de": ("chaos.social", "norden.social", "troet.cafe", "mastodon.social"),
    "fr": ("piaille.fr", "mamot.fr", "mastodon.social"),
    "es": ("mastodon.world", "mastodon.social"),
    "pt": ("mastodon.social",),
    "ja": ("mstdn.jp", "fedibird.com"),
}
_NAMES = {
    "en": (
        (
            "Maya",
            "Tom",
            "Priya",
            "Jordan",
            "Aisha",
            "Liam",
            "Chloe",
            "Marcus",
            "Nora",
            "Ethan",
            "Zoe",
            "Sam",
            "Olivia",
            "Ben",
            "Grace",
            "Kai",
            "Ruth",
            "Dev",
            "Hannah",
            "Leo",
            "Imani",
            "Owen",
            "Freya",
            "Caleb",
            "Tess",
            "Ravi",
            "Megan",
            "Jack",
            "Lucy",
            "Andre",
        ),
        (
            "Carter",
            "Nguyen",
            "Patel",
            "Okafor",
            "Walsh",
            "Brooks",
            "Reyes",
            "Kim",
            "Murphy",
            "Hughes",
            "Foster",
            "Shah",
            "Bennett",
            "Lowe",
            "Griffin",
            "Ellis",
            "Park",
            "Quinn",
        ),
    ),
    "de": (
        ("Jonas", "Lena", "Felix", "Anna", "Lukas", "Marie", "Paul", "Sophie", "Finn", "Mia"),
        ("Müller", "Schneider", "Becker", "Wagner", "Hoffmann", "Krüger", "Vogel"),
    ),
    "fr": (
        ("Camille", "Lucas", "Manon", "Hugo", "Chloé", "Théo", "Léa", "Louis", "Inès"),
        ("Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Lefèvre", "Garnier"),
    ),
    "es": (
        ("Lucía", "Mateo", "Sofía", "Diego", "Valentina", "Pablo", "Carmen", "Javier"),
        ("García", "Fernández", "López", "Martínez", "Sánchez", "Romero"),
    ),
    "pt": (
        ("João", "Ana", "Beatriz", "Pedro", "Mariana", "Lucas", "Gabriela", "Rafael"),
        ("Silva", "Santos", "Oliveira", "Souza", "Costa", "Ferreira"),
    ),
    "ja": (
        ("さくら", "たけし", "ゆき", "陽翔", "あおい", "蓮", "めい", "健二", "美咲", "翔太"),
        (),
    ),
}
_ROMAJI = {
    "さくら": "sakura",
    "たけし": "takeshi",
    "ゆき": "yuki",
    "陽翔": "haruto",
    "あおい": "aoi",
    "蓮": "ren",
    "めい": "mei",
    "健二": "kenji",
    "美咲": "misaki",
    "翔太": "shota",
}
_WORDS = (
    "rides",
    "pedals",
    "cycles",
    "spokes",
    "velo",
    "commutes",
    "bikes",
    "wheels",
    "cargo",
    "outside",
    "onwheels",
    "moves",
)
_HN_WORDS = ("throwaway", "dang_fan", "rustacean", "pg", "hacker", "dev", "ops", "cyc", "tinker")
_MEDIA_INTENTS = ("praise", "chatter", "purchase", "rival")


@dataclass
class Person:
    """One account on one network."""

    network: str
    native_id: str
    handle: str
    display_name: str
    first: str
    lang: str
    tz: int
    followers: int | None
    following: int | None
    posts_count: int | None
    created_at: datetime | None
    url: str | None
    host: str | None = None
    ids: set[str] = field(default_factory=set)

    def ref(self) -> dict[str, Any]:
        return {
            "native_id": self.native_id,
            "handle": self.handle,
            "display_name": self.display_name,
            "url": self.url,
            "followers": self.followers,
            "following": self.following,
            "posts_count": self.posts_count,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


@dataclass
class Post:
    """One post as generated; ``intent`` steers its replies and never leaves the generator."""

    network: str
    native_id: str
    author: Person
    created_at: datetime
    text: str = ""
    kind: str = "post"
    intent: str = "chatter"
    lang: str | None = None
    title: str | None = None
    url: str | None = None
    reply_to: str | None = None
    thread_root: str | None = None
    reshare_of: str | None = None
    quote_of: str | None = None
    mentions: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    score: int | None = None

    def record(self, counts: dict[str, int]) -> dict[str, Any]:
        reshare = self.kind == "reshare"
        hn = self.network == "hackernews"
        text = self.text if not self.title or hn else f"{self.title}\n\n{self.text}"
        return {
            "v": 1,
            "type": "post",
            "network": self.network,
            "native_id": self.native_id,
            "author": self.author.ref(),
            "created_at": self.created_at.isoformat(),
            "kind": self.kind,
            "text": text,
            "title": self.title,
            "url": self.url,
            "reply_to": self.reply_to,
            "thread_root": self.thread_root,
            "reshare_of": self.reshare_of,
            "quote_of": self.quote_of,
            "langs": [self.lang] if self.lang else [],
            "mentions": list(self.mentions),
            "hashtags": list(dict.fromkeys(t.lower() for t in _HASHTAG.findall(text))),
            "links": list(
                dict.fromkeys([*self.links, *(u.rstrip(".,!?") for u in _URL.findall(text))])
            ),
            "media": list(self.media),
            "likes": None
            if reshare or self.network == "rss"
            else (self.score if hn else counts.get("likes", 0)),
            "reshares": None
            if reshare or hn or self.network == "rss"
            else counts.get("reshares", 0),
            # HN counts comments only for stories (``descendants``).
            "replies": None if reshare or (hn and not self.title) else counts.get("replies", 0),
            "quotes": None if reshare or hn or self.network == "rss" else counts.get("quotes", 0),
        }


@dataclass
class Demo:
    """The generated conversation and the facts a tour (or a test) of it needs."""

    start: datetime
    end: datetime
    viral_day: date
    crisis_day: date
    viral_post: str
    posts: list[Post]
    # The brand's own accounts: (network, native id, handle), for the inbox and the keep policy.
    brand_accounts: list[tuple[str, str, str]] = field(default_factory=list)

    def lines(self) -> Iterator[bytes]:
        """The posts as jsonl lines, with counts that match the replies and reshares present."""
        counts: dict[str, Counter[str]] = {}
        for post in self.posts:
            for key, target in (
                ("replies", post.reply_to),
                ("reshares", post.reshare_of),
                ("quotes", post.quote_of),
            ):
                if target is not None:
                    counts.setdefault(target, Counter())[key] += 1
            if post.network == "hackernews" and post.thread_root:
                counts.setdefault(post.thread_root, Counter())["descendants"] += 1
        empty: Counter[str] = Counter()
        for post in self.posts:
            c = counts.get(post.native_id, empty)
            if post.kind != "reshare":
                c = Counter(c)
                if post.network == "hackernews" and post.title:
                    c["replies"] = c["descendants"]
                c["likes"] = _likes(post, c)
            yield orjson.dumps(post.record(c))


_EVERYDAY_INTENTS = (
    ("praise", 17),
    ("complaint", 10),
    ("question", 12),
    ("purchase", 8),
    ("feature", 6),
    ("support", 7),
    ("chatter", 10),
    ("rival", 16),
    ("offtopic", 14),
)


def _likes(post: Post, c: Counter[str]) -> int:
    """Heavy-tailed, but tied to what else the post drew, as on the real networks."""
    followers = post.author.followers or 0
    noise = len(post.text) % 7 if post.intent in ("praise", "brand", "viral") else 0
    return int(
        c["reshares"] * 2.6
        + c["replies"] * 1.2
        + c["quotes"] * 2
        + math.sqrt(followers) * 0.08
        + noise
    )


# --------------------------------------------------------------------------- ids


def tid(when: datetime, rng: random.Random) -> str:
    """An atproto TID: microseconds since the epoch and a clock id, base32-sortable."""
    value = (int(when.timestamp() * 1_000_000) << 10) | rng.getrandbits(10)
    return "".join(_B32[(value >> shift) & 31] for shift in range(60, -1, -5))


def did(rng: random.Random) -> str:
    """A did:plc identifier: 24 characters of lower-case base32."""
    value = rng.getrandbits(120)
    return "did:plc:" + "".join(_DID_ALPHABET[(value >> s) & 31] for s in range(115, -1, -5))


def snowflake(when: datetime, rng: random.Random) -> int:
    """A Mastodon status id: milliseconds since the epoch, shifted, plus a sequence."""
    return (int(when.timestamp() * 1000) << 16) | rng.getrandbits(16)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


# --------------------------------------------------------------------------- the world


class _Builder:
    """Draws the world (people, then the everyday talk, the viral moment, the crisis, Hacker
    News threads and feeds) from one seeded generator, in a fixed order."""

    def __init__(self, seed: int, days: int, end: datetime, history_days: int = 0) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.ids = random.Random(f"{seed}-ids")
        self.days = days
        self.history_days = history_days
        self.end = end
        self.start = end - timedelta(days=days)
        self.earliest = self.start - timedelta(days=history_days)
        self.window_start = self.start  # posts before it are dropped; history() widens it
        self.posts: list[Post] = []
        self.taken: set[str] = set()
        self.handles: set[str] = set()
        self.people: dict[str, list[Person]] = {n: [] for n in NETWORKS}
        self.weights: dict[str, list[float]] = {n: [] for n in NETWORKS}
        self.by_lang: dict[tuple[str, str], list[Person]] = {}
        self.cumulative: dict[str, list[float]] = {}
        self.viral_day, self.crisis_day = key_days(days, end)
        # A short demo gets a smaller viral moment and crisis, in proportion to its everyday talk.
        self.scale = min(1.0, days / 21)
        self._brand_accounts()
        self._population()

    # people -------------------------------------------------------------------------------

    def _unique(self, base: str) -> str:
        handle = base
        while handle in self.handles:
            handle = f"{base}{self.rng.randint(2, 999)}"
        self.handles.add(handle)
        return handle

    def person(
        self,
        network: str,
        lang: str,
        followers: int | None = None,
        handle: str | None = None,
        name: str | None = None,
        host: str | None = None,
    ) -> Person:
        rng = self.rng
        firsts, lasts = _NAMES[lang]
        first = rng.choice(firsts)
        last = rng.choice(lasts) if lasts else ""
        roman = _ROMAJI.get(first, first)
        token = _ascii(roman)
        shape = rng.random()
        if handle is None:
            if network == "hackernews":
                parts = rng.choice(
                    (
                        (token, _ascii(last)),
                        (token[:1], _ascii(last)),
                        (rng.choice(_HN_WORDS), str(rng.randint(1, 99))),
                    )
                )
                handle = self._unique(rng.choice(("", "_", "-")).join(p for p in parts if p))
            else:
                parts = (
                    (token, _ascii(last))
                    if shape < 0.35
                    else (token, rng.choice(_WORDS))
                    if shape < 0.7
                    else (rng.choice(_WORDS), token)
                    if shape < 0.8
                    else (token, str(rng.randint(7, 99)))
                )
                joiner = "-" if network == "bluesky" else "_"
                handle = self._unique(rng.choice(("", joiner)).join(p for p in parts if p))
        if name is None:
            style = rng.random()
            name = (
                f"{first} {last}".strip()
                if style < 0.55
                else f"{first} {rng.choice(tx.COMMON['emoji_pos'])}"
                if style < 0.75
                else first.lower()
                if style < 0.9
                else f"{first} {last[:1]}.".strip(" .")
            )
        if followers is None:
            followers = int(rng.lognormvariate(4.6, 1.3))
        tz = _weighted(rng, _TZ[lang])
        joined = self.start - timedelta(
            days=rng.randint(20, 1100 if network == "mastodon" else 900)
        )
        if network == "bluesky":
            native = did(self.ids)
            person = Person(
                network,
                native,
                f"{handle}.bsky.social",
                name,
                first,
                lang,
                tz,
                followers,
                int(rng.lognormvariate(5.3, 0.9)),
                int(rng.lognormvariate(6.2, 1.4)),
                joined,
                f"https://bsky.app/profile/{handle}.bsky.social",
            )
        elif network == "mastodon":
            host = host or rng.choice(_HOSTS[lang])
            url = f"https://{host}/@{handle}"
            person = Person(
                network,
                url,
                f"{handle}@{host}",
                name,
                first,
                lang,
                tz,
                followers,
                int(rng.lognormvariate(5.0, 0.9)),
                int(rng.lognormvariate(6.5, 1.5)),
                joined,
                url,
                host,
            )
        else:
            person = Person(
                network,
                handle,
                handle,
                handle,
                first,
                lang,
                tz,
                None,
                None,
                None,
                None,
                f"https://news.ycombinator.com/user?id={handle}",
            )
        return person

    def enrol(self, person: Person, weight: float) -> Person:
        self.people[person.network].append(person)
        self.weights[person.network].append(weight)
        self.by_lang.setdefault((person.network, person.lang), []).append(person)
        return person

    def _brand_accounts(self) -> None:
        fixed = random.Random("lumen-brand-accounts")
        self.brand = {
            "bluesky": Person(
                "bluesky",
                did(fixed),
                "lumenbikes.bsky.social",
                "Lumen Bikes",
                "Lumen",
                "en",
                0,
                41_800,
                310,
                2_140,
                self.start - timedelta(days=700),
                "https://bsky.app/profile/lumenbikes.bsky.social",
            ),
            "mastodon": Person(
                "mastodon",
                "https://mastodon.social/@lumenbikes",
                "lumenbikes@mastodon.social",
                "Lumen Bikes",
                "Lumen",
                "en",
                0,
                12_300,
                190,
                1_480,
                self.start - timedelta(days=1200),
                "https://mastodon.social/@lumenbikes",
                "mastodon.social",
            ),
            "hackernews": Person(
                "hackernews",
                "lumenbikes",
                "lumenbikes",
                "lumenbikes",
                "Lumen",
                "en",
                0,
                None,
                None,
                None,
                None,
                "https://news.ycombinator.com/user?id=lumenbikes",
            ),
        }
        self.rivals = {
            (net, name): self.person(
                net, "en", followers=f, handle=name.lower(), name=name, host="mastodon.social"
            )
            for net, name, f in (
                ("bluesky", "Voltaro", 58_200),
                ("bluesky", "Pedalia", 23_900),
                ("mastodon", "Voltaro", 8_100),
                ("mastodon", "Pedalia", 4_400),
            )
        }
        self.viral_author = self.person(
            "bluesky", "en", followers=186_400, handle="danimoves", name="Dani Okafor"
        )
        self.viral_mirror = self.person(
            "mastodon",
            "en",
            followers=9_700,
            handle="danimoves",
            name="Dani Okafor",
            host="mastodon.social",
        )

    def _population(self) -> None:
        rng = self.rng
        sizes = {"bluesky": 1400, "mastodon": 700, "hackernews": 320}
        for network, size in sizes.items():
            for _ in range(size):
                lang = "en" if network == "hackernews" else _weighted(rng, _LANGS[network])
                influencer = rng.random() < 0.012
                followers = int(rng.lognormvariate(10.4, 0.8)) if influencer else None
                person = self.person(network, lang, followers=followers)
                # Heavy-tailed activity, capped so no single account drowns out the rest.
                self.enrol(person, min(25.0, rng.paretovariate(1.3)) * (3 if influencer else 1))
        self.enrol(self.viral_author, 4)
        self.enrol(self.viral_mirror, 2)
        # People who post the same words on both networks, as cross-posting tools do.
        self.twins: dict[str, Person] = {}
        for person in rng.sample(self.people["bluesky"], 40):
            if person.lang in _HOSTS and person.lang != "pt":
                handle = self._unique(person.handle.split(".")[0].replace("-", "_"))
                twin = self.person(
                    "mastodon",
                    person.lang,
                    handle=handle,
                    name=person.display_name,
                    followers=max(20, (person.followers or 0) // 3),
                )
                twin.first, twin.tz = person.first, person.tz
                self.twins[person.native_id] = self.enrol(twin, 1.0)
        self.spammers: dict[str, list[Person]] = {"bluesky": [], "mastodon": []}
        for network, people in self.spammers.items():
            joiner = "-" if network == "bluesky" else "_"
            for _ in range(12):
                stem = rng.choice(("ebike-deals", "bikes-cheap", "free-ebike", "promo-rides"))
                handle = self._unique(f"{stem}-{rng.randint(1000, 9999)}".replace("-", joiner))
                name = rng.choice(("E-Bike Deals 🔥", "Bike Promo", "FREE BIKES", "Ride & Earn 💰"))
                people.append(self.person(network, "en", rng.randint(0, 25), handle, name))

    def pick(self, network: str, lang: str | None = None, avoid: Person | None = None) -> Person:
        rng = self.rng
        if lang is not None and rng.random() < 0.85:
            pool = self.by_lang.get((network, lang))
            if pool:
                choice = rng.choice(pool)
                if choice is not avoid:
                    return choice
        cumulative = self.cumulative.get(network)
        if cumulative is None or len(cumulative) != len(self.people[network]):
            cumulative = self.cumulative[network] = list(
                itertools.accumulate(self.weights[network])
            )
        while True:
            choice = rng.choices(self.people[network], cum_weights=cumulative)[0]
            if choice is not avoid:
                return choice

    # ids ----------------------------------------------------------------------------------

    def post_id(
        self, network: str, author: Person, when: datetime, collection: str = "post"
    ) -> tuple[str, str]:
        while True:
            if network == "bluesky":
                key = tid(when, self.ids)
                native = f"at://{author.native_id}/app.bsky.feed.{collection}/{key}"
                url = f"https://bsky.app/profile/{author.native_id}/post/{key}"
            elif network == "mastodon":
                key = str(snowflake(when, self.ids))
                native = f"https://{author.host}/users/{author.handle.split('@')[0]}/statuses/{key}"
                url = f"{author.url}/{key}"
            else:
                anchor, first, rate = _HN_ANCHOR
                number = (
                    first + int((when - anchor).total_seconds() * rate) + self.ids.randint(0, 40)
                )
                native, url = str(number), f"https://news.ycombinator.com/item?id={number}"
            if native not in self.taken:
                self.taken.add(native)
                return native, url

    # posts --------------------------------------------------------------------------------

    def add(self, post: Post) -> Post | None:
        if not (self.window_start <= post.created_at <= self.end):
            return None
        self.posts.append(post)
        return post

    def brand_ref(self, network: str, ctx: dict[str, str], mentions: list[str]) -> None:
        """Tag the brand's account the way the network writes it, or just name it."""
        if network in ("bluesky", "mastodon") and self.rng.random() < 0.75:
            account = self.brand[network]
            ctx["brand_ref"] = "@" + account.handle
            mentions.append(account.native_id)
        else:
            ctx["brand_ref"] = self.rng.choice(("Lumen", "Lumen Bikes", "@Lumen"))

    def write(
        self,
        network: str,
        author: Person,
        when: datetime,
        template: str,
        intent: str,
        lang: str,
        ctx: dict[str, str] | None = None,
        **fields: Any,
    ) -> Post | None:
        ctx = dict(ctx or {})
        mentions: list[str] = list(fields.pop("mentions", ()))
        if "{brand_ref}" in template and "brand_ref" not in ctx:
            self.brand_ref(network, ctx, mentions)
        text = tx.fill(template, self.rng, lang, ctx)
        native, url = self.post_id(network, author, when)
        return self.add(
            Post(
                network,
                native,
                author,
                when,
                text,
                intent=intent,
                lang=lang,
                url=url,
                mentions=tuple(dict.fromkeys(mentions)),
                **fields,
            )
        )

    def decorate(self, text: str, intent: str, lang: str) -> str:
        """Hashtags and a tag for the campaign, as people add them."""
        rng = self.rng
        tags = tx.VOCAB[lang]["tag"]
        roll = rng.random()
        if intent == "spam":
            return text + " #ebike #lumenbikes #deal"
        if roll < 0.22:
            text += " #" + rng.choice(tags)
        elif roll < 0.3:
            text += " " + " ".join(f"#{tag}" for tag in rng.sample(list(tags), 2))
        if intent == "praise" and rng.random() < 0.15:
            text += " #RideLumen"
        elif intent in ("praise", "chatter", "question") and rng.random() < 0.06:
            text += " #lumenbikes"
        return text

    def when(self, day: datetime, person: Person) -> datetime:
        hour = self.rng.choices(range(24), cum_weights=_HOURLY_CUMULATIVE)[0]
        return day + timedelta(hours=hour - person.tz, seconds=self.rng.randint(0, 3599))

    def original(self, network: str, author: Person, when: datetime, intent: str) -> Post | None:
        rng = self.rng
        lang = author.lang
        if lang == "en" or intent == "spam":
            table: dict[str, Sequence[str]] = {**tx.EN, "spam": tx.SPAM}
        else:
            table = tx.OTHER[lang]
            if intent not in table:
                intent = rng.choice(sorted(table))
        template = rng.choice(table[intent])
        ctx: dict[str, str] = {}
        mentions: list[str] = []
        if "{brand_ref}" in template:
            self.brand_ref(network, ctx, mentions)
        elif (
            intent in ("praise", "complaint", "feature")
            and network != "hackernews"
            and rng.random() < 0.12
        ):
            account = self.brand[network]
            template += " @" + account.handle
            mentions.append(account.native_id)
        text = self.decorate(tx.fill(template, rng, lang, ctx), intent, lang)
        media = ("image",) if intent in _MEDIA_INTENTS and rng.random() < 0.25 else ()
        links: tuple[str, ...] = ()
        if intent in ("chatter", "purchase") and rng.random() < 0.08:
            links = (f"{tx.SITE}/bikes/{rng.choice(tx.PRODUCTS).split()[-1].lower()}",)
        native, url = self.post_id(network, author, when)
        post = self.add(
            Post(
                network,
                native,
                author,
                when,
                text,
                intent=intent,
                lang=lang,
                url=url,
                mentions=tuple(mentions),
                media=media,
                links=links,
            )
        )
        twin = self.twins.get(author.native_id)
        if post is not None and twin is not None and rng.random() < 0.6:
            later = when + timedelta(seconds=rng.randint(20, 400))
            native, url = self.post_id("mastodon", twin, later)
            self.add(
                Post(
                    "mastodon",
                    native,
                    twin,
                    later,
                    text,
                    intent=intent,
                    lang=lang,
                    url=url,
                    media=media,
                    links=links,
                )
            )
        return post

    # cascades -----------------------------------------------------------------------------

    def reply_text(self, parent: Post, replier: Person) -> tuple[str, str, str]:
        """What someone answers, in their language when they share it with the post."""
        rng = self.rng
        if parent.intent == "crisis":
            return rng.choice(tx.CRISIS_REPLIES), "crisis", "en"
        if parent.intent == "statement":
            return rng.choice(tx.BRAND_STATEMENT_REPLIES), "crisis", "en"
        if replier.lang != "en" and parent.lang == replier.lang:
            return rng.choice(tx.REPLIES_OTHER[replier.lang]), parent.intent, replier.lang
        table = tx.REPLIES_EN.get(parent.intent, tx.REPLIES_EN["chatter"])
        return rng.choice(table), parent.intent, "en"

    def reply(
        self,
        parent: Post,
        replier: Person,
        when: datetime,
        template: str | None = None,
        intent: str | None = None,
        ctx: dict[str, str] | None = None,
        lang: str = "en",
    ) -> Post | None:
        if template is None:
            template, intent, lang = self.reply_text(parent, replier)
            if lang == "en":
                template = self.vary(template, intent or parent.intent)
        ctx = {"first": parent.author.first, **(ctx or {})}
        mentions: list[str] = []
        if parent.network == "mastodon":
            template = f"@{parent.author.handle} {template}"
            mentions.append(parent.author.native_id)
        root = parent.thread_root or parent.native_id
        return self.write(
            parent.network,
            replier,
            when,
            template,
            intent or parent.intent,
            lang,
            ctx,
            mentions=mentions,
            reply_to=parent.native_id,
            thread_root=root,
        )

    def vary(self, template: str, intent: str, personal: bool = True) -> str:
        """Openers and closers people add, so two people's replies rarely read the same.

        ``personal`` words (a name, "for you") only fit a reply, not a quote.
        """
        rng = self.rng
        if intent == "spam":
            return template
        if intent == "crisis":
            detail = rng.choice(tx.CRISIS_DETAILS) if rng.random() < 0.3 else ""
            closer = rng.choice(tx.CRISIS_CLOSERS)
            if (detail or closer[1:2].isalpha()) and template[-1:].isalnum():
                template += "."
            return rng.choice(tx.CRISIS_OPENERS) + template + detail + closer
        mood = (
            "negative"
            if intent in ("complaint", "support")
            else "positive"
            if intent in ("praise", "purchase", "viral")
            else "neutral"
        )
        openers, closers = tx.OPENERS[mood], tx.CLOSERS[mood]
        if not personal:
            openers = [o for o in openers if "{first}" not in o]
            closers = [c for c in closers if not c or "{" in c]
        opener = rng.choice(openers)
        if (
            opener.split(" ")[0].strip(",.!?").lower()
            == template.split(" ", maxsplit=1)[0].strip(",.!?").lower()
        ):
            opener = ""
        if opener.endswith((", ", "so ")) and template[:2] not in ("I ", "I'"):
            template = template[:1].lower() + template[1:]
        closer = rng.choice(closers)
        if closer[1:2].isalpha() and template[-1:].isalnum():
            template += "."
        return opener + template + closer

    def reshare(self, parent: Post, by: Person, when: datetime) -> Post | None:
        if parent.network == "bluesky":
            native = f"at://{by.native_id}/app.bsky.feed.repost/{tid(when, self.ids)}"
        else:
            native = f"{parent.native_id}#reblogged-by:{by.native_id}"
        if native in self.taken:
            return None
        self.taken.add(native)
        return self.add(
            Post(
                parent.network,
                native,
                by,
                when,
                kind="reshare",
                intent="reshare",
                reshare_of=parent.native_id,
            )
        )

    def quote(self, parent: Post, by: Person, when: datetime, template: str) -> Post | None:
        return self.write(
            parent.network,
            by,
            when,
            template,
            "quote",
            "en",
            {"first": parent.author.first},
            quote_of=parent.native_id,
            # Bluesky embeds the quoted record; Mastodon links the quoted status in the text.
            links=(parent.url,) if parent.url and parent.network == "mastodon" else (),
        )

    def delay(self, minutes: float, sigma: float = 1.1) -> timedelta:
        return timedelta(minutes=self.rng.lognormvariate(math.log(minutes), sigma))

    def discuss(self, post: Post, boost: float = 1.0) -> None:
        """Replies, reshares and quotes in proportion to reach and to what the post says."""
        rng = self.rng
        network = post.network
        reach = math.log10(1 + (post.author.followers or 0))
        eager = {
            "question": 1.8,
            "complaint": 1.6,
            "support": 1.4,
            "purchase": 1.3,
            "crisis": 1.5,
            "spam": 0.15,
        }.get(post.intent, 1.0)
        for _ in range(_poisson(rng, (0.15 + 0.3 * reach) * eager * boost)):
            when = post.created_at + self.delay(45)
            reply = self.reply(post, self.pick(network, post.lang, post.author), when)
            if reply is not None and post.lang == "en" and rng.random() < 0.3:
                later = reply.created_at + self.delay(30)
                self.reply(
                    reply,
                    post.author,
                    later,
                    rng.choice(tx.OP_FOLLOWUPS),
                    post.intent,
                    {"first": reply.author.first},
                )
        brand_rate = {
            "complaint": 0.7,
            "support": 0.85,
            "question": 0.4,
            "feature": 0.35,
            "praise": 0.15,
            "purchase": 0.3,
        }.get(post.intent, 0.0)
        mentions_brand = self.brand[network].native_id in post.mentions
        if network != "hackernews" and rng.random() < brand_rate * (1.3 if mentions_brand else 0.6):
            if post.lang in tx.BRAND_REPLIES_OTHER:
                template = tx.BRAND_REPLIES_OTHER[post.lang]
            else:
                template = rng.choice(tx.BRAND_REPLIES[post.intent])
            error = rng.choice(tx.COMMON["error"])
            ctx = {"first": post.author.first, "error": error, "error_lower": error.lower()}
            self.reply(
                post,
                self.brand[network],
                post.created_at + self.delay(100, 0.8),
                template,
                "brand",
                ctx,
                post.lang if post.lang in tx.BRAND_REPLIES_OTHER else "en",
            )
        share = {
            "praise": 1.3,
            "brand": 1.6,
            "crisis": 1.4,
            "statement": 2.0,
            "chatter": 1.0,
            "complaint": 0.8,
            "spam": 0.05,
        }.get(post.intent, 0.5)
        for _ in range(_poisson(rng, (0.1 + 0.35 * reach) * share * boost)):
            self.reshare(post, self.pick(network), post.created_at + self.delay(80, 1.3))
        if rng.random() < 0.06 * reach * boost:
            mood = "negative" if post.intent in ("complaint", "crisis") else "positive"
            self.quote(
                post,
                self.pick(network, "en"),
                post.created_at + self.delay(120),
                self.vary(
                    rng.choice(tx.QUOTES[mood]),
                    "complaint" if mood == "negative" else "praise",
                    personal=False,
                ),
            )

    # the story ----------------------------------------------------------------------------

    def everyday(self) -> None:
        rng = self.rng
        for d in range(self.days + 1):
            day = (self.start + timedelta(days=d)).replace(hour=0, minute=0, second=0)
            factor = _WEEKDAY[day.weekday()] * (1 + 0.3 * d / self.days) * rng.gauss(1, 0.12)
            self.ordinary_day(day, factor, spam=1.0, brand_post=d % 3 == 1)

    def ordinary_day(self, day: datetime, factor: float, spam: float, brand_post: bool) -> None:
        """A day of everyday talk: originals and their threads, spam, a rival's post, maybe
        one of the brand's own; ``factor`` scales the talk and ``spam`` the spam."""
        rng = self.rng
        for network, base in (("bluesky", 36), ("mastodon", 15)):
            for _ in range(_poisson(rng, base * factor)):
                author = self.pick(network)
                post = self.original(
                    network, author, self.when(day, author), _weighted(rng, _EVERYDAY_INTENTS)
                )
                if post is not None:
                    self.discuss(post)
            for _ in range(_poisson(rng, spam * (2.5 if network == "bluesky" else 1.0))):
                spammer = rng.choice(self.spammers[network])
                post = self.original(network, spammer, self.when(day, spammer), "spam")
                if post is not None:
                    self.discuss(post)
        if brand_post:
            self.brand_post(day, rng.choice(tx.BRAND_POSTS))
        if rng.random() < 0.4:
            network, name = rng.choice(sorted(self.rivals))
            rival = self.rivals[(network, name)]
            product = rng.choice(tx.COMPETITOR_PRODUCTS[name])
            post = self.write(
                network,
                rival,
                self.when(day, rival),
                rng.choice(tx.RIVAL_POSTS).replace("{p}", product),
                "brand",
                "en",
            )
            if post is not None:
                self.discuss(post)

    def history(self) -> None:
        """Quieter weeks before the main ones, rising from a tenth to two fifths of their
        volume: the brand before its social programme took off, so that quarter-on-quarter
        views (the metrics page's "last quarter") have something to show. Drawn from random
        streams of their own, so the main weeks are the same posts with or without them."""
        if self.history_days <= 0:
            return
        rng, ids = self.rng, self.ids
        self.rng = random.Random(f"{self.seed}-history")
        self.ids = random.Random(f"{self.seed}-history-ids")
        self.window_start = self.earliest
        try:
            for d in range(self.history_days):
                day = (self.earliest + timedelta(days=d)).replace(hour=0, minute=0, second=0)
                share = 0.1 + 0.3 * d / self.history_days
                factor = _WEEKDAY[day.weekday()] * share * self.rng.gauss(1, 0.12)
                self.ordinary_day(day, factor, spam=share, brand_post=d % 7 == 3)
        finally:
            self.rng, self.ids = rng, ids
            self.window_start = self.start

    def brand_post(
        self,
        day: datetime,
        template: str,
        hour: int = 15,
        intent: str = "brand",
        boost: float = 1.0,
    ) -> list[Post]:
        when = day + timedelta(hours=hour, minutes=self.rng.randint(0, 50))
        first = self.write("bluesky", self.brand["bluesky"], when, template, intent, "en")
        made = []
        if first is not None:
            self.discuss(first, boost)
            made.append(first)
            later = when + timedelta(seconds=self.rng.randint(30, 200))
            native, url = self.post_id("mastodon", self.brand["mastodon"], later)
            mirror = self.add(
                Post(
                    "mastodon",
                    native,
                    self.brand["mastodon"],
                    later,
                    first.text,
                    intent=intent,
                    lang="en",
                    url=url,
                )
            )
            if mirror is not None:
                self.discuss(mirror, boost)
                made.append(mirror)
        return made

    def viral(self) -> str:
        rng = self.rng
        day = datetime.combine(self.viral_day, datetime.min.time(), UTC)
        t0 = day + timedelta(hours=14, minutes=22)
        post = self.write(
            "bluesky", self.viral_author, t0, tx.VIRAL_POST, "viral", "en", media=("video",)
        )
        if post is None:
            raise ValueError("the viral moment falls outside the demo window")

        def burst(mean_hours: float, base: datetime = t0) -> datetime:
            slow = rng.random() < 0.3
            return base + timedelta(hours=rng.expovariate(1 / (mean_hours * (4 if slow else 1))))

        for _ in range(round(880 * self.scale)):
            self.reshare(post, self.pick("bluesky"), burst(2.5))
        for _ in range(round(230 * self.scale)):
            reply = self.reply(
                post,
                self.pick("bluesky", "en", post.author),
                burst(2.0),
                self.vary(rng.choice(tx.VIRAL_REPLIES), "viral"),
                "viral",
            )
            if reply is not None and rng.random() < 0.09:
                self.reply(
                    reply,
                    post.author,
                    reply.created_at + self.delay(20),
                    rng.choice(tx.VIRAL_AUTHOR_REPLIES),
                    "viral",
                )
        for _ in range(round(110 * self.scale)):
            quote = self.quote(
                post,
                self.pick("bluesky", "en", post.author),
                burst(3.0),
                self.vary(rng.choice(tx.VIRAL_QUOTES), "viral", personal=False),
            )
            if quote is not None:
                quote.intent = "praise"
                for _ in range(_poisson(rng, 1.6)):
                    self.reshare(quote, self.pick("bluesky"), quote.created_at + self.delay(60))
                for _ in range(_poisson(rng, 0.4)):
                    self.reply(
                        quote,
                        self.pick("bluesky", "en", quote.author),
                        quote.created_at + self.delay(40),
                        self.vary(rng.choice(tx.VIRAL_REPLIES), "viral"),
                        "viral",
                    )
        self.quote(post, self.brand["bluesky"], t0 + timedelta(hours=3, minutes=5), tx.VIRAL_BRAND)
        later = t0 + timedelta(minutes=2)
        native, url = self.post_id("mastodon", self.viral_mirror, later)
        mirror = self.add(
            Post(
                "mastodon",
                native,
                self.viral_mirror,
                later,
                post.text,
                intent="viral",
                lang="en",
                url=url,
                media=("video",),
            )
        )
        if mirror is not None:
            for _ in range(round(70 * self.scale)):
                self.reshare(mirror, self.pick("mastodon"), burst(3.0, later))
            for _ in range(round(18 * self.scale)):
                self.reply(
                    mirror,
                    self.pick("mastodon", "en", mirror.author),
                    burst(3.0, later),
                    self.vary(rng.choice(tx.VIRAL_REPLIES), "viral"),
                    "viral",
                )
        for d in range(3):
            for _ in range(_poisson(rng, 18 / (d + 1))):
                author = self.pick("bluesky", "en")
                if author.lang != "en":
                    continue
                echo = self.write(
                    "bluesky",
                    author,
                    self.when(day + timedelta(days=d), author),
                    rng.choice(tx.VIRAL_ECHO),
                    "chatter",
                    "en",
                )
                if echo is not None:
                    self.discuss(echo)
        return post.native_id

    def crisis(self) -> None:
        rng = self.rng
        day = datetime.combine(self.crisis_day, datetime.min.time(), UTC)
        for offset, volume in ((0, 250), (1, 80), (2, 25)):
            for _ in range(_poisson(rng, volume * self.scale)):
                network = "bluesky" if rng.random() < 0.72 else "mastodon"
                author = self.pick(network)
                # The first report comes at 07:30; then the story spreads through the day.
                hours = 7.5 + rng.gammavariate(2.2, 3.2) if offset == 0 else rng.uniform(0, 24)
                when = day + timedelta(days=offset, hours=hours)
                if author.lang == "en" or author.lang not in tx.CRISIS_OTHER or rng.random() < 0.4:
                    template, lang = rng.choice(tx.CRISIS_POSTS), "en"
                else:
                    template, lang = rng.choice(tx.CRISIS_OTHER[author.lang]), author.lang
                if lang == "en":
                    template = self.vary(template, "crisis")
                post = self.write(network, author, when, template, "crisis", lang)
                if post is not None:
                    self.discuss(post, 1.2)
        self.brand_post(
            day, tx.CRISIS_BRAND[0], hour=16, intent="statement", boost=4.0 * self.scale
        )
        self.brand_post(
            day + timedelta(days=1),
            tx.CRISIS_BRAND[1],
            hour=11,
            intent="statement",
            boost=2.5 * self.scale,
        )
        for d in range(2, 9):
            for _ in range(_poisson(rng, 14 / (d - 1))):
                network = "bluesky" if rng.random() < 0.7 else "mastodon"
                author = self.pick(network, "en")
                if author.lang != "en":
                    continue
                post = self.write(
                    network,
                    author,
                    self.when(day + timedelta(days=d), author),
                    rng.choice(tx.AFTERMATH),
                    "chatter",
                    "en",
                )
                if post is not None:
                    self.discuss(post)

    def hacker_news(self) -> None:
        rng = self.rng
        crisis = datetime.combine(self.crisis_day, datetime.min.time(), UTC)
        plan: list[tuple[datetime, tuple[str, str, str], int]] = []
        step = self.days / (len(tx.HN_STORIES) + 1)
        for i, planned in enumerate(tx.HN_STORIES):
            when = self.start + timedelta(days=step * (i + 1), hours=rng.uniform(-30, 30))
            plan.append((when, planned, max(3, round(rng.randint(18, 75) * self.scale))))
        plan.append(
            (
                crisis + timedelta(hours=19, minutes=40),
                tx.HN_CRISIS,
                max(5, round(140 * self.scale)),
            )
        )
        plan.sort(key=lambda p: p[0])
        for when, (title, link, body), comments in plan:
            author = (
                self.brand["hackernews"]
                if "open-sources" in title
                else rng.choice(self.people["hackernews"])
            )
            native, url = self.post_id("hackernews", author, when)
            story = self.add(
                Post(
                    "hackernews",
                    native,
                    author,
                    when,
                    tx.fill(body, rng, "en", {}),
                    title=tx.fill(title, rng, "en", {}),
                    url=url,
                    intent="question" if body else "chatter",
                    links=(tx.fill(link, rng, "en", {}),) if link else (),
                    score=int(rng.lognormvariate(math.log(comments * 3.5), 0.4)),
                )
            )
            if story is None:
                continue
            thread: list[Post] = [story]
            for _ in range(comments):
                parent = story if rng.random() < 0.4 or len(thread) == 1 else rng.choice(thread[1:])
                at = max(
                    parent.created_at,
                    story.created_at + timedelta(hours=rng.lognormvariate(math.log(3), 0.9)),
                ) + timedelta(minutes=rng.randint(1, 30))
                opener, core = rng.choice(tx.HN_OPENERS), rng.choice(tx.HN_COMMENTS)
                if opener.endswith((", ", "FWIW ")) and not core.startswith(("I ", "I'", "{")):
                    core = core[:1].lower() + core[1:]
                text = opener + core + rng.choice(tx.HN_CLOSERS)
                commenter = self.pick("hackernews", avoid=parent.author)
                native, url = self.post_id("hackernews", commenter, at)
                comment = self.add(
                    Post(
                        "hackernews",
                        native,
                        commenter,
                        at,
                        tx.fill(text, rng, "en", {}),
                        url=url,
                        intent="chatter",
                        reply_to=parent.native_id,
                        thread_root=story.native_id,
                    )
                )
                if comment is not None:
                    thread.append(comment)

    def feeds(self) -> None:
        rng = self.rng
        for feed_url, _title, lang, authors in tx.RSS_FEEDS:
            site = feed_url.split("/", 3)
            base = f"{site[0]}//{site[2]}" + ("/blog" if feed_url.startswith(tx.SITE) else "")
            brand = feed_url.startswith(tx.SITE)
            people = [
                Person(
                    "rss",
                    f"{feed_url}#author:{name.casefold()}",
                    name,
                    name,
                    name.split()[0],
                    lang,
                    0,
                    None,
                    None,
                    None,
                    None,
                    base,
                )
                for name in authors
            ]
            interval = 7.0 if brand else rng.uniform(3.0, 6.0)
            t = self.start + timedelta(days=rng.uniform(0, interval))
            count = 0
            while t < self.end:
                entry = rng.choice(tx.BRAND_BLOG if brand else tx.RSS_ENTRIES[lang])
                self.entry(base, rng.choice(people), t, entry, lang, count)
                count += 1
                t += timedelta(days=rng.uniform(0.6, 1.4) * interval)
            if brand:
                crisis = datetime.combine(self.crisis_day, datetime.min.time(), UTC)
                self.entry(
                    base,
                    people[0],
                    crisis + timedelta(days=1, hours=10),
                    tx.CRISIS_BLOG,
                    "en",
                    count,
                )
            elif lang == "en" and rng.random() < 0.5:
                crisis = datetime.combine(self.crisis_day, datetime.min.time(), UTC)
                self.entry(
                    base,
                    rng.choice(people),
                    crisis + timedelta(hours=rng.uniform(13, 30)),
                    tx.CRISIS_PRESS,
                    lang,
                    count + 1,
                )

    def entry(
        self, base: str, author: Person, when: datetime, entry: tuple[str, str], lang: str, n: int
    ) -> None:
        rng = self.rng
        title, body = tx.fill("\n\n".join(entry), rng, lang, {}).split("\n\n", 1)
        words = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
        slug = "-".join(re.findall(r"[a-z0-9]+", words)[:8]) or f"post-{n}"
        url = f"{base}/{when:%Y/%m}/{slug}"
        while url in self.taken:
            url += f"-{rng.randint(2, 99)}"
        self.taken.add(url)
        post = self.add(
            Post(
                "rss",
                url,
                author,
                when,
                body,
                title=title,
                url=url,
                lang=lang,
                intent="chatter",
                links=(url,),
            )
        )
        if post is None or lang != "en" or rng.random() > 0.35:
            return
        for i in range(rng.randint(1, 4)):
            name = rng.choice(_NAMES["en"][0])
            at = when + self.delay(300)
            commenter = Person(
                "rss",
                f"{url}/feed/#author:{name.casefold()}",
                name,
                name,
                name,
                "en",
                0,
                None,
                None,
                None,
                None,
                None,
            )
            cid = f"{url}#comment-{1000 + n * 10 + i}"
            self.taken.add(cid)
            self.add(
                Post(
                    "rss",
                    cid,
                    commenter,
                    at,
                    tx.fill(rng.choice(tx.COMMENTS_EN), rng, "en", {}),
                    url=cid,
                    lang="en",
                    intent="chatter",
                    reply_to=url,
                    thread_root=url,
                )
            )

    def build(self) -> Demo:
        self.everyday()
        viral = self.viral()
        self.crisis()
        self.hacker_news()
        self.feeds()
        self.history()
        self.posts.sort(key=lambda p: (p.created_at, p.network, p.native_id))
        accounts = [(p.network, p.native_id, p.handle) for p in self.brand.values()]
        return Demo(
            self.start, self.end, self.viral_day, self.crisis_day, viral, self.posts, accounts
        )


def _ascii(text: str) -> str:
    """Lower-case ASCII letters and digits of a name, for handles and URL slugs."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).lower()


def key_days(days: int, end: datetime) -> tuple[date, date]:
    """The days of the viral moment and of the crisis: about a third and two thirds in."""
    start = end - timedelta(days=days)
    viral = int(days * 0.35)
    return (start + timedelta(days=viral)).date(), (
        start + timedelta(days=max(int(days * 0.7), viral + 1))
    ).date()


def default_end() -> datetime:
    """Now, on the hour, so a fresh demo looks current."""
    return utcnow().replace(minute=0, second=0, microsecond=0)


def history_to_last_quarter(days: int, end: datetime) -> int:
    """Days of quieter history before the main ``days`` so the demo reaches back to the start
    of the previous calendar quarter (at most a year in all)."""
    this_quarter = date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
    previous = (
        date(this_quarter.year - 1, 10, 1)
        if this_quarter.month == 1
        else date(this_quarter.year, this_quarter.month - 3, 1)
    )
    start = (end - timedelta(days=days)).date()
    return max(0, min((start - previous).days + 1, 366 - days))


def generate(
    seed: int = 7, days: int = 42, end: datetime | None = None, history_days: int = 0
) -> Demo:
    """The whole demo conversation; same seed, days, history and end give the same posts."""
    if days < MIN_DAYS:
        raise ValueError(f"the demo needs at least {MIN_DAYS} days, not {days}")
    end = as_utc(end) if end is not None else default_end()
    return _Builder(seed, days, end, history_days).build()


def demo_lines(
    seed: int = 7, days: int = 42, end: datetime | None = None, history_days: int = 0
) -> Iterator[bytes]:
    """The demo as Hubbub jsonl lines, oldest first."""
    return generate(seed, days, end, history_days).lines()
