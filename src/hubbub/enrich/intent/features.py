"""Intent features: the sentiment tier's hashed n-grams and lexicon block, plus intent cues.

The hashed part is the sentiment featuriser unchanged (same normalisation, tokeniser and
hashing), so both enrichers read text the same way. The cue block adds a handful of counts
that a 600-post set cannot learn reliably from n-grams alone: question shape, first-person
buying and asking-for-help phrases, "please add"-style requests and spam markers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import ahocorasick
import numpy as np
import numpy.typing as npt

from hubbub.enrich.sentiment.features import DENSE_NAMES as LEXICON_NAMES
from hubbub.enrich.sentiment.features import Features, featurise
from hubbub.enrich.sentiment.model import WEIGHTS_PATH as SENTIMENT_WEIGHTS
from hubbub.enrich.sentiment.model import default_model as sentiment_model

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

_FLAGS = re.IGNORECASE
_CUES: dict[str, re.Pattern[str]] = {
    "question_start": re.compile(
        r"^\s*(?:@\w+\s+)*(?:quick q\w*\W+)?(?:does|do|is|are|can|could|will|how|what|where|"
        r"which|when|who|why|anyone|r)\b",
        _FLAGS,
    ),
    "ends_question": re.compile(r"\?[\s\W]*$"),
    "first_person_problem": re.compile(
        r"\b(?:my|mine|i've|i have|i was|i got|i need)\b.{0,60}\b(?:won't|wont|doesn't|"
        r"isn't|not|never|stuck|error|broken|missing|locked|lost|declined|charged|failing)\b",
        _FLAGS,
    ),
    "help_ask": re.compile(
        r"\b(?:help|fix|refund|rebook|replace(?:ment)?|reset|recover|restore|update me|"
        r"contact|dm|can you|can someone|what do i do|what now|how do i|any (?:fix|tips|ideas))\b",
        _FLAGS,
    ),
    "order_ref": re.compile(
        r"\b(?:order|booking|claim|ref|ticket)\b\W*(?:number|no\.?|ref)?\W*"
        r"[A-Z]{0,3}-?\d{3,}",
        _FLAGS,
    ),
    "purchase": re.compile(
        r"\b(?:buy|buying|bought|order(?:ing)?|purchase|preorder|pre-order|cart|basket|"
        r"checkout|upgrade|sign(?:ing)? up|subscribe|take my money|pulling the trigger|"
        r"grab it|in the market|wishlist|treat myself|gift(?:ing)?)\b",
        _FLAGS,
    ),
    "plan_to": re.compile(
        r"\b(?:gonna|going to|about to|planning to|plan to|thinking of|considering|want to|"
        r"want the|need (?:a|new|to get)|ready to|will be|i'll|might|looking (?:to|for)|"
        r"torn between|leaning|getting)\b",
        _FLAGS,
    ),
    "request": re.compile(
        r"\b(?:please add|pls add|add (?:a|an|support)|would love|would be (?:great|nice|"
        r"amazing|perfect)|should (?:add|let|make|offer|have|sell|support|do|show|allow)|"
        r"needs? (?:a|an|to|proper)|wish|let (?:us|me)|feature|option|bring back|"
        r"how about|make it happen|when is .{1,40} adding)\b",
        _FLAGS,
    ),
    "money_offer": re.compile(
        r"(?:[$£€]\s?\d[\d,.]*k?|\b\d+\s?%|\bfree\b|\bgiveaway\b|\bwin\b|\bprize\b|\bcrypto\b|"
        r"\bbtc\b|\beth\b|\bnft|\bfollowers?\b|\blink in bio\b|\bclick\b|\bdm (?:me|us)\b|"
        r"\bearn\b|\bguaranteed?\b|\bclaim\b)",
        _FLAGS,
    ),
    "defect": re.compile(
        r"\b(?:broke|broken|snapped|stopped|died|dead|leak\w*|crash\w*|cracked|damaged|dented|"
        r"wrong|late|delay\w*|cancell?ed|lost|missing|cold|slow|worse|again|still|never|"
        r"charged (?:me|twice)|price (?:hike|went up)|went up|raised|removed|pointless|"
        r"not (?:worth|impressed|cool)|waste|avoid|disappoint\w*|rubbish|joke|scam)\b",
        _FLAGS,
    ),
    "delight": re.compile(
        r"\b(?:love\w*|best|amazing|brilliant|perfect|lifesaver|legends?|impressed|thank\w*|"
        r"shoutout|big up|kudos|respect|worth every|game changer|obsessed|10/10|five stars|"
        r"so good|fair play|well done|never going back|blown away|gorgeous|bliss)\b|[😍❤️🥹🙌✨💕]",
        _FLAGS,
    ),
    "hashtags": re.compile(r"#\w+"),
    "links": re.compile(
        r"https?://\S+|www\.\S+|\b[\w-]+\.(?:biz|xyz|top|co|io|net|shop|"
        r"store|win|click|live|app|cc|pw|ru|org|com|info)\b",
        _FLAGS,
    ),
    "exclaim_runs": re.compile(r"!{2,}|🔥|💰|💸|🚀|🤑|💵|🎁"),
}
CUE_NAMES = tuple(_CUES)
# Literals every match of a cue contains, case-folded: a text holding none of its cue's needles
# cannot match it, so the regex (the costly part: ~100 µs a post for all of them) is skipped.
# None: always run (cheap or anchored). tests/enrich/intent/test_cue_gates.py checks that the
# counts equal ungated ones on every labelled text we have.
_NEEDLES: dict[str, tuple[str, ...] | None] = {
    "question_start": None,
    "ends_question": None,
    "first_person_problem": ("my", "mine", "i've", "i have", "i was", "i got", "i need"),
    "help_ask": (
        "help", "fix", "refund", "rebook", "replace", "reset", "recover", "restore",
        "update me", "contact", "dm", "can you", "can someone", "what do i do", "what now",
        "how do i", "any tips", "any ideas",
    ),
    "order_ref": ("order", "booking", "claim", "ref", "ticket"),
    "purchase": (
        "buy", "bought", "order", "purchase", "pre-order", "cart", "basket", "checkout",
        "upgrade", "sign up", "signing up", "subscribe", "take my money",
        "pulling the trigger", "grab it", "in the market", "wishlist", "treat myself", "gift",
    ),
    "plan_to": (
        "gonna", "going to", "about to", "planning to", "plan to", "thinking of",
        "considering", "want to", "want the", "need a", "need new", "need to get", "ready to",
        "will be", "i'll", "might", "looking to", "looking for", "torn between", "leaning",
        "getting",
    ),
    "request": (
        "please add", "pls add", "add a", "add support", "would love", "would be", "should ",
        "need", "wish", "let us", "let me", "feature", "option", "bring back", "how about",
        "make it happen", "when is",
    ),
    "money_offer": (
        "$", "£", "€", "%", "free", "giveaway", "win", "prize", "crypto", "btc", "eth", "nft",
        "follower", "link in bio", "click", "dm me", "dm us", "earn", "guarantee", "claim",
    ),
    "defect": (
        "broke", "snapped", "stopped", "died", "dead", "leak", "crash", "cracked", "damaged",
        "dented", "wrong", "late", "delay", "cancel", "lost", "missing", "cold", "slow",
        "worse", "again", "still", "never", "charged ", "price hike", "went up", "raised",
        "removed", "pointless", "not worth", "not impressed", "not cool", "waste", "avoid",
        "disappoint", "rubbish", "joke", "scam",
    ),
    "delight": (
        "love", "best", "amazing", "brilliant", "perfect", "lifesaver", "legend", "impressed",
        "thank", "shoutout", "big up", "kudos", "respect", "worth every", "game changer",
        "obsessed", "10/10", "five stars", "so good", "fair play", "well done",
        "never going back", "blown away", "gorgeous", "bliss",
        "\U0001f60d", "\u2764", "\ufe0f", "\U0001f979", "\U0001f64c", "\u2728", "\U0001f495",
    ),
    "hashtags": ("#",),
    "links": (".", "://"),
    "exclaim_runs": (
        "!!", "\U0001f525", "\U0001f4b0", "\U0001f4b8", "\U0001f680", "\U0001f911",
        "\U0001f4b5", "\U0001f381",
    ),
}  # fmt: skip
# The only characters that re.IGNORECASE matches to an ASCII letter but str.casefold() does
# not fold to it (the dotted and dotless capital/small I); checked by a test over all of Unicode.
_FOLD_LIKE_RE = str.maketrans({"\u0130": "i", "\u0131": "i"})
SENTIMENT_NAMES = ("p_negative", "p_neutral", "p_positive")
DENSE_NAMES = (*LEXICON_NAMES, *SENTIMENT_NAMES, *CUE_NAMES)


@cache
def sentiment_fingerprint() -> str:
    """Digest of the sentiment weights the polarity features came from (stored with ours)."""
    return hashlib.sha256(SENTIMENT_WEIGHTS.read_bytes()).hexdigest()[:16]


@cache
def _gates() -> tuple[Any, frozenset[int]]:
    """One automaton over every needle (value: the cues needing it), and the ungated cues."""
    automaton = ahocorasick.Automaton()
    by_needle: dict[str, set[int]] = {}
    for col, name in enumerate(CUE_NAMES):
        for needle in _NEEDLES[name] or ():
            by_needle.setdefault(needle, set()).add(col)
    for needle, cols in by_needle.items():
        automaton.add_word(needle, frozenset(cols))
    automaton.make_automaton()
    always = frozenset(col for col, name in enumerate(CUE_NAMES) if _NEEDLES[name] is None)
    return automaton, always


def cues(texts: Sequence[str]) -> F32:
    """Counts of each cue per text (capped at 4 so one spammy post cannot dominate)."""
    out = np.zeros((len(texts), len(CUE_NAMES)), dtype=np.float32)
    automaton, always = _gates()
    patterns = list(_CUES.values())
    for row, text in enumerate(texts):
        wanted = set(always)
        for _end, cols in automaton.iter(text.translate(_FOLD_LIKE_RE).casefold()):
            wanted |= cols
        for col in wanted:
            out[row, col] = min(len(patterns[col].findall(text)), 4)
    return out


def ungated_cues(texts: Sequence[str]) -> F32:
    """``cues`` without the needle gates: the reference the gates are tested against."""
    out = np.zeros((len(texts), len(CUE_NAMES)), dtype=np.float32)
    for row, text in enumerate(texts):
        for col, pattern in enumerate(_CUES.values()):
            out[row, col] = min(len(pattern.findall(text)), 4)
    return out


def featurise_intent(texts: Sequence[str], bits: int) -> Features:
    """Sentiment features for the batch with the intent cue block appended to the dense part."""
    return featurise_with_polarity(texts, bits)[0]


def featurise_with_polarity(texts: Sequence[str], bits: int) -> tuple[Features, F64]:
    """Intent features and the sentiment model's probabilities, from one featurisation.

    The shipped sentiment model saw 48k labelled tweets: its probabilities carry polarity
    (praise vs complaint) better than a few hundred posts can teach the n-gram weights. When
    both models hash into the same number of buckets (the shipped ones do), the sentiment
    probabilities come from the very features computed here instead of a second pass.
    """
    feats = featurise(texts, bits)
    if not texts:
        empty = np.zeros((0, len(DENSE_NAMES)), np.float32)
        return Features(0, feats.doc, feats.col, feats.val, empty), np.zeros((0, 3))
    sentiment = sentiment_model()
    polarity = sentiment.proba_of(feats) if sentiment.bits == bits else sentiment.proba(texts)
    dense = np.concatenate((feats.dense, polarity.astype(np.float32), cues(texts)), axis=1)
    features = Features(feats.n_docs, feats.doc, feats.col, feats.val, dense.astype(np.float32))
    return features, polarity
