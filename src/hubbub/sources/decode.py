"""Decoding helpers that turn every kind of malformed payload into a :class:`Rejected`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from hubbub.core.clock import parse_timestamp
from hubbub.core.errors import Rejected


def load_json(payload: bytes | str) -> Any:
    """Parse JSON strictly (UTF-8 only); bad bytes or syntax become a reason, not a crash.

    NUL characters (``\\u0000``, which JSON allows) are dropped from every string: they mean
    nothing in social text, and PostgreSQL text cannot hold them, so one would fail the batch
    that carries it. Only a payload that spells one out pays for the walk."""
    try:
        parsed = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        text = str(exc)
        code = (
            "invalid_utf8"
            if "utf-8" in text.lower() or "surrogate" in text.lower()
            else "invalid_json"
        )
        raise Rejected(code, text) from None
    spelt = b"\\u0000" in payload if isinstance(payload, bytes) else "\\u0000" in payload
    return _without_nul(parsed) if spelt else parsed


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def require(mapping: Any, key: str, kind: type | tuple[type, ...], where: str = "payload") -> Any:
    """``mapping[key]`` checked for presence and type, else ``missing_field``/``bad_field``."""
    if not isinstance(mapping, dict):
        raise Rejected("bad_shape", f"{where} is {type(mapping).__name__}, expected an object")
    if key not in mapping or mapping[key] is None:
        raise Rejected("missing_field", f"{where} has no {key!r}")
    value = mapping[key]
    if not isinstance(value, kind):
        raise Rejected("bad_field", f"{where}.{key} is {type(value).__name__}")
    return value


def timestamp(text: Any, field_name: str) -> datetime:
    """A UTC timestamp from text; malformed values are rejected with a reason.

    Far-future dates are refused once, centrally, by the ingest service (which knows the
    configured skew), not by each normaliser.
    """
    if not isinstance(text, str):
        raise Rejected("bad_timestamp", f"{field_name} is not a string")
    try:
        return parse_timestamp(text)
    except ValueError:
        raise Rejected("bad_timestamp", f"{field_name} {text[:64]!r} is not ISO 8601") from None
