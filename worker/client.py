"""One way to connect: the project's data converter (worker/codec.py), so CLI JSON, typed models and
encrypted payloads agree across every client and worker."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from worker.codec import project_data_converter


async def connect(address: str, namespace: str = "default", runtime: Runtime | None = None,
                  data_converter: DataConverter | None = None) -> Client:
    """`data_converter` defaults to the one AGENT_CODEC_KEYS / AGENT_CODEC_KEYS_FILE configure."""
    return await Client.connect(address, namespace=namespace, runtime=runtime,
                                data_converter=data_converter or project_data_converter())
