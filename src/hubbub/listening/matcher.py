"""The compiled matcher: every rule of every topic in one Aho-Corasick automaton.

A post is folded and tokenised once (``normal``), scanned once by the automaton for every
term, phrase and wildcard of every rule, and only the rules *anchored* on something the post
contains (a pattern it hit, or a field key it has: language, network, hashtag…) are evaluated,
as generated Python expressions over the hits. Rules that cannot be anchored (``NOT x`` alone,
``min_followers:N`` alone) are evaluated on every post.

Updates never block matching: ``match`` reads one immutable snapshot; ``add``/``remove``
build the next snapshot beside it and swap it in with one assignment. Only the changed rule
is compiled; the rule index is copied (C-speed dict copy), and the automaton is rebuilt
(in C, from the pattern set) only when a rule brings a pattern no other rule uses. Removing a
rule leaves its patterns in the automaton as dead entries until they are half of all patterns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import ahocorasick  # pyahocorasick ships no stubs

from hubbub.listening.document import Document
from hubbub.listening.normal import fold_key, tokens
from hubbub.listening.query import And, Field, MinFollowers, Near, Node, Not, Or, Text, parse

K = TypeVar("K", bound=Hashable)
Key = int | str  # a pattern id (text atoms) or a field key such as "lang:en"
Predicate = Callable[[set[int], set[str], int | None, "_Positions"], bool]

_SEPARATOR = " \x00 "  # between title and text: no pattern contains a control character


@dataclass(frozen=True, slots=True)
class _Rule:
    node: Node
    predicate: Predicate
    patterns: tuple[int, ...]
    anchor: frozenset[Key] | None


@dataclass(frozen=True, slots=True)
class _Snapshot(Generic[K]):
    automaton: Any  # ahocorasick.Automaton (untyped), or None when no rule has text
    by_key: dict[Key, tuple[K, ...]]
    always: tuple[K, ...]
    predicates: dict[K, Predicate]
    lengths: tuple[int, ...]  # per pattern id: characters, for positions (NEAR only)
    words: tuple[int, ...]  # per pattern id: words
    live: int  # patterns in the automaton still used by a rule
    built: int  # patterns in the automaton


class _Positions:
    """Word spans of pattern hits, computed only when a NEAR is evaluated."""

    __slots__ = ("found", "norm", "snap", "split")

    def __init__(
        self, norm: str, split: int, found: list[tuple[int, int]], snap: _Snapshot[Any]
    ) -> None:
        self.norm, self.split, self.found, self.snap = norm, split, found, snap

    def spans(self, pids: tuple[int, ...]) -> list[tuple[bool, int, int]]:
        """(in title, first word, past-the-end word) of every hit of these patterns."""
        out = []
        lengths, words = self.snap.lengths, self.snap.words
        for end, pid in self.found:
            if pid in pids:
                start = end - lengths[pid] + 1
                first = self.norm.count(" ", 0, start)
                out.append((start < self.split, first, first + words[pid]))
        return out

    def near(self, left: tuple[int, ...], right: tuple[int, ...], distance: int) -> bool:
        rights = self.spans(right)
        for seg, a0, a1 in self.spans(left):
            for seg_b, b0, b1 in rights:
                if seg == seg_b and (a0, a1) != (b0, b1) and max(0, b0 - a1, a0 - b1) <= distance:
                    return True
        return False


def pattern_of(text: Text) -> str:
    """The automaton key of a term: spaces mark word boundaries; a wildcard leaves the end open."""
    body = " " + " ".join(text.words)
    return body if text.prefix else body + " "


def normalised(doc: Document) -> tuple[str, int]:
    """Title and text as one space-delimited string, and where the text part starts."""
    body = " " + " ".join(tokens(doc.text)) + " "
    if not doc.title:
        return body, 0
    head = " " + " ".join(tokens(doc.title))
    return head + _SEPARATOR + body[1:], len(head) + 1


def document_keys(doc: Document) -> set[str]:
    """The field keys a document has; a rule's field filter holds exactly when its key is here."""
    keys: set[str] = set()
    for raw in doc.langs:
        lang = fold_key(raw)
        keys.add("lang:" + lang)
        while "-" in lang:
            lang = lang.rsplit("-", 1)[0]
            keys.add("lang:" + lang)
    if doc.network:
        keys.add("source:" + fold_key(doc.network))
    if doc.author_handle:
        keys.add("author:" + fold_key(doc.author_handle).lstrip("@"))
    for raw in doc.link_domains:
        parts = fold_key(raw).split(".")
        keys.update("domain:" + ".".join(parts[i:]) for i in range(len(parts)))
    for raw in doc.hashtags:
        keys.add("hashtag:" + fold_key(raw).lstrip("#"))
    for raw in doc.mentions:
        handle = fold_key(raw).lstrip("@")
        keys.add("mention:" + handle)
        keys.add("mention:" + handle.split("@")[0])
    if doc.is_reply:
        keys.add("is:reply")
    if doc.is_repost:
        keys.add("is:repost")
    if doc.link_domains:
        keys.add("has:link")
    return keys


class Matcher(Generic[K]):
    """Matches documents against many rules at once; thread-safe, updates never block ``match``."""

    def __init__(self, rules: Mapping[K, str | Node] | None = None) -> None:
        self._lock = threading.Lock()
        self._pids: dict[str, int] = {}
        self._patterns: list[str] = []
        self._refs: list[int] = []
        self._words: list[int] = []
        self._built: set[int] = set()  # pattern ids in the current automaton
        self._rules: dict[K, _Rule] = {}
        self._snap: _Snapshot[K] = _Snapshot(None, {}, (), {}, (), (), 0, 0)
        if rules:
            self.update(add=rules)

    def __len__(self) -> int:
        return len(self._snap.predicates)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._snap.predicates

    def add(self, rule_id: K, rule: str | Node) -> None:
        """Add or replace one rule; raises QueryError when the rule does not parse."""
        self.update(add={rule_id: rule})

    def remove(self, rule_id: K) -> None:
        """Remove one rule (no error when absent)."""
        self.update(remove=[rule_id])

    def update(self, add: Mapping[K, str | Node] | None = None, remove: Iterable[K] = ()) -> None:
        """Apply many changes in one snapshot swap; all rules parse before anything changes."""
        nodes = {k: parse(r) if isinstance(r, str) else r for k, r in (add or {}).items()}
        with self._lock:
            old = self._snap
            by_key = dict(old.by_key)
            always = dict.fromkeys(old.always)
            predicates = dict(old.predicates)
            stale = False
            for rule_id in [*remove, *nodes]:
                gone = self._rules.pop(rule_id, None)
                if gone is not None:
                    self._unindex(rule_id, gone, by_key, always, predicates)
            for rule_id, node in nodes.items():
                compiled = self._compile(node)
                stale |= not self._built.issuperset(compiled.patterns)
                self._rules[rule_id] = compiled
                predicates[rule_id] = compiled.predicate
                if compiled.anchor is None:
                    always[rule_id] = None
                else:
                    for key in compiled.anchor:
                        by_key[key] = (*by_key.get(key, ()), rule_id)
            live = sum(1 for r in self._refs if r > 0)
            automaton = old.automaton
            if stale or live * 2 < len(self._built):
                automaton = self._build()
            self._snap = _Snapshot(
                automaton,
                by_key,
                tuple(always),
                predicates,
                tuple(len(p) for p in self._patterns),
                tuple(self._words),
                live,
                len(self._built),
            )

    def _unindex(
        self,
        rule_id: K,
        rule: _Rule,
        by_key: dict[Key, tuple[K, ...]],
        always: dict[K, None],
        predicates: dict[K, Predicate],
    ) -> None:
        predicates.pop(rule_id, None)
        always.pop(rule_id, None)
        for key in rule.anchor or ():
            rest = tuple(r for r in by_key.get(key, ()) if r != rule_id)
            if rest:
                by_key[key] = rest
            else:
                by_key.pop(key, None)
        for pid in rule.patterns:
            self._refs[pid] -= 1

    def _build(self) -> Any:
        """A fresh automaton of the patterns rules use; the old one keeps serving meanwhile."""
        automaton = ahocorasick.Automaton()
        self._built = {pid for pid, refs in enumerate(self._refs) if refs > 0}
        for pid in self._built:
            automaton.add_word(self._patterns[pid], pid)
        if not self._built:
            return None
        automaton.make_automaton()
        return automaton

    def _pid(self, text: Text) -> int:
        pattern = pattern_of(text)
        pid = self._pids.get(pattern)
        if pid is None:
            pid = len(self._patterns)
            self._pids[pattern] = pid
            self._patterns.append(pattern)
            self._words.append(len(text.words))
            self._refs.append(0)
        self._refs[pid] += 1
        return pid

    def _compile(self, node: Node) -> _Rule:
        pids: list[int] = []
        source = self._expr(node, pids)
        code = compile(f"lambda H, F, M, P: {source}", "<topic rule>", "eval")
        predicate: Predicate = eval(code, {"__builtins__": {}})  # noqa: S307 - generated above
        return _Rule(node, predicate, tuple(pids), self._anchor(node))

    def _expr(self, node: Node, pids: list[int]) -> str:
        """Python source of the rule over H (hits), F (field keys), M (followers), P (positions)."""
        if isinstance(node, Text):
            pid = self._pid(node)
            pids.append(pid)
            return f"({pid} in H)"
        if isinstance(node, Near):
            left = tuple(self._pid(t) for t in node.left)
            right = tuple(self._pid(t) for t in node.right)
            pids.extend(left + right)
            hits = " or ".join(f"{p} in H" for p in left)
            return f"(({hits}) and P.near({left!r}, {right!r}, {node.distance}))"
        if isinstance(node, Field):
            return f"({node.name + ':' + node.value!r} in F)"
        if isinstance(node, MinFollowers):
            return f"(M is not None and M >= {node.count})"
        if isinstance(node, Not):
            return f"(not {self._expr(node.child, pids)})"
        if isinstance(node, And):
            return "(" + " and ".join(self._expr(c, pids) for c in node.children) + ")"
        return "(" + " or ".join(self._expr(c, pids) for c in node.children) + ")"

    def _anchor(self, node: Node) -> frozenset[Key] | None:
        """Keys of which a matching post has at least one; None when no such set exists."""
        if isinstance(node, Text):
            return frozenset([self._pids[pattern_of(node)]])
        if isinstance(node, Near):
            return frozenset(self._pids[pattern_of(t)] for t in node.left)
        if isinstance(node, Field):
            return frozenset([node.name + ":" + node.value])
        if isinstance(node, (MinFollowers, Not)):
            return None
        anchors = [self._anchor(c) for c in node.children]
        if isinstance(node, Or):
            if any(a is None for a in anchors):
                return None
            return frozenset().union(*[a for a in anchors if a is not None])
        usable = [a for a in anchors if a is not None]
        if not usable:
            return None
        # Prefer patterns (rare) over field keys (lang:en is on half the posts), then fewer keys.
        return min(usable, key=lambda a: (sum(isinstance(k, str) for k in a), len(a)))

    def match(self, doc: Document) -> list[K]:
        """Ids of the rules ``doc`` satisfies, in no particular order."""
        snap = self._snap
        if not snap.predicates:
            return []
        norm, split = normalised(doc)
        found: list[tuple[int, int]] = (
            list(snap.automaton.iter(norm)) if snap.automaton is not None else []
        )
        hits = {pid for _, pid in found}
        keys = document_keys(doc)
        by_key = snap.by_key
        candidates: set[K] = set(snap.always)
        for pid in hits:
            rules = by_key.get(pid)
            if rules:
                candidates.update(rules)
        for key in keys:
            rules = by_key.get(key)
            if rules:
                candidates.update(rules)
        if not candidates:
            return []
        positions = _Positions(norm, split, found, snap)
        followers = doc.author_followers
        predicates = snap.predicates
        return [r for r in candidates if predicates[r](hits, keys, followers, positions)]
