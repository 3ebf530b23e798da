"""Fixtures of the context-engine tests: a fresh blob store, an S3 server on the wire, a clean chain cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.context import transcript
from activities.context.blobs import LocalBlobStore
from inference.embedded_model import DEFAULT_MODEL, default_cache_dir


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "data" / "blobs")


@pytest.fixture(autouse=True)
def _fresh_chain_cache():
    """Each test reads chains from the store, never from another test's in-process cache."""
    transcript.CACHE.clear()
    yield
    transcript.CACHE.clear()


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server: a real HTTP endpoint speaking the S3 REST protocol, on a free port."""
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    """The embedded model's GGUF, when it has been joined already (tokenizer tests skip otherwise)."""
    path = default_cache_dir() / "models" / DEFAULT_MODEL.filename
    if not path.is_file():
        pytest.skip(f"{path} is missing: run `python -m worker.dev up` once")
    return path
