"""Retrieval settings, read once from AGENT_* variables like worker/settings.py.

Kept apart from the worker's Settings so this package can be configured (and tested) on its own;
the worker passes its data directory in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError
from activities.config_errors import problems


class RetrievalSettings(BaseModel):
    qdrant_url: str = Field("", description="AGENT_QDRANT_URL: empty means embedded (on disk, in process)")
    qdrant_path: Path = Field(description="AGENT_QDRANT_PATH: local-mode folder (default <data dir>/qdrant)")
    knowledge_engine: Literal["edge", "local"] = Field(
        "edge", description="AGENT_KNOWLEDGE_ENGINE without a URL: Qdrant Edge shards, or qdrant-client local mode")
    qdrant_edge_path: Path = Field(description="AGENT_QDRANT_EDGE_PATH (default <data dir>/qdrant-edge)")
    long_query: Literal["zmax", "max", "rrf", "mean", "truncate"] = Field(
        "zmax", description="AGENT_LONG_QUERY: how the dense arm pools the segments of a long query")
    qdrant_api_key_env: str = Field("AGENT_QDRANT_API_KEY", description="AGENT_QDRANT_API_KEY_ENV: NAME of the key's variable")
    embeddings: Literal["minilm", "openai"] = Field("minilm", description="AGENT_EMBEDDINGS")
    embedding_batch: int = Field(32, ge=1, le=1024, description="AGENT_EMBEDDING_BATCH")
    embedding_cache: Path = Field(description="AGENT_EMBEDDING_CACHE (default <data dir>/embedding_cache.sqlite)")
    openai_embedding_model: str = Field("text-embedding-3-small", description="AGENT_OPENAI_EMBEDDING_MODEL")
    openai_embedding_dim: int = Field(1536, description="AGENT_OPENAI_EMBEDDING_DIM")
    openai_base_url: str = Field("https://api.openai.com/v1", description="AGENT_OPENAI_EMBEDDING_BASE_URL")
    openai_api_key_env: str = Field("OPENAI_API_KEY", description="AGENT_OPENAI_API_KEY_ENV: NAME of the key's variable")
    knowledge_collection: str = Field("knowledge", description="AGENT_KNOWLEDGE_COLLECTION")
    memory_collection: str = Field("memory", description="AGENT_MEMORY_COLLECTION")
    rerank: bool = Field(False, description="AGENT_RERANK: re-rank hybrid results by default")

    def secret(self, env_name: str) -> str | None:
        # Keys never land in settings dumps or history: only the variable's name does.
        return os.environ.get(env_name) or None


_ENV = {
    "qdrant_url": "AGENT_QDRANT_URL",
    "qdrant_path": "AGENT_QDRANT_PATH",
    "knowledge_engine": "AGENT_KNOWLEDGE_ENGINE",
    "qdrant_edge_path": "AGENT_QDRANT_EDGE_PATH",
    "long_query": "AGENT_LONG_QUERY",
    "qdrant_api_key_env": "AGENT_QDRANT_API_KEY_ENV",
    "embeddings": "AGENT_EMBEDDINGS",
    "embedding_batch": "AGENT_EMBEDDING_BATCH",
    "embedding_cache": "AGENT_EMBEDDING_CACHE",
    "openai_embedding_model": "AGENT_OPENAI_EMBEDDING_MODEL",
    "openai_embedding_dim": "AGENT_OPENAI_EMBEDDING_DIM",
    "openai_base_url": "AGENT_OPENAI_EMBEDDING_BASE_URL",
    "openai_api_key_env": "AGENT_OPENAI_API_KEY_ENV",
    "knowledge_collection": "AGENT_KNOWLEDGE_COLLECTION",
    "memory_collection": "AGENT_MEMORY_COLLECTION",
    "rerank": "AGENT_RERANK",
}


class RetrievalSettingsError(ValueError):
    pass


def load_retrieval_settings(data_dir: Path, environ: Mapping[str, str] | None = None) -> RetrievalSettings:
    env = os.environ if environ is None else environ
    values: dict[str, object] = {
        "qdrant_path": data_dir / "qdrant",
        "qdrant_edge_path": data_dir / "qdrant-edge",
        "embedding_cache": data_dir / "embedding_cache.sqlite",
    }
    for field, var in _ENV.items():
        if (raw := env.get(var)) is not None and raw != "":
            values[field] = raw
    try:
        return RetrievalSettings(**values)
    except ValidationError as e:
        raise RetrievalSettingsError(f"invalid retrieval settings: {problems(e, _ENV)}") from e
