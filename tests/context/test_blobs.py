"""The blob store: content-addressed, idempotent, atomic, integrity-checked; local and S3 on the wire."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime

import pytest

from activities.context.blobs import (
    BlobCorrupted,
    BlobNotFound,
    LocalBlobStore,
    blob_digest,
)
from activities.context.s3 import S3BlobStore, sigv4_headers
from activities.keyring import KeyRing, KeyRingError
from worker.blobs import open_blob_store


def test_put_returns_sha256_digest_and_get_round_trips(store: LocalBlobStore) -> None:
    """A put names the bytes by their sha256 and a get returns exactly those bytes."""
    data = b"hello \x00 world"
    digest = store.put(data)
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert store.get(digest) == data
    assert store.exists(digest)
    assert store.stat(digest).size == len(data)


def test_layout_is_two_level_fan_out_under_root(store: LocalBlobStore) -> None:
    """Blobs live at <root>/ab/cdef..., one file per content, no temp files left behind."""
    digest = store.put_text("x")
    hex_part = digest.removeprefix("sha256:")
    assert (store.root / hex_part[:2] / hex_part[2:]).read_bytes() == b"x"
    assert [p.name for p in store.root.rglob("*")] == [hex_part[:2], hex_part[2:]]


def test_put_is_idempotent(store: LocalBlobStore) -> None:
    """Putting the same content twice yields one object and the same digest."""
    first = store.put_text("same")
    mtime = store.path_of(first).stat().st_mtime_ns
    assert store.put_text("same") == first
    assert store.path_of(first).stat().st_mtime_ns == mtime
    assert len([p for p in store.root.rglob("*") if p.is_file()]) == 1


def test_corrupted_blob_is_refused_on_read(store: LocalBlobStore) -> None:
    """A file whose bytes no longer match its name raises BlobCorrupted instead of returning them."""
    digest = store.put_text("original")
    store.path_of(digest).write_text("tampered")
    with pytest.raises(BlobCorrupted, match="does not match its digest"):
        store.get(digest)


def test_missing_and_malformed_digests(store: LocalBlobStore) -> None:
    """An unknown digest is BlobNotFound; a malformed one (e.g. a path) is a ValueError."""
    with pytest.raises(BlobNotFound):
        store.get(blob_digest(b"never stored"))
    assert store.stat(blob_digest(b"never stored")) is None
    with pytest.raises(ValueError, match="not a blob digest"):
        store.get("sha256:../../etc/passwd")


def test_open_blob_store_chooses_backend(tmp_path, monkeypatch) -> None:
    """A path or file:// URL opens a local store; nothing given means <AGENT_DATA_DIR>/blobs."""
    assert open_blob_store(tmp_path / "b").root == tmp_path / "b"
    assert open_blob_store(f"file://{tmp_path}/c").root == tmp_path / "c"
    monkeypatch.delenv("AGENT_BLOB_STORE", raising=False)
    monkeypatch.setenv("AGENT_DATA_DIR", str(tmp_path / "data"))
    assert open_blob_store().root == tmp_path / "data" / "blobs"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    s3 = open_blob_store("s3://bkt/runs?endpoint=http://127.0.0.1:9&region=eu-west-1")
    assert isinstance(s3, S3BlobStore)
    assert (s3.bucket, s3.prefix, s3.region, s3.endpoint) == ("bkt", "runs", "eu-west-1", "http://127.0.0.1:9")


def test_sigv4_signature_matches_botocore() -> None:
    """Our SigV4 Authorization header equals botocore's for the same request, time and keys."""
    auth = pytest.importorskip("botocore.auth")
    awsrequest = pytest.importorskip("botocore.awsrequest")
    credentials = pytest.importorskip("botocore.credentials")
    url = "http://127.0.0.1:9000/bucket/runs/sha256/ab/cdef0123"
    body = b"payload bytes"
    payload = hashlib.sha256(body).hexdigest()
    request = awsrequest.AWSRequest(method="PUT", url=url, data=body,
                                    headers={"x-amz-content-sha256": payload})
    auth.SigV4Auth(credentials.Credentials("AKIDEXAMPLE", "secret/key"), "s3", "us-east-1").add_auth(request)
    when = datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    ours = sigv4_headers("PUT", url, payload, access_key="AKIDEXAMPLE", secret_key="secret/key",
                         region="us-east-1", now=when)
    assert ours["authorization"] == request.headers["Authorization"]


def test_s3_store_round_trips_5mb_on_the_wire(s3_endpoint: str, monkeypatch) -> None:
    """Against a real S3 HTTP endpoint: put, idempotent re-put, stat, get with integrity, missing keys."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    s3 = open_blob_store(f"s3://agent-blobs/runs?endpoint={s3_endpoint}")
    s3.create_bucket()
    data = bytes(range(256)) * (5 * 1024 * 1024 // 256)
    digest = s3.put(data)
    assert s3.put(data) == digest
    assert s3.stat(digest).size == len(data)
    assert s3.get(digest) == data
    assert not s3.exists(blob_digest(b"absent"))
    with pytest.raises(BlobNotFound):
        s3.get(blob_digest(b"absent"))


def test_s3_store_with_keys_holds_only_ciphertext(s3_endpoint: str, monkeypatch) -> None:
    """With a key ring the S3 object is sealed (no plaintext on the server) and reads back whole."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    keys = KeyRing({"k1": os.urandom(32)})
    s3 = open_blob_store(f"s3://agent-blobs/sealed?endpoint={s3_endpoint}", keys=keys)
    s3.create_bucket()
    digest = s3.put(b"the secret orchid transcript")
    assert b"orchid" not in s3._read(digest)  # the bytes as the server holds them
    assert s3.get_text(digest) == "the secret orchid transcript"
    monkeypatch.delenv("AGENT_CODEC_KEYS", raising=False)
    monkeypatch.delenv("AGENT_CODEC_KEYS_FILE", raising=False)
    plain = open_blob_store(f"s3://agent-blobs/sealed?endpoint={s3_endpoint}")
    with pytest.raises(KeyRingError, match="is encrypted and no keys are configured"):
        plain.get(digest)
