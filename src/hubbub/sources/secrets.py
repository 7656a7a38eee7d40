"""Encryption of stored network credentials (Fernet), with the key kept outside the database."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from cryptography.fernet import Fernet, InvalidToken

from hubbub.core.errors import ConfigError
from hubbub.settings import Settings


def _key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.home / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
    return Path(path).read_bytes().strip()


def encrypt_credentials(settings: Settings, values: dict[str, str]) -> str | None:
    if not values:
        return None
    return Fernet(_key(settings)).encrypt(orjson.dumps(values)).decode()


def decrypt_credentials(settings: Settings, token: str | None) -> dict[str, str]:
    if not token:
        return {}
    try:
        data = orjson.loads(Fernet(_key(settings)).decrypt(token.encode()))
    except InvalidToken:
        raise ConfigError("stored credentials cannot be decrypted with this secret key") from None
    return {str(k): str(v) for k, v in data.items()}
