"""Retrieval settings from AGENT_* variables, read once at worker start like worker/settings.py.

The environment is read here, on the worker's side; activities/retrieval/settings.py only holds the
model, so the retrieval package never reaches for the process environment itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from activities.config_errors import problems
from activities.retrieval.settings import RetrievalSettings

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
        return RetrievalSettings.model_validate(values).with_secrets(env)
    except ValidationError as e:
        raise RetrievalSettingsError(f"invalid retrieval settings: {problems(e, _ENV)}") from e
