"""A content-addressed blob store: bytes stored once, named by their sha256.

Two backends behind one interface: `LocalBlobStore` (files under the data dir, the embedded default)
and `S3BlobStore` (any S3-compatible service by URL, the scale-out option). Both are idempotent
(putting the same bytes twice is one object) and check integrity on read, so a corrupted or swapped
object is an error, never a wrong prompt.

With a key ring (activities/keyring.py; AGENT_CODEC_KEYS or AGENT_CODEC_KEYS_FILE) every object is
stored encrypted (AES-256-GCM, its digest authenticated with it) and decrypted on read. The digest,
and so the object's name, stays the sha256 of the *plaintext*: references in histories and dedup keep
working, and integrity is still checked on the plaintext. The cost, documented in docs/operating.md:
whoever can list the store can confirm a guessed content by hashing it. Objects written before
encryption was turned on are read as they are, and rewritten encrypted when put again.
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from activities.keyring import NONCE_BYTES, KeyRing, KeyRingError
from workflows.contracts.base import blob_digest

DIGEST_PREFIX = "sha256:"
SEALED_MAGIC = b"AGENTBLOB\x01"  # then: key id length (1 byte), key id, nonce, ciphertext + tag
_TAG_BYTES = 16


class BlobNotFound(KeyError):
    def __str__(self) -> str:
        # KeyError quotes its message (it expects a key); this one is a sentence.
        return str(self.args[0]) if self.args else ""


class BlobCorrupted(RuntimeError):
    pass


@dataclass(frozen=True)
class BlobStat:
    digest: str
    size: int  # bytes as stored: with encryption on, the sealed size (plaintext + header and tag)




def check_digest(digest: str) -> str:
    """Return the hex part of a well-formed digest; anything else could escape the store's root."""
    hex_part = digest[len(DIGEST_PREFIX):] if digest.startswith(DIGEST_PREFIX) else ""
    if len(hex_part) != 64 or any(c not in "0123456789abcdef" for c in hex_part):
        raise ValueError(f"not a blob digest (expected sha256:<64 hex>): {digest!r}")
    return hex_part


class BlobStore(ABC):
    """put(bytes) -> digest; get(digest) -> bytes; content never changes under a digest."""

    url: str
    keys: KeyRing | None = None

    @abstractmethod
    def put(self, data: bytes) -> str: ...

    @abstractmethod
    def _read(self, digest: str) -> bytes: ...

    @abstractmethod
    def stat(self, digest: str) -> BlobStat | None: ...

    def get(self, digest: str) -> bytes:
        check_digest(digest)
        data = self._unseal(digest, self._read(digest))
        if blob_digest(data) != digest:
            raise BlobCorrupted(f"blob {digest} in {self.url} does not match its digest (got {blob_digest(data)})")
        return data

    def exists(self, digest: str) -> bool:
        return self.stat(digest) is not None

    def put_text(self, text: str) -> str:
        return self.put(text.encode("utf-8"))

    def get_text(self, digest: str) -> str:
        return self.get(digest).decode("utf-8")

    def _seal(self, digest: str, data: bytes) -> bytes:
        """The bytes to store for `data`: encrypted when the store has keys."""
        if self.keys is None:
            return data
        kid, sealed = self.keys.seal(data, context=digest.encode())
        return SEALED_MAGIC + bytes([len(kid.encode())]) + kid.encode() + sealed

    def _sealed_size(self, size: int) -> int:
        if self.keys is None:
            return size
        return len(SEALED_MAGIC) + 1 + len(self.keys.active.encode()) + NONCE_BYTES + size + _TAG_BYTES

    def _unseal(self, digest: str, stored: bytes) -> bytes:
        if not stored.startswith(SEALED_MAGIC):
            return stored  # written before encryption was turned on
        if self.keys is None:
            raise KeyRingError(f"blob {digest} in {self.url} is encrypted and no keys are configured; "
                               "set AGENT_CODEC_KEYS_FILE or AGENT_CODEC_KEYS")
        start = len(SEALED_MAGIC) + 1
        end = start + stored[len(SEALED_MAGIC)]
        return self.keys.open(stored[start:end].decode(), stored[end:], context=digest.encode())


class LocalBlobStore(BlobStore):
    """Files at `<root>/ab/cdef...` (root is usually `<data_dir>/blobs`), written atomically."""

    def __init__(self, root: Path | str, keys: KeyRing | None = None) -> None:
        self.root = Path(root)
        self.url = f"file://{self.root}"
        self.keys = keys

    def path_of(self, digest: str) -> Path:
        hex_part = check_digest(digest)
        return self.root / hex_part[:2] / hex_part[2:]

    def put(self, data: bytes) -> str:
        digest = blob_digest(data)
        path = self.path_of(digest)
        if path.is_file() and path.stat().st_size == self._sealed_size(len(data)):
            return digest  # idempotent: same digest, same bytes (and stored the same way)
        data = self._seal(digest, data)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write, fsync, rename: a crash leaves either no file or the whole file, never a torn one
        # that a later put would take for "already stored".
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def _read(self, digest: str) -> bytes:
        try:
            return self.path_of(digest).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {digest} in {self.url}") from None

    def stat(self, digest: str) -> BlobStat | None:
        try:
            return BlobStat(digest, self.path_of(digest).stat().st_size)
        except FileNotFoundError:
            return None


@dataclass(frozen=True)
class S3Access:
    """What an `s3://` store signs with, and where it is when its URL does not say. The worker fills it
    from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL and AWS_REGION
    (worker/blobs.py); this module never reads the environment itself."""

    access_key: str = ""
    secret_key: str = ""
    session_token: str | None = None
    endpoint: str = ""
    region: str = ""


def blob_store_at(target: str | Path, keys: KeyRing | None = None, s3: S3Access = S3Access()) -> BlobStore:
    """`s3://bucket/prefix?endpoint=http://host:port&region=...`, `file:///dir` or a path (not empty).

    Where a store is found when none is named (AGENT_BLOB_STORE, AGENT_DATA_DIR) is the worker's
    business: worker/blobs.py `open_blob_store`.
    """
    target = str(target)
    if target.startswith("s3://"):
        from activities.context.s3 import S3BlobStore  # httpx only where S3 is used

        parsed = urlparse(target)
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return S3BlobStore(
            bucket=parsed.netloc,
            prefix=parsed.path.strip("/"),
            endpoint=query.get("endpoint") or s3.endpoint or "https://s3.amazonaws.com",
            region=query.get("region") or s3.region or "us-east-1",
            access_key=s3.access_key,
            secret_key=s3.secret_key,
            session_token=s3.session_token,
            keys=keys,
        )
    if target.startswith("file://"):
        return LocalBlobStore(Path(urlparse(target).path), keys)
    return LocalBlobStore(Path(target), keys)
