"""One way to connect: the project's data converter (worker/codec.py), so CLI JSON, typed models and
encrypted payloads agree across every client and worker."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client, Plugin
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from worker.codec import project_data_converter


async def connect(address: str, namespace: str = "default", runtime: Runtime | None = None,
                  data_converter: DataConverter | None = None, plugins: Sequence[Plugin] = ()) -> Client:
    """`data_converter` defaults to the one AGENT_CODEC_KEYS / AGENT_CODEC_KEYS_FILE configure;
    `plugins` (the tracing plugin, worker/tracing.py) reach every worker built on this client."""
    return await Client.connect(address, namespace=namespace, runtime=runtime, plugins=list(plugins),
                                data_converter=data_converter or project_data_converter())
