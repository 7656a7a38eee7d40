"""Parsing topic rules: precedence, atoms, canonical printing and errors with positions."""

from __future__ import annotations

import pytest

from hubbub.core.errors import Rejected
from hubbub.listening.query import (
    And,
    Field,
    MinFollowers,
    Near,
    Not,
    Or,
    QueryError,
    Text,
    lex,
    parse,
)


def test_terms_are_folded_into_words() -> None:
    assert parse("Acmé") == Text(("acme",))
    assert parse('"Acme  Corp!"') == Text(("acme", "corp"))
    assert parse("e-mail") == Text(("e", "mail"))  # punctuation inside a term makes a phrase


def test_wildcard_is_a_prefix() -> None:
    assert parse("ACME*") == Text(("acme",), prefix=True)


def test_implicit_and_and_precedence() -> None:
    assert parse("a b OR c") == Or((And((Text(("a",)), Text(("b",)))), Text(("c",))))
    assert parse("a AND b OR c AND d") == Or(
        (And((Text(("a",)), Text(("b",)))), And((Text(("c",)), Text(("d",)))))
    )
    assert parse("NOT a b") == And((Not(Text(("a",))), Text(("b",))))
    assert parse("a (b OR c)") == And((Text(("a",)), Or((Text(("b",)), Text(("c",))))))
    assert parse("NOT NOT a") == Not(Not(Text(("a",))))


def test_lowercase_operators_are_terms() -> None:
    assert parse("cats and dogs") == And((Text(("cats",)), Text(("and",)), Text(("dogs",))))


def test_near_binds_tighter_than_and() -> None:
    node = parse('(acme OR "acme corp") NEAR/3 bad AND x')
    assert node == And(
        (
            Near((Text(("acme",)), Text(("acme", "corp"))), (Text(("bad",)),), 3),
            Text(("x",)),
        )
    )


def test_fields() -> None:
    node = parse(
        "lang:EN source:Bluesky author:@Bob domain:www.Acme.com is:reply is:repost has:link "
        "min_followers:1000 #Café @Alice@Mastodon.Social"
    )
    assert node == And(
        (
            Field("lang", "en"),
            Field("source", "bluesky"),
            Field("author", "bob"),
            Field("domain", "acme.com"),
            Field("is", "reply"),
            Field("is", "repost"),
            Field("has", "link"),
            MinFollowers(1000),
            Field("hashtag", "cafe"),
            Field("mention", "alice@mastodon.social"),
        )
    )


def test_emoji_and_cjk_terms() -> None:
    assert parse("🔥") == Text(("🔥",))
    assert parse("東京") == Text(("東", "京"))  # one word per character: substring matching


@pytest.mark.parametrize(
    "rule",
    [
        'acme OR "acme corp" AND NOT lang:fr',
        "(a OR b) NEAR/2 (c OR d) AND #x AND @y",
        "e-ma* OR 東京* OR min_followers:5 OR NOT (is:reply OR has:link)",
        'NOT NOT "😀 ok" domain:acme.co.uk',
    ],
)
def test_canonical_form_parses_back_to_the_same_rule(rule: str) -> None:
    node = parse(rule)
    assert parse(str(node)) == node


@pytest.mark.parametrize(
    ("rule", "position", "expected"),
    [
        ("", 0, "the rule is empty"),
        ("   ", 0, "the rule is empty"),
        ("acme AND", 8, "expected a term, phrase, field or '('"),
        ("acme OR OR b", 8, "expected a term, phrase, field or '('"),
        ("(acme OR b", 10, "expected ')' to close the '(' at position 0"),
        ("acme) b", 4, "unbalanced ')'"),
        ('acme "corp', 5, "expected a closing quote"),
        ("()", 1, "inside the parentheses"),
        ("ac*me", 2, "expected '*' only at the end of a term"),
        ("*", 0, "expected a term with letters, digits or emoji"),
        ("!!!", 0, "expected a term with letters, digits or emoji"),
        ('""', 0, "expected a phrase with letters"),
        ("colour:red", 0, "unknown field 'colour:'"),
        ("lang:", 5, "expected a value after 'lang:'"),
        ("a is:quote", 5, "expected is:reply or is:repost"),
        ("has:image", 4, "expected has:link"),
        ("min_followers:many", 14, "expected a whole number"),
        ("min_followers:-3", 14, "expected a whole number"),
        ("a NEAR b", 2, "expected NEAR/n"),
        ("a NEAR/x b", 2, "expected NEAR/n"),
        ("a NEAR/2 lang:en", 9, "beside NEAR"),
        ("(a AND b) NEAR/2 c", 0, "beside NEAR"),
        ("a NEAR/2 b NEAR/2 c", 11, "chain NEAR with AND"),
        ("a NEAR/2000 b", 2, "at most 1000"),
        ("acme -spam", 5, "expected NOT to exclude a term"),
        ("# OR x", 0, "expected a term with letters"),
        ("#! x", 1, "expected a hashtag or handle"),
        ("NOT", 3, "expected a term, phrase, field or '('"),
    ],
)
def test_errors_name_position_and_expectation(rule: str, position: int, expected: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(rule)
    error = caught.value
    assert error.position == position, error.message
    assert expected in error.message
    assert isinstance(error, Rejected) and error.code == "bad_query"
    assert f"at position {position}" in error.detail


def test_error_pointer_puts_the_caret_under_the_problem() -> None:
    with pytest.raises(QueryError) as caught:
        parse("acme AND (beta OR")
    line, caret = caught.value.pointer().splitlines()
    assert line == "acme AND (beta OR"
    assert caret.index("^") == len("acme AND (beta OR")


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(QueryError, match="levels of nesting"):
        parse("(" * 500 + "a" + ")" * 500)
    with pytest.raises(QueryError, match="levels of nesting"):
        parse("NOT " * 500 + "a")


def test_overlong_rule_is_refused() -> None:
    with pytest.raises(QueryError, match="at most 4096 characters"):
        parse("a " * 3000)


def test_lexer_positions() -> None:
    kinds = [(t.kind, t.pos) for t in lex('a (b) "c d" NEAR/2 OR')]
    assert kinds == [
        ("WORD", 0),
        ("(", 2),
        ("WORD", 3),
        (")", 4),
        ("PHRASE", 6),
        ("NEAR", 12),
        ("OR", 19),
        ("END", 21),
    ]
