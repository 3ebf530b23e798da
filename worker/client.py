"""One way to connect: the pydantic data converter, so CLI JSON and typed models agree."""

from __future__ import annotations

from temporalio.client import Client
from worker.converter import DATA_CONVERTER
from temporalio.runtime import Runtime


async def connect(address: str, namespace: str = "default", runtime: Runtime | None = None) -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=DATA_CONVERTER, runtime=runtime)
