"""One way to connect: the project's data converter (worker/codec.py), so CLI JSON, typed models and
encrypted payloads agree across every client and worker; TLS, mTLS and API keys for a real cluster
(worker/tls.py)."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client, Plugin
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.service import RetryConfig, TLSConfig

from worker.codec import project_data_converter
from worker.tls import describe_connect_error


class TemporalConnectError(ConnectionError):
    """The cluster could not be reached or refused us; the message is one line with the likely cause."""


async def connect(address: str, namespace: str = "default", runtime: Runtime | None = None,
                  data_converter: DataConverter | None = None, tls: TLSConfig | None = None,
                  api_key: str | None = None, plugins: Sequence[Plugin] = (),
                  retry_config: RetryConfig | None = None) -> Client:
    """`data_converter` defaults to the one AGENT_CODEC_KEYS / AGENT_CODEC_KEYS_FILE configure;
    `plugins` (the tracing plugin, worker/tracing.py) reach every worker built on this client."""
    try:
        return await Client.connect(address, namespace=namespace, runtime=runtime, plugins=list(plugins),
                                    data_converter=data_converter or project_data_converter(),
                                    tls=tls if tls is not None else False, api_key=api_key,
                                    retry_config=retry_config)
    except RuntimeError as e:  # the SDK's core raises RuntimeError("Failed client connect: ...")
        raise TemporalConnectError(describe_connect_error(address, e, tls is not None, api_key is not None)) from None
