"""The throughput benchmark's workload and naive baseline are sound (figures are not tested)."""

from __future__ import annotations

import re

from hubbub.listening.bench import naive_regex, run, workload
from hubbub.listening.document import Document
from hubbub.listening.matcher import Matcher
from hubbub.listening.query import parse


def test_workload_is_deterministic_and_parses() -> None:
    one, two = workload(50, 20, seed=3), workload(50, 20, seed=3)
    assert one == two
    for rule in one.rules.values():
        parse(rule)


def test_naive_baseline_agrees_with_the_matcher_on_ascii_text() -> None:
    work = workload(300, 300, seed=5)
    matcher: Matcher[int] = Matcher(work.rules)
    regexes = {
        i: re.compile(naive_regex(parse(r)), re.IGNORECASE | re.DOTALL)
        for i, r in work.rules.items()
    }
    hits = 0
    for text in work.texts:
        ours = sorted(matcher.match(Document(text=text)))
        hits += bool(ours)
        if text.isascii():
            assert ours == [i for i, rx in regexes.items() if rx.match(text)], text
    assert hits > 0


def test_naive_near_regex() -> None:
    rx = re.compile(naive_regex(parse("acme NEAR/1 phone")), re.IGNORECASE)
    assert rx.match("the acme big phone") and rx.match("phone, acme")
    assert not rx.match("acme is a phone")


def test_run_reports_figures() -> None:
    figures = run(rules=40, posts=200, naive_posts=50)
    assert figures["naive_agreement_on_sample"] > 0.8
    assert figures["compiled_posts_per_s"] > 0 and figures["naive_posts"] == 50
