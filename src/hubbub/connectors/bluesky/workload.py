"""Synthetic but realistic Jetstream post-create events, for benchmarks and crash tests.

Shaped like production traffic (mixed languages, facets with exact UTF-8 byte offsets,
replies, quotes, link cards, images, video) and fully deterministic for a seed, so a run can
be repeated and compared without any shared data at hand.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson

from hubbub.connectors.bluesky.normalise import POST

_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_TID = "234567abcdefghijklmnopqrstuvwxyz"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_START_US = 1_783_175_888_000_000  # 2026-07-04T14:38:08Z, like the recorded capture


def _words(text: str) -> list[str]:
    return text.split()


_WORDS: dict[str, list[str]] = {
    "en": _words(
        "the a new launch today love this product team support update release coffee "
        "morning week really great terrible issue fixed thanks everyone ship shipping "
        "bug feature app phone battery camera price order delivery late finally open "
        "source community meetup talk slides weekend rain city music album tour ticket "
        "refund help please why how what when best worst ever again still waiting"
    ),
    "pt": _words(
        "hoje novo produto obrigado equipe atualização café semana muito bom ruim "
        "problema resolvido entrega atrasada finalmente comunidade música cidade chuva"
    ),
    "de": _words(
        "heute neu Produkt danke Team Update Kaffee Woche wirklich gut schlecht Problem "
        "behoben Lieferung endlich Gemeinschaft Musik Stadt Regen Wochenende"
    ),
    "es": _words(
        "hoy nuevo producto gracias equipo actualización café semana muy bueno malo "
        "problema arreglado entrega tarde por fin comunidad música ciudad lluvia"
    ),
    "ja": _words(
        "今日 新しい 製品 ありがとう チーム 更新 コーヒー 週末 本当に 良い 問題 修正 配達 音楽 雨"
    ),
}
_LANG_WEIGHTS = (("en", 70), ("pt", 10), ("ja", 8), ("de", 6), ("es", 6))
_TAGS = ("launch", "BlueSky", "opensource", "coffee", "music", "python", "art", "news", "tech")
_SITES = (
    "https://www.youtube.com/watch?v=",
    "https://example.com/blog/",
    "https://news.example.org/articles/",
    "https://github.com/hubbub-social/hubbub/issues/",
)


def _did(rng: random.Random) -> str:
    return "did:plc:" + "".join(rng.choices(_B32, k=24))


def _cid(rng: random.Random) -> str:
    return "bafyrei" + "".join(rng.choices(_B32, k=52))


def tid(time_us: int, clock_id: int) -> str:
    """A record key in TID form (13 base32-sortable chars from microseconds + clock id)."""
    value = ((time_us & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_TID[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _TextBuilder:
    """Builds post text piece by piece, recording facets with UTF-8 byte offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.facets: list[dict[str, object]] = []

    def add(self, text: str, feature: dict[str, str] | None = None) -> None:
        if self.parts:
            self.parts.append(" ")
            self.size += 1
        start = self.size
        self.parts.append(text)
        self.size += len(text.encode())
        if feature is not None:
            self.facets.append(
                {"features": [feature], "index": {"byteStart": start, "byteEnd": self.size}}
            )

    def text(self) -> str:
        return "".join(self.parts)


def jetstream_events(n: int, seed: int = 0, start_time_us: int = DEFAULT_START_US) -> list[bytes]:
    """``n`` distinct post-create events (UTF-8 JSON), ``time_us`` strictly increasing."""
    rng = random.Random(seed)
    authors = [_did(rng) for _ in range(max(8, min(n // 3, 50_000)))]
    handles = {did: f"user{index}.bsky.social" for index, did in enumerate(authors)}
    langs = [lang for lang, _ in _LANG_WEIGHTS]
    weights = [weight for _, weight in _LANG_WEIGHTS]
    recent: list[tuple[str, str, str, str]] = []  # (uri, cid, root uri, root cid)
    events: list[bytes] = []
    time_us = start_time_us
    for _ in range(n):
        time_us += rng.randint(200, 6_000)
        did = rng.choice(authors)
        rkey = tid(time_us, rng.randrange(1024))  # unique: time_us never repeats
        lang = rng.choices(langs, weights)[0]
        words = _WORDS[lang]
        builder = _TextBuilder()
        for _ in range(max(1, int(rng.lognormvariate(2.6, 0.6)))):
            builder.add(rng.choice(words))
            if builder.size > 220:
                break
        record: dict[str, object] = {"$type": POST}
        roll = rng.random()
        if roll < 0.25:
            other = rng.choice(authors)
            builder.add(
                "@" + handles[other], {"$type": "app.bsky.richtext.facet#mention", "did": other}
            )
        if rng.random() < 0.2:
            tag = rng.choice(_TAGS)
            builder.add("#" + tag, {"$type": "app.bsky.richtext.facet#tag", "tag": tag})
        link = None
        if rng.random() < 0.15:
            link = rng.choice(_SITES) + "".join(rng.choices(_B32, k=11))
            builder.add(link[8:40] + "...", {"$type": "app.bsky.richtext.facet#link", "uri": link})
        embed_roll = rng.random()
        if link is not None and embed_roll < 0.6:
            record["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": {
                    "uri": link,
                    "title": " ".join(rng.choices(words, k=6)),
                    "description": "",
                },
            }
        elif recent and embed_roll < 0.06:
            quoted = rng.choice(recent)
            record["embed"] = {
                "$type": "app.bsky.embed.record",
                "record": {"uri": quoted[0], "cid": quoted[1]},
            }
        elif recent and embed_roll < 0.08:
            quoted = rng.choice(recent)
            record["embed"] = {
                "$type": "app.bsky.embed.recordWithMedia",
                "record": {
                    "$type": "app.bsky.embed.record",
                    "record": {"uri": quoted[0], "cid": quoted[1]},
                },
                "media": _images(rng, 1),
            }
        elif embed_roll < 0.22:
            record["embed"] = _images(rng, rng.randint(1, 4))
        elif embed_roll < 0.25:
            record["embed"] = {
                "$type": "app.bsky.embed.video",
                "video": _blob(rng, "video/mp4"),
                "aspectRatio": {"width": 1080, "height": 1920},
            }
        if recent and rng.random() < 0.3:
            parent = rng.choice(recent)
            record["reply"] = {
                "parent": {"uri": parent[0], "cid": parent[1]},
                "root": {"uri": parent[2], "cid": parent[3]},
            }
        created = _EPOCH + timedelta(microseconds=time_us - rng.randint(50_000, 3_000_000))
        record["createdAt"] = _iso(created)
        record["langs"] = [lang]
        record["text"] = builder.text()
        if builder.facets:
            record["facets"] = builder.facets
        cid = _cid(rng)
        uri = f"at://{did}/{POST}/{rkey}"
        reply = record.get("reply")
        root = (
            (uri, cid)
            if not isinstance(reply, dict)
            else (reply["root"]["uri"], reply["root"]["cid"])
        )
        recent.append((uri, cid, root[0], root[1]))
        if len(recent) > 200:
            recent.pop(0)
        event = {
            "did": did,
            "time_us": time_us,
            "kind": "commit",
            "commit": {
                "rev": tid(time_us + 1, 0),
                "operation": "create",
                "collection": POST,
                "rkey": rkey,
                "record": record,
                "cid": cid,
            },
        }
        events.append(orjson.dumps(event))
    return events


def _blob(rng: random.Random, mime: str) -> dict[str, object]:
    return {
        "$type": "blob",
        "ref": {"$link": "bafkrei" + "".join(rng.choices(_B32, k=52))},
        "mimeType": mime,
        "size": rng.randint(20_000, 900_000),
    }


def _images(rng: random.Random, count: int) -> dict[str, object]:
    return {
        "$type": "app.bsky.embed.images",
        "images": [
            {
                "alt": "",
                "image": _blob(rng, "image/jpeg"),
                "aspectRatio": {"width": 1200, "height": 900},
            }
            for _ in range(count)
        ],
    }
