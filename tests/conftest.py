"""Shared fixtures: Temporal environments (time-skipping and the real dev server), workers, helpers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.context import calibration
from activities.context.archive import ArchiveActivities
from activities.context.tool_catalogue import ToolCatalogueActivities
from activities.tools.registry import ToolRegistry
from activities.tools.workspaces import workspace_dir
from inference.embedded_model import DEFAULT_MODEL, ensure_model
from inference.llama_server import LlamaServerConfig, start_llama_server
from tests.signing import write_approvers
from worker.binaries import find_binary
from worker.blobs import open_blob_store
from worker.codec import project_data_converter
from worker.devserver import DevServer, DevServerConfig, free_port, load_dev_config
from worker.main import build_tool_layer, build_worker
from worker.settings import DEFAULT_TOOL_MODULES, Settings
from workflows import search_attributes
from workflows.contracts import RunState

_KINDS = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
}


@pytest.fixture(autouse=True)
def _fresh_token_calibrations():
    """Each test's models start from an uncalibrated count: what a worker learned of a model is per
    model name and per process, and a test that decides whether a run compacts must not depend on
    what an earlier test's model "small" reported."""
    calibration.MODELS.clear()
    yield
    calibration.MODELS.clear()


@pytest.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server, with the run's search attributes registered."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"),
        data_converter=project_data_converter(),
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default",
            search_attributes={name: _KINDS[kind] for name, kind in search_attributes.ALL.items()},
        )
    )
    async with env:
        yield env


def dev_server_config(tmp: Path, **dynamic_config: object) -> DevServerConfig:
    """temporal-dev.yaml as users run it, on free ports and a fresh database file."""
    base = load_dev_config()
    return load_dev_config(
        server={"grpc_port": free_port(), "ui_port": free_port(), "headless": True,
                "db_filename": str(tmp / "temporal.sqlite")},
        dynamic_config={**base.dynamic_config, **dynamic_config},
    )


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("devserver")
    server = DevServer(dev_server_config(tmp), log_path=tmp / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def dev_client(dev_server: DevServer) -> Client:
    return await Client.connect(dev_server.config.address, data_converter=project_data_converter())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Worker settings on a fresh task queue and data dir, so tests never see each other's runs; the
    approvers file lists the test approver (tests/signing.py), who may approve anything."""
    approvers = write_approvers(tmp_path / "approvers.yaml")
    return Settings(task_queue=f"tq-{uuid.uuid4()}", data_dir=tmp_path / "data", approvers_file=approvers)


def registry_with(*extra_modules: str) -> ToolRegistry:
    return ToolRegistry.from_modules([*DEFAULT_TOOL_MODULES, *extra_modules])


def make_worker(client: Client, settings: Settings, model: object, *extra_tool_modules: str) -> Worker:
    """A real worker with the real tool activities and a scripted model activity."""
    layer = build_tool_layer(settings, registry_with(*extra_tool_modules))
    return build_worker(client, settings, [*model_activities(model, settings), *layer.activities()])


def model_activities(model: object, settings: Settings) -> list:
    """A scripted model's activities, bound to the settings' blob store, plus the catalogue store they read."""
    model.blobs = open_blob_store(settings.blob_store, data_dir=settings.data_dir, keys=settings.keyring())
    return [model.catalogue, model.decide, model.decide_with_context, ToolCatalogueActivities(model.blobs).store,
            ArchiveActivities(model.blobs).archive]


def chain_id(handle: object) -> str:
    """The run chain a started run's effects are keyed by: `<workflow id>/<first run id>`."""
    return f"{handle.id}/{handle.first_execution_run_id}"


def run_workspace(settings: Settings, handle: object) -> Path:
    """The private workspace directory of a started run's chain."""
    return workspace_dir(settings.workspaces, chain_id(handle))


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 20, what: str = "condition") -> None:
    """Wait for an observable condition (never a fixed sleep), failing with `what` on timeout."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)


async def state_if_answered(handle: object) -> RunState | None:
    """The run's state, or None while no live worker can answer: a query sent just after a worker was
    killed goes to that worker's sticky queue and the server cancels it ("context canceled") until it
    falls back to the shared queue. An operator would ask again; so do the tests."""
    from temporalio.service import RPCError, RPCStatusCode

    from workflows.agent_run import AgentRun
    try:
        return await handle.query(AgentRun.state, rpc_timeout=timedelta(seconds=10))
    except RPCError as e:
        if e.status in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE):
            return None
        raise


@dataclass(frozen=True)
class LlamaServer:
    base_url: str
    model: str


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory):
    """The embedded model behind llama.cpp's OpenAI-compatible server, as `python -m worker.dev up` runs it."""
    config = LlamaServerConfig(model_path=ensure_model(), model_alias=DEFAULT_MODEL.name, port=free_port())
    process = start_llama_server(config, tmp_path_factory.mktemp("llama") / "server.log")
    yield LlamaServer(base_url=config.base_url, model=config.model_alias)
    process.terminate()
    process.wait(timeout=30)


def wire_model(name: str, server: object, provider: str = "openai", **fields: object) -> dict:
    """A models-file entry for a model served by a tests.wire_server.ModelWireServer."""
    base_url = server.root_url if provider == "anthropic" else server.base_url
    entry = {"name": name, "provider": provider, "base_url": base_url, "context_window": 8192,
             "max_output_tokens": 256, "data_classes": ["public", "internal"], "timeout_s": 5}
    return {**entry, **fields}


def write_models_file(path: Path, *models: dict, routes: dict | None = None, outage: dict | None = None) -> Path:
    names = [m["name"] for m in models]
    routes = routes or {"plan": names, "act": names, "summarize": names}
    path.write_text(yaml.safe_dump({"models": list(models), "routes": routes, **({"outage": outage} if outage else {})}))
    return path
