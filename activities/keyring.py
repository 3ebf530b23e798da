"""Encryption keys for data at rest: AES-256-GCM, named by key ids so keys can rotate.

One key ring encrypts both Temporal payloads (worker/codec.py) and blobs (activities/context/blobs.py).
Keys are configured as `kid: base64key` entries, the first one active (new data is encrypted with it),
the others kept to decrypt what older keys wrote:

    AGENT_CODEC_KEYS_FILE=/run/secrets/agent-keys   # a file, one `kid: base64key` per line, `#` comments
    AGENT_CODEC_KEYS='2026-11:base64key,2026-10:base64key'   # or inline, comma-separated

Each sealed message carries a fresh 96-bit random nonce; the key id and a caller-chosen context are
authenticated (GCM associated data), so ciphertext moved to another key id or context fails to open.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEYS_ENV = "AGENT_CODEC_KEYS"
KEYS_FILE_ENV = "AGENT_CODEC_KEYS_FILE"
NONCE_BYTES = 12


class KeyRingError(ValueError):
    """A key configuration problem, or data that cannot be decrypted with the configured keys."""


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]  # ordered: the first entry is the active key

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingError("a key ring needs at least one key")
        for kid, key in self.keys.items():
            if len(key) != 32:
                raise KeyRingError(f"key {kid!r} is {len(key)} bytes; AES-256 needs 32 (openssl rand -base64 32)")

    @property
    def active(self) -> str:
        return next(iter(self.keys))

    def seal(self, plaintext: bytes, context: bytes = b"") -> tuple[str, bytes]:
        """Encrypt with the active key: (key id, nonce + ciphertext + tag)."""
        kid = self.active
        nonce = os.urandom(NONCE_BYTES)
        return kid, nonce + AESGCM(self.keys[kid]).encrypt(nonce, plaintext, kid.encode() + b"\0" + context)

    def open(self, kid: str, sealed: bytes, context: bytes = b"") -> bytes:
        key = self.keys.get(kid)
        if key is None:
            raise KeyRingError(
                f"data was encrypted with key id {kid!r}, which is not configured (known: {', '.join(self.keys)}); "
                f"add that key to {KEYS_FILE_ENV} or {KEYS_ENV}"
            )
        try:
            return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], kid.encode() + b"\0" + context)
        except InvalidTag:
            raise KeyRingError(
                f"data under key id {kid!r} does not decrypt: the configured key for {kid!r} is not the one "
                "that encrypted it, or the data was altered"
            ) from None

    @classmethod
    def parse(cls, text: str, source: str) -> KeyRing:
        """`kid: base64key` entries separated by newlines or commas; `#` starts a comment."""
        keys: dict[str, bytes] = {}
        entries = [e.split("#", 1)[0].strip() for line in text.splitlines() for e in line.split(",")]
        for number, entry in enumerate((e for e in entries if e), 1):
            kid, sep, encoded = entry.partition(":")
            kid = kid.strip()
            if not sep or not kid:
                raise KeyRingError(f"{source}: entry {number} is not `kid: base64key`")
            if kid in keys:
                raise KeyRingError(f"{source}: key id {kid!r} appears twice")
            try:
                keys[kid] = base64.b64decode(encoded.strip(), validate=True)
            except binascii.Error:
                raise KeyRingError(f"{source}: key {kid!r} is not valid base64") from None
        if not keys:
            raise KeyRingError(f"{source}: no keys")
        try:
            return cls(keys)
        except KeyRingError as e:
            raise KeyRingError(f"{source}: {e}") from None


def load_keyring(inline: str | None = None, path: Path | str | None = None) -> KeyRing | None:
    """The configured key ring, or None when encryption is off. Both sources at once is an error."""
    if inline and path:
        raise KeyRingError(f"set {KEYS_ENV} or {KEYS_FILE_ENV}, not both")
    if path:
        try:
            text = Path(path).read_text()
        except OSError as e:
            raise KeyRingError(f"{KEYS_FILE_ENV}={path}: cannot read: {e.strerror}") from None
        return KeyRing.parse(text, str(path))
    if inline:
        return KeyRing.parse(inline, KEYS_ENV)  # the source names the variable, never its value
    return None
