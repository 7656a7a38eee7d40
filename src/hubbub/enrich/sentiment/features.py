"""Batch featuriser: hashed word/char n-grams plus VADER-lexicon cues, computed with numpy.

Everything works on a whole batch at once (one joined string, one regex pass, vectorised
hashing) so the Python cost per post stays below the plain VADER loop.
"""

from __future__ import annotations

import hashlib
import re
import string
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    NEGATE,
    SentimentIntensityAnalyzer,
)

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

CHAR_NGRAMS = (3, 5)
NEGATION_SCOPE = 4  # tokens after a negator that count as negated (punctuation ends it sooner)
DENSE_NAMES = (
    "pos_sum",
    "neg_sum",
    "compound",
    "n_pos",
    "n_neg",
    "max_valence",
    "min_valence",
    "last_valence",
    "exclaims",
    "questions",
    "caps_words",
    "n_tokens",
    "negations",
    "has_url",
    "has_mention",
    "emoji_valence",
)

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_ELONGATED = re.compile(r"(\w)\1{2,}")
_TOKEN = re.compile(
    r"""
    \n
    |</?3+
    |[:;=8xX][\-o'^]?[)(\]\[dDpP/\\|*oO3@$]+(?!\w)
    |[)(\]\[][\-o'^]?[:;=8](?!\w)
    |[#@]?\w+(?:['’]\w+)*
    |[!?]+
    |\.{2,}|…
    |[^\w\s]
    """,
    re.VERBOSE,
)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_PRIME = np.uint64(1099511628211)
_NEG_SALT = np.uint64(0x5BD1E9955BD1E995)
_MAX_CACHE = 400_000


def _mix(h: U64, salt: int) -> U64:
    """Scramble 64-bit keys (splitmix-style) so buckets spread evenly for every namespace."""
    x = h ^ np.uint64(salt * 0x632BE59BD9B4E019 & 0xFFFFFFFFFFFFFFFF)
    x = x * _GOLDEN
    x = x ^ (x >> np.uint64(31))
    x = x * _MIX
    return x ^ (x >> np.uint64(29))


def normalise(text: str) -> str:
    """Map URLs, mentions, entities and elongations to stable forms (train and score alike)."""
    text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    text = text.replace("&quot;", '"')
    text = _URL.sub(" http ", text)
    text = _MENTION.sub("@user", text)
    return _shorten_elongations(text)


def _word_ascii() -> npt.NDArray[np.bool_]:
    table = np.zeros(128, dtype=bool)
    for char in string.ascii_letters + string.digits + "_":
        table[ord(char)] = True
    return table


_WORD_ASCII = _word_ascii()


def _shorten_elongations(text: str) -> str:
    """``_ELONGATED.sub`` on just the lines where a word character repeats three times.

    The regex alone tries a backreference at every character of a batch (most of the
    normalising time); numpy finds the few candidate lines first, and the regex still decides
    on them. Every ASCII character outside ``\\w`` is ruled out, anything else is a candidate.
    """
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if codes.shape[0] < 3:
        return text
    first = codes[:-2]
    candidate = (first == codes[1:-1]) & (first == codes[2:])
    candidate &= (first >= 128) | _WORD_ASCII[np.minimum(first, 127)]
    starts = np.flatnonzero(candidate)
    if not starts.size:
        return text
    parts: list[str] = []
    done = 0  # text[:done] is in parts already; no match spans a newline (\w excludes it)
    for start in starts.tolist():
        if start < done:
            continue
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", start)
        line_end = len(text) if line_end < 0 else line_end
        parts.append(text[done:line_start])
        parts.append(_ELONGATED.sub(r"\1\1", text[line_start:line_end]))
        done = line_end
    parts.append(text[done:])
    return "".join(parts)


@cache
def lexicon() -> tuple[dict[str, float], dict[str, float], str]:
    """VADER's word and emoji valences (from the installed package) and their fingerprint."""
    analyzer = SentimentIntensityAnalyzer()
    words: dict[str, float] = {k: float(v) for k, v in analyzer.lexicon.items()}
    emojis: dict[str, float] = {}
    for char, description in analyzer.emojis.items():
        total = sum(words.get(w, 0.0) for w in description.lower().split())
        if total:
            emojis[char] = max(-4.0, min(4.0, total))
    digest = hashlib.sha256()
    for key in sorted(words):
        digest.update(f"{key}\t{words[key]}\n".encode())
    for key in sorted(emojis):
        digest.update(f"{key}\t{emojis[key]}\n".encode())
    return words, emojis, digest.hexdigest()[:16]


_NEGATE = frozenset(NEGATE)
_BOOSTERS = {k: float(v) for k, v in BOOSTER_DICT.items()}
_RESETS = frozenset({"\n", ".", ",", ":", ";", "…"})
_CACHE: dict[str, int] = {}
_ARRAYS: dict[str, npt.NDArray[Any]] = {}
_LOCK = threading.Lock()
Columns = dict[str, npt.NDArray[Any]]


def reset_cache() -> None:
    """Forget every token seen so far (bounds memory; lets benchmarks measure a cold start)."""
    with _LOCK:
        _CACHE.clear()
        _ARRAYS.clear()


def _facts(fresh: list[str]) -> dict[str, npt.NDArray[Any]]:
    """Per-token facts for tokens not seen before, one numpy column per fact."""
    words, emojis, _ = lexicon()
    low = [t.lower() for t in fresh]
    emoji = [emojis.get(t, 0.0) for t in fresh]
    valence = [
        words.get(w, 0.0) or e or (words.get(w[1:], 0.0) if w[:1] == "#" else 0.0)
        for w, e in zip(low, emoji, strict=True)
    ]
    crc = zlib.crc32
    return {
        "hash": np.array([crc(w.encode("utf-8", "surrogatepass")) for w in low], np.uint64),
        "valence": np.array(valence, np.float64),
        "booster": np.array([_BOOSTERS.get(w, 0.0) for w in low], np.float64),
        "exclaims": np.array([t.count("!") for t in fresh], np.float64),
        "questions": np.array([t.count("?") for t in fresh], np.float64),
        "negator": np.array([w in _NEGATE or w.endswith(("n't", "n’t")) for w in low], dtype=bool),
        "reset": np.array(
            [t in _RESETS or t[0] in "!?" or t[:2] == ".." for t in fresh], dtype=bool
        ),
        "but": np.array([w == "but" for w in low], dtype=bool),
        "caps": np.array([len(t) > 1 and t.isupper() and t.isalpha() for t in fresh], bool),
        "emoji": np.array([e != 0.0 for e in emoji], dtype=bool),
        "separator": np.array([t == "\n" for t in fresh], dtype=bool),
        "word": np.array([w.lstrip("#@")[:1].isalnum() for w in low], dtype=bool),
    }


def _token_ids(tokens: list[str]) -> tuple[I64, Columns]:
    """Ids into the token-fact columns (extended for new tokens) and a snapshot of them.

    Columns are replaced, never changed in place, so the snapshot stays consistent while
    another thread scores its own batch.
    """
    with _LOCK:
        if len(_CACHE) > _MAX_CACHE:
            _CACHE.clear()
            _ARRAYS.clear()
        known = len(_CACHE)
        cache = _CACHE
        fresh = [t for t in dict.fromkeys(tokens) if t not in cache]
        cache.update(zip(fresh, range(known, known + len(fresh)), strict=True))
        ids = np.fromiter(map(cache.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        if fresh:
            for name, column in _facts(fresh).items():
                _ARRAYS[name] = np.concatenate((_ARRAYS[name], column)) if known else column
        return ids, dict(_ARRAYS)


@dataclass(frozen=True)
class Features:
    """A batch as sparse (doc, bucket, value) triples plus a dense lexicon block."""

    n_docs: int
    doc: I64
    col: I64
    val: F32
    dense: F32


def _join(texts: Sequence[str]) -> str:
    joined = "\n".join(texts)
    if joined.count("\n") != max(len(texts) - 1, 0) or "\r" in joined:
        joined = "\n".join(t.replace("\r", " ").replace("\n", " ") for t in texts)
    return "\n" + normalise(joined) + "\n"


def _char_ngrams(low: str, bits: int) -> tuple[I64, I64]:
    """Hashed character n-grams of every doc in the batch; none crosses a doc boundary."""
    codes = np.frombuffer(low.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    codes64 = codes.astype(np.uint64)
    newline = codes == 10
    prefix = np.concatenate(([0], np.cumsum(newline)))
    doc_of = prefix[1:] - 1
    shift = np.uint64(64 - bits)
    docs: list[I64] = []
    cols: list[I64] = []
    total = codes64.shape[0]
    h = np.zeros(total, dtype=np.uint64)
    for n in range(1, max(CHAR_NGRAMS) + 1):
        length = total - n + 1
        if length <= 0:
            break
        h = h[:length] * _PRIME + codes64[n - 1 : n - 1 + length]
        if n not in CHAR_NGRAMS:
            continue
        ok = (prefix[n : n + length] - prefix[:length]) == 0
        starts = np.flatnonzero(ok)
        docs.append(doc_of[starts])
        cols.append((_mix(h[starts], 100 + n) >> shift).view(np.int64))
    if not docs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(docs), np.concatenate(cols)


def featurise(texts: Sequence[str], bits: int) -> Features:
    """Turn a batch of raw texts into features for a model with 2**bits hashed buckets."""
    n_docs = len(texts)
    if not n_docs:
        empty = np.zeros(0, dtype=np.int64)
        return Features(
            0, empty, empty, np.zeros(0, np.float32), np.zeros((0, len(DENSE_NAMES)), np.float32)
        )
    joined = _join(texts)
    tokens = _TOKEN.findall(joined)
    ids, arr = _token_ids(tokens)
    sep = arr["separator"][ids]
    n_tok = ids.shape[0]
    pos = np.arange(n_tok)
    csep = np.cumsum(sep)
    doc = csep - 1
    words = ~sep
    wdoc = doc[words]

    negator = arr["negator"][ids]
    last_neg = np.maximum.accumulate(np.where(negator, pos, -1))
    last_reset = np.maximum.accumulate(np.where(arr["reset"][ids], pos, -1))
    scoped = (
        (last_neg > last_reset) & (pos - last_neg <= NEGATION_SCOPE) & ~negator & arr["word"][ids]
    )

    shift = np.uint64(64 - bits)
    h = arr["hash"][ids]
    salt: U64 = np.where(scoped, _NEG_SALT, np.uint64(0)).astype(np.uint64)
    uni = _mix(h ^ salt, 1)[words] >> shift
    pair_ok = ~(sep[:-1] & sep[1:])
    pair = (h[:-1] * _PRIME + _mix(h[1:], 7))[pair_ok]
    bi = _mix(pair, 2) >> shift
    bdoc = doc[:-1][pair_ok]
    cdoc, ccol = _char_ngrams(joined.lower(), bits)

    docs = [wdoc, bdoc, cdoc]
    cols = [uni.view(np.int64), bi.view(np.int64), ccol]
    vals: list[F32] = []
    for d in docs:
        counts = np.bincount(d, minlength=n_docs).astype(np.float32)
        vals.append(1.0 / np.sqrt(np.maximum(counts, 1.0))[d])

    dense = _dense(arr, ids, doc, words, scoped, n_docs)
    return Features(
        n_docs=n_docs,
        doc=np.concatenate(docs),
        col=np.concatenate(cols),
        val=np.concatenate(vals).astype(np.float32),
        dense=dense,
    )


def _dense(
    arr: Columns,
    ids: I64,
    doc: I64,
    words: npt.NDArray[np.bool_],
    scoped: npt.NDArray[np.bool_],
    n_docs: int,
) -> F32:
    """VADER-like cues per doc: valence with negation, boosters, caps, 'but' and punctuation.

    The constants (boost 0.293 via BOOSTER_DICT, caps 0.733, negation -0.74, 'but' 0.5/1.5)
    are VADER's published ones, so the block starts from what the lexicon baseline knows.
    """
    val = arr["valence"][ids].copy()
    booster = np.concatenate(([0.0], arr["booster"][ids][:-1]))
    caps = arr["caps"][ids]
    has = val != 0
    sign = np.sign(val)
    val = val + sign * booster + np.where(caps & has, sign * 0.733, 0.0)
    val = np.where(scoped, val * -0.74, val)
    is_but = arr["but"][ids]
    sep = arr["separator"][ids]
    cbut = np.cumsum(is_but)
    at_start = np.maximum.accumulate(np.where(sep, cbut, 0))
    after = cbut > at_start
    doc_w = doc[words]
    has_but = np.bincount(doc_w, weights=is_but[words], minlength=n_docs) > 0
    before = has_but[np.clip(doc, 0, max(n_docs - 1, 0))] & ~after & ~is_but
    val = np.where(after, val * 1.5, np.where(before, val * 0.5, val))
    val = val[words]

    def total(weights: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        return np.bincount(doc_w, weights=weights, minlength=n_docs).astype(np.float64)

    pos_sum = total(np.maximum(val, 0.0))
    neg_sum = total(np.minimum(val, 0.0))
    exclaims = np.minimum(total(arr["exclaims"][ids][words]), 4.0)
    questions = np.minimum(total(arr["questions"][ids][words]), 4.0)
    raw = pos_sum + neg_sum
    raw = raw + np.sign(raw) * (exclaims * 0.292 + np.where(questions > 1, 0.18 * questions, 0.0))
    compound = raw / np.sqrt(raw * raw + 15.0)
    max_v = np.zeros(n_docs)
    min_v = np.zeros(n_docs)
    np.maximum.at(max_v, doc_w, val)
    np.minimum.at(min_v, doc_w, val)
    nz = np.flatnonzero(val != 0)
    last = np.zeros(n_docs)
    nz_doc = doc_w[nz]
    final = np.concatenate((nz_doc[1:] != nz_doc[:-1], [True])) if nz.size else nz.astype(bool)
    last[nz_doc[final]] = val[nz][final]
    tokens_n = np.bincount(doc_w, minlength=n_docs).astype(np.float64)
    hashes = arr["hash"][ids][words]
    out = np.stack(
        [
            pos_sum,
            neg_sum,
            compound,
            np.log1p(total((val > 0).astype(np.float64))),
            np.log1p(total((val < 0).astype(np.float64))),
            max_v,
            min_v,
            last,
            exclaims,
            questions,
            np.log1p(total(caps[words].astype(np.float64))),
            np.log1p(tokens_n),
            total(arr["negator"][ids][words].astype(np.float64)),
            total((hashes == _HTTP).astype(np.float64)) > 0,
            total((hashes == _USER).astype(np.float64)) > 0,
            total(np.where(arr["emoji"][ids][words], val, 0.0)),
        ],
        axis=1,
    )
    return out.astype(np.float32)


_HTTP = np.uint64(zlib.crc32(b"http"))
_USER = np.uint64(zlib.crc32(b"@user"))
