"""API key format and hashing.

Keys are 256-bit random secrets, so a plain SHA-256 digest is a safe verifier (no password
stretching needed); the public prefix lets a key be found without scanning.
"""

import hashlib
import hmac
import secrets

KEY_SCHEME = "ngr"


def new_key() -> tuple[str, str]:
    """(prefix, full key) of a fresh key: `ngr_<prefix>_<secret>`."""
    prefix = secrets.token_hex(6)
    return prefix, f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"


def key_prefix(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or not parts[1] or not parts[2]:
        return None
    return parts[1]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)
