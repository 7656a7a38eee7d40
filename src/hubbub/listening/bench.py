"""Matcher throughput against the naive baseline (one Python regular expression per rule).

A benchmark, not a test: ``python -m hubbub.listening.bench --rules 1000 --posts 100000``.
Rules and texts are generated from one seeded vocabulary so some rules hit and most do not.
Only text rules are generated, since the naive baseline cannot express field filters.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from hubbub.listening.document import Document
from hubbub.listening.matcher import Matcher
from hubbub.listening.query import And, Near, Node, Not, Or, Text, parse

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_EXTRAS = ["café", "naïve", "🔥", "😀", "東京", "Straße", "jalapeño"]


@dataclass(frozen=True, slots=True)
class Workload:
    """Generated rules and texts."""

    rules: dict[int, str]
    texts: list[str]


def workload(rules: int, posts: int, seed: int = 7) -> Workload:
    """A Zipf-like vocabulary: texts use all of it, rules its less common words."""
    rng = random.Random(seed)
    vocab = list(
        dict.fromkeys(
            "".join(rng.choice(_LETTERS) for _ in range(rng.randint(3, 9))) for _ in range(20000)
        )
    )
    weights = [1 / (rank + 1) for rank in range(len(vocab))]
    texts = []
    for _ in range(posts):
        words = rng.choices(vocab, weights, k=rng.randint(8, 30))
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words)), rng.choice(_EXTRAS))
        texts.append(" ".join(words).capitalize() + rng.choice([".", "!", "?", " #tag", ""]))
    common, rare = (
        vocab[100:1000],
        vocab[1000:],
    )  # the top 100 are the "the, and, of" of this language

    def term() -> str:
        roll = rng.random()
        if roll < 0.15:
            return f'"{rng.choice(rare)} {rng.choice(common)}"'
        if roll < 0.25:
            return rng.choice(rare)[:4] + "*"
        return rng.choice(rare)

    shapes: list[Callable[[], str]] = [
        term,
        lambda: f"{term()} OR {term()} OR {term()}",
        lambda: f"({term()} OR {term()}) AND {rng.choice(common)}",
        lambda: f"{term()} NOT {term()}",
        lambda: f"({term()} OR {term()}) AND NOT ({term()} OR {term()})",
        lambda: f"{term()} NEAR/3 {rng.choice(common)}",
    ]
    return Workload({i: rng.choice(shapes)() for i in range(rules)}, texts)


def naive_regex(node: Node) -> str:
    """One regular expression for a whole rule: lookaheads for AND/NOT, alternation for OR."""
    if isinstance(node, Text):
        body = r"\W+".join(re.escape(w) for w in node.words)
        end = "" if node.prefix else r"\b"
        return rf"(?=.*?\b{body}{end})"
    if isinstance(node, Near):
        left = "|".join(r"\W+".join(map(re.escape, t.words)) for t in node.left)
        right = "|".join(r"\W+".join(map(re.escape, t.words)) for t in node.right)
        gap = rf"\W+(?:\w+\W+){{0,{node.distance}}}?"
        return rf"(?=.*?\b(?:(?:{left})\b{gap}(?:{right})|(?:{right})\b{gap}(?:{left}))\b)"
    if isinstance(node, Not):
        return f"(?!{naive_regex(node.child)})"
    if isinstance(node, And):
        return "".join(naive_regex(c) for c in node.children)
    if isinstance(node, Or):
        return "(?:" + "|".join(naive_regex(c) for c in node.children) + ")"
    raise ValueError(f"the naive baseline has no regex for {node}")


def run(rules: int, posts: int, naive_posts: int, seed: int = 7) -> dict[str, float | int]:
    """Posts per second of the compiled matcher and of the naive loop, and their agreement.

    Wall-clock and CPU-time rates both: on a shared machine the CPU-time rate is what one
    dedicated core would do.
    """
    work = workload(rules, posts, seed)
    started = time.perf_counter()
    matcher: Matcher[int] = Matcher(work.rules)
    compile_s = time.perf_counter() - started
    docs = [Document(text=t) for t in work.texts]
    started, cpu_started = time.perf_counter(), time.process_time()
    found = [matcher.match(doc) for doc in docs]
    match_s = time.perf_counter() - started
    match_cpu_s = time.process_time() - cpu_started

    regexes = [
        (i, re.compile(naive_regex(parse(rule)), re.IGNORECASE | re.DOTALL))
        for i, rule in work.rules.items()
    ]
    sample = work.texts[:naive_posts]
    started, cpu_started = time.perf_counter(), time.process_time()
    naive = [[i for i, rx in regexes if rx.match(text)] for text in sample]
    naive_s = time.perf_counter() - started
    naive_cpu_s = time.process_time() - cpu_started
    agree = sum(sorted(a) == sorted(b) for a, b in zip(found, naive, strict=False))

    update_started = time.perf_counter()
    matcher.add(-1, "brandnewword OR anotherone")
    update_s = time.perf_counter() - update_started
    compiled_rate = posts / match_s
    naive_rate = len(sample) / naive_s
    return {
        "rules": rules,
        "posts": posts,
        "posts_matching_any_rule": sum(1 for f in found if f),
        "compile_s": round(compile_s, 4),
        "add_one_rule_with_new_patterns_s": round(update_s, 4),
        "compiled_posts_per_s": round(compiled_rate),
        "compiled_posts_per_cpu_s": round(posts / match_cpu_s),
        "naive_posts": len(sample),
        "naive_posts_per_s": round(naive_rate, 1),
        "naive_posts_per_cpu_s": round(len(sample) / naive_cpu_s, 1),
        "speedup": round(compiled_rate / naive_rate, 1),
        "naive_agreement_on_sample": round(agree / max(1, len(sample)), 4),
    }


def main() -> None:
    """Print one JSON object with the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--naive-posts", type=int, default=2000, help="the naive loop is slow")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    figures = run(args.rules, args.posts, args.naive_posts, args.seed)
    sys.stdout.write(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
