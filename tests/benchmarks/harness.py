"""What every benchmark starts with: a dev server of its own on a fresh database, and a client of it."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.client import Client

from tests.conftest import dev_server_config
from worker.codec import project_data_converter
from worker.devserver import DevServer
from worker.logging import configure_logging


@asynccontextmanager
async def dev_cluster() -> AsyncIterator[tuple[Client, DevServer, Path]]:
    """(client, server, a temporary directory), quiet logs; the server stops and the directory goes after."""
    configure_logging("error")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        server = DevServer(dev_server_config(tmp), log_path=tmp / "server.log").start()
        try:
            yield await Client.connect(server.config.address, data_converter=project_data_converter()), server, tmp
        finally:
            server.stop()
