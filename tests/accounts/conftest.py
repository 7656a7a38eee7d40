"""Account tests hash with argon2's cheapest parameters (real argon2id, test-sized cost)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from hubbub.accounts.security import use_hasher


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    previous = use_hasher(PasswordHasher.from_parameters(CHEAPEST))
    yield
    use_hasher(previous)
