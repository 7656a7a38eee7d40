"""The plain evaluator: the meaning of a rule, written to be read, not to be fast.

The compiled matcher must agree with it on every rule and document (property-tested).
"""

from __future__ import annotations

from collections.abc import Iterator

from hubbub.listening.document import Document
from hubbub.listening.normal import fold_key, tokens
from hubbub.listening.query import And, Field, MinFollowers, Near, Node, Not, Or, Text, parse


def matches(rule: str | Node, doc: Document) -> bool:
    """True when ``doc`` satisfies ``rule`` (a rule string or a parsed node)."""
    node = parse(rule) if isinstance(rule, str) else rule
    fields = [tokens(doc.title), tokens(doc.text)]
    return _eval(node, doc, fields)


def _eval(node: Node, doc: Document, fields: list[list[str]]) -> bool:
    if isinstance(node, Text):
        return any(True for words in fields for _ in _spans(node, words))
    if isinstance(node, Near):
        for words in fields:
            lefts = [s for t in node.left for s in _spans(t, words)]
            rights = [s for t in node.right for s in _spans(t, words)]
            for a in lefts:
                for b in rights:
                    gap = max(0, b[0] - a[1], a[0] - b[1])
                    if a != b and gap <= node.distance:
                        return True
        return False
    if isinstance(node, Field):
        return _field(node, doc)
    if isinstance(node, MinFollowers):
        return doc.author_followers is not None and doc.author_followers >= node.count
    if isinstance(node, Not):
        return not _eval(node.child, doc, fields)
    if isinstance(node, And):
        return all(_eval(c, doc, fields) for c in node.children)
    if isinstance(node, Or):
        return any(_eval(c, doc, fields) for c in node.children)
    raise TypeError(f"not a rule node: {node!r}")


def _spans(text: Text, words: list[str]) -> Iterator[tuple[int, int]]:
    """Every (start, end) word range of ``words`` where the term or phrase occurs."""
    n = len(text.words)
    for start in range(len(words) - n + 1):
        window = words[start : start + n]
        if text.prefix:
            ok = window[:-1] == list(text.words[:-1]) and window[-1].startswith(text.words[-1])
        else:
            ok = window == list(text.words)
        if ok:
            yield (start, start + n)


def _field(node: Field, doc: Document) -> bool:
    value = node.value
    if node.name == "lang":
        return any(
            (lang := fold_key(raw)) == value or lang.startswith(value + "-") for raw in doc.langs
        )
    if node.name == "source":
        return fold_key(doc.network) == value
    if node.name == "author":
        return fold_key(doc.author_handle).lstrip("@") == value
    if node.name == "domain":
        return any(
            (d := fold_key(raw)) == value or d.endswith("." + value) for raw in doc.link_domains
        )
    if node.name == "hashtag":
        return any(fold_key(h).lstrip("#") == value for h in doc.hashtags)
    if node.name == "mention":
        for raw in doc.mentions:
            handle = fold_key(raw).lstrip("@")
            if handle == value or ("@" not in value and handle.split("@")[0] == value):
                return True
        return False
    if node.name == "is":
        return doc.is_reply if value == "reply" else doc.is_repost
    if node.name == "has":
        return bool(doc.link_domains)
    raise ValueError(f"unknown field {node.name}")
