"""Retrieval settings: what the knowledge base and memory are built from.

Kept apart from the worker's Settings so this package can be configured (and tested) on its own. The
worker reads them once from AGENT_* variables (worker/retrieval_settings.py); nothing here reads the
environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr


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
    rerank: bool = Field(False, description="AGENT_RERANK: ignored; re-ranking was removed (it changed no ranking)")

    # Keys never land in settings dumps or history: only the variable's name does. The values sit in a
    # private attribute, filled by whoever read the environment (`with_secrets`).
    _secrets: dict[str, str] = PrivateAttr(default_factory=dict)

    def with_secrets(self, values: Mapping[str, str]) -> RetrievalSettings:
        """These settings, with the values of the key variables they name taken from `values`."""
        names = (self.qdrant_api_key_env, self.openai_api_key_env)
        self._secrets = {name: values[name] for name in names if values.get(name)}
        return self

    def secret(self, env_name: str) -> str | None:
        return self._secrets.get(env_name) or None
