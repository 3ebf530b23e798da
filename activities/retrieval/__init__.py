"""Retrieval over Qdrant: embeddings, ingestion, permission-filtered hybrid search.

Empty on purpose: `workflows.contracts.retrieval` must be importable from workflow code without
pulling qdrant-client or onnxruntime into the sandbox.
"""
