"""The topic-rule language: lexer and recursive-descent parser to a small immutable AST.

Errors carry the character position and what was expected, so the CLI, the API and the UI can
point at the mistake. Grammar and semantics: docs/query-language.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from hubbub.core.errors import Rejected
from hubbub.listening.normal import fold_key, tokens

MAX_RULE_CHARS = 4096
MAX_DEPTH = 64
FIELDS = ("lang", "source", "author", "domain", "is", "has", "min_followers")
_FLAGS = {"is": ("reply", "repost"), "has": ("link",)}


class QueryError(Rejected):
    """A rule that does not parse: ``position`` is the 0-based character offset of the problem."""

    def __init__(self, rule: str, position: int, message: str) -> None:
        super().__init__("bad_query", f"{message} at position {position}")
        self.rule = rule
        self.position = position
        self.message = message

    def pointer(self) -> str:
        """The rule with a caret under the problem, for terminals and logs."""
        line = self.rule.replace("\n", " ").replace("\t", " ")
        return f"{line}\n{' ' * self.position}^ {self.message}"


# ---- AST ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    """A term, "quoted phrase" or trailing wildcard: a run of folded tokens, the last a prefix if
    ``prefix``."""

    words: tuple[str, ...]
    prefix: bool = False
    quoted: bool = field(default=False, compare=False)

    def __str__(self) -> str:
        if self.prefix:  # the hyphen re-tokenises to the same words
            return "-".join(self.words) + "*"
        body = " ".join(self.words)
        return f'"{body}"' if self.quoted or len(self.words) > 1 else body


FieldName = Literal["lang", "source", "author", "domain", "is", "has", "hashtag", "mention"]


@dataclass(frozen=True, slots=True)
class Field:
    """A filter on a post attribute; ``value`` is folded (see normal.fold_key)."""

    name: FieldName
    value: str

    def __str__(self) -> str:
        if self.name == "hashtag":
            return f"#{self.value}"
        if self.name == "mention":
            return f"@{self.value}"
        return f"{self.name}:{self.value}"


@dataclass(frozen=True, slots=True)
class MinFollowers:
    """The author has at least ``count`` followers (unknown counts never match)."""

    count: int

    def __str__(self) -> str:
        return f"min_followers:{self.count}"


@dataclass(frozen=True, slots=True)
class Not:
    """Negation."""

    child: Node

    def __str__(self) -> str:
        return f"NOT {_wrap(self.child)}"


@dataclass(frozen=True, slots=True)
class And:
    """All children match."""

    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " AND ".join(_wrap(c) for c in self.children)


@dataclass(frozen=True, slots=True)
class Or:
    """Any child matches."""

    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " OR ".join(_wrap(c) for c in self.children)


@dataclass(frozen=True, slots=True)
class Near:
    """An occurrence of one of ``left`` within ``distance`` words of one of ``right``.

    Either order, same field (title or text); ``distance`` counts the words strictly between.
    """

    left: tuple[Text, ...]
    right: tuple[Text, ...]
    distance: int

    def __str__(self) -> str:
        return f"{_side(self.left)} NEAR/{self.distance} {_side(self.right)}"


Node = Text | Field | MinFollowers | Not | And | Or | Near


def _wrap(node: Node) -> str:
    return f"({node})" if isinstance(node, (And, Or, Near)) else str(node)


def _side(side: tuple[Text, ...]) -> str:
    return str(side[0]) if len(side) == 1 else "(" + " OR ".join(map(str, side)) + ")"


# ---- lexer --------------------------------------------------------------------------------

TokenKind = Literal["(", ")", "AND", "OR", "NOT", "NEAR", "PHRASE", "WORD", "END"]


@dataclass(frozen=True, slots=True)
class Token:
    """A lexeme with its position in the rule."""

    kind: TokenKind
    text: str
    pos: int


_NEAR = re.compile(r"NEAR/(\d+)\Z")
_WORD_END = re.compile(r'[\s()"]')


def lex(rule: str) -> list[Token]:
    """Split a rule into tokens; only an unterminated quote is an error at this stage."""
    out: list[Token] = []
    i, n = 0, len(rule)
    while i < n:
        ch = rule[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(Token(ch, ch, i))  # type: ignore[arg-type]
            i += 1
        elif ch == '"':
            close = rule.find('"', i + 1)
            if close < 0:
                raise QueryError(rule, i, 'expected a closing quote (") for this phrase')
            out.append(Token("PHRASE", rule[i + 1 : close], i))
            i = close + 1
        else:
            m = _WORD_END.search(rule, i)
            end = m.start() if m else n
            word = rule[i:end]
            if word in ("AND", "OR", "NOT"):
                out.append(Token(word, word, i))  # type: ignore[arg-type]
            elif word.startswith("NEAR/") or word == "NEAR":
                near = _NEAR.match(word)
                if near is None:
                    raise QueryError(rule, i, "expected NEAR/n with a whole number n, e.g. NEAR/3")
                out.append(Token("NEAR", near.group(1), i))
            else:
                out.append(Token("WORD", word, i))
            i = end
    out.append(Token("END", "", n))
    return out


# ---- parser -------------------------------------------------------------------------------

_STARTS = ("(", "NOT", "PHRASE", "WORD")


class _Parser:
    """Precedence, loosest first: OR, AND (explicit or implicit), NOT, NEAR/n."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.toks = lex(rule)
        self.i = 0
        self.depth = 0

    def cur(self) -> Token:
        return self.toks[self.i]

    def fail(self, message: str, tok: Token | None = None) -> QueryError:
        at = tok or self.cur()
        found = "the end of the rule" if at.kind == "END" else repr(at.text or at.kind)
        if at.kind == "PHRASE":
            found = f'"{at.text}"'
        return QueryError(self.rule, at.pos, f"{message}, found {found}")

    def parse(self) -> Node:
        if self.cur().kind == "END":
            raise QueryError(
                self.rule, 0, "expected a term, phrase, field or '(' — the rule is empty"
            )
        node = self.or_expr()
        if self.cur().kind != "END":
            if self.cur().kind == ")":
                raise self.fail("unbalanced ')': no '(' to close")
            raise self.fail("expected AND, OR, NEAR/n or the end of the rule")
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.cur().kind == "OR":
            self.i += 1
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.unary()]
        while self.cur().kind == "AND" or self.cur().kind in _STARTS:
            if self.cur().kind == "AND":
                self.i += 1
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        if self.cur().kind == "NOT":
            self.i += 1
            self.enter()
            child = self.unary()
            self.depth -= 1
            return Not(child)
        return self.near()

    def near(self) -> Node:
        start = self.cur()
        left = self.primary()
        if self.cur().kind != "NEAR":
            return left
        near_tok = self.cur()
        self.i += 1
        right_tok = self.cur()
        right = self.primary()
        if self.cur().kind == "NEAR":
            raise self.fail("expected AND, OR or ')' — chain NEAR with AND: (a NEAR/2 b) AND …")
        distance = int(near_tok.text)
        if distance > 1000:
            raise QueryError(self.rule, near_tok.pos, "expected a NEAR distance of at most 1000")
        return Near(self.side(left, start), self.side(right, right_tok), distance)

    def side(self, node: Node, tok: Token) -> tuple[Text, ...]:
        if isinstance(node, Text):
            return (node,)
        if isinstance(node, Or) and all(isinstance(c, Text) for c in node.children):
            return tuple(c for c in node.children if isinstance(c, Text))
        raise QueryError(
            self.rule,
            tok.pos,
            "expected a term, phrase or wildcard (or a parenthesised OR of them) beside NEAR",
        )

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"expected at most {MAX_DEPTH} levels of nesting")

    def primary(self) -> Node:
        tok = self.cur()
        if tok.kind == "(":
            self.i += 1
            self.enter()
            if self.cur().kind == ")":
                raise self.fail("expected a term, phrase, field or '(' inside the parentheses")
            node = self.or_expr()
            if self.cur().kind != ")":
                raise self.fail(f"expected ')' to close the '(' at position {tok.pos}")
            self.depth -= 1
            self.i += 1
            return node
        if tok.kind == "PHRASE":
            self.i += 1
            words = tuple(tokens(tok.text))
            if not words:
                raise QueryError(
                    self.rule, tok.pos, "expected a phrase with letters, digits or emoji"
                )
            return Text(words, quoted=True)
        if tok.kind == "WORD":
            self.i += 1
            return self.word(tok)
        if tok.kind == "END":
            raise self.fail("expected a term, phrase, field or '('")
        raise self.fail("expected a term, phrase, field or '('")

    def word(self, tok: Token) -> Node:
        word, pos = tok.text, tok.pos
        if word[0] in "#@" and len(word) > 1:
            value = fold_key(word[1:])
            if word[0] == "@" and value.startswith("@"):
                value = value[1:]
            if not value or not any(c.isalnum() for c in value):
                raise QueryError(self.rule, pos + 1, "expected a hashtag or handle after the sign")
            return Field("hashtag" if word[0] == "#" else "mention", value)
        name, colon, raw = word.partition(":")
        if colon and name.isidentifier():
            return self.field(name.lower(), raw, pos, pos + len(name) + 1)
        if word[0] == "-" and len(word) > 1:
            raise QueryError(self.rule, pos, "expected NOT to exclude a term ('-' does not negate)")
        star = word.find("*")
        if star >= 0 and star != len(word) - 1:
            raise QueryError(self.rule, pos + star, "expected '*' only at the end of a term")
        prefix = star >= 0
        words = tuple(tokens(word[:-1] if prefix else word))
        if not words:
            raise QueryError(self.rule, pos, "expected a term with letters, digits or emoji")
        return Text(words, prefix=prefix)

    def field(self, name: str, raw: str, pos: int, vpos: int) -> Node:
        if name not in FIELDS:
            raise QueryError(self.rule, pos, f"unknown field '{name}:', expected one of {_names()}")
        if not raw:
            raise QueryError(self.rule, vpos, f"expected a value after '{name}:'")
        if name == "min_followers":
            if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
                raise QueryError(self.rule, vpos, "expected a whole number after 'min_followers:'")
            return MinFollowers(int(raw))
        value = fold_key(raw)
        if name in _FLAGS:
            if value not in _FLAGS[name]:
                allowed = " or ".join(f"{name}:{v}" for v in _FLAGS[name])
                raise QueryError(self.rule, vpos, f"expected {allowed}")
        elif name in ("author",):
            value = value.lstrip("@")
        elif name == "domain":
            value = value.strip(".")
            value = value[4:] if value.startswith("www.") else value
        if not value:
            raise QueryError(self.rule, vpos, f"expected a value after '{name}:'")
        return Field(name, value)  # type: ignore[arg-type]


def _names() -> str:
    return ", ".join(f"{f}:" for f in FIELDS) + ", #hashtag, @handle"


def parse(rule: str) -> Node:
    """Parse a topic rule; raises QueryError (a Rejected, code ``bad_query``) when it is broken."""
    if len(rule) > MAX_RULE_CHARS:
        raise QueryError(rule[:80], 0, f"expected a rule of at most {MAX_RULE_CHARS} characters")
    return _Parser(rule).parse()
