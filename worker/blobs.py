"""The blob store the environment names, opened the way every process of the project opens it.

The environment is read here, on the worker's side: activities/context/blobs.py builds a store from
values (`blob_store_at`), so the activities never reach for the process environment themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from activities.context.blobs import BlobStore, LocalBlobStore, S3Access, blob_store_at
from activities.keyring import KeyRing
from worker.codec import keyring_from_env


def s3_access_from_env(environ: Mapping[str, str] | None = None) -> S3Access:
    env = os.environ if environ is None else environ
    return S3Access(
        access_key=env.get("AWS_ACCESS_KEY_ID", ""),
        secret_key=env.get("AWS_SECRET_ACCESS_KEY", ""),
        session_token=env.get("AWS_SESSION_TOKEN"),
        endpoint=env.get("AWS_ENDPOINT_URL") or "",
        region=env.get("AWS_REGION") or "",
    )


def open_blob_store(url_or_path: str | Path | None = None, data_dir: Path | str | None = None,
                    keys: KeyRing | None = None, environ: Mapping[str, str] | None = None) -> BlobStore:
    """`s3://bucket/prefix?endpoint=http://host:port&region=...`, `file:///dir`, a path, or None.

    None reads AGENT_BLOB_STORE, and falls back to `<data_dir>/blobs` (data_dir defaults to
    AGENT_DATA_DIR, then `./.data`), the same place the worker keeps its ledger. Keys default to
    AGENT_CODEC_KEYS / AGENT_CODEC_KEYS_FILE, so every process that opens the store encrypts alike.
    An s3:// store signs with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), and
    AWS_ENDPOINT_URL / AWS_REGION stand in for what its URL leaves out.
    """
    env = os.environ if environ is None else environ
    keys = keys if keys is not None else keyring_from_env(env)
    target = str(url_or_path) if url_or_path is not None else env.get("AGENT_BLOB_STORE", "")
    if target:
        return blob_store_at(target, keys, s3_access_from_env(env))
    base = Path(data_dir) if data_dir is not None else Path(env.get("AGENT_DATA_DIR", ".data"))
    return LocalBlobStore(base / "blobs", keys)
