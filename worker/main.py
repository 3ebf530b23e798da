"""Build and run the worker: AgentRun plus the model and tool activities."""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import structlog
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.common import MetricMeter, VersioningBehavior, WorkerDeploymentVersion
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError
from temporalio.worker import Worker, WorkerDeploymentConfig

from activities.approvers import ApproverActivities, load_approvers
from activities.context.archive import ArchiveActivities
from activities.context.blobs import BlobStore
from activities.context.summarize import SummarizeActivities, gateway_chat
from activities.context.tokens import TokenCounter, counter_for
from activities.context.tool_catalogue import ToolCatalogueActivities
from activities.gateway.breaker import BreakerRegistry
from activities.gateway.catalogue import load_models_file
from activities.gateway.gateway import Gateway
from activities.gateway.metrics import TemporalBreakerMetrics
from activities.judge import JudgeActivities
from activities.ledger import LedgerBackend, open_ledger
from activities.ledger.activities import LedgerActivities
from activities.mcp import MCPActivities, MCPConfig, MCPConnector, load_mcp_config
from activities.memory.activities import MemoryActivities
from activities.model import ModelActivities
from activities.retrieval.activities import RetrievalActivities
from activities.retrieval.runtime import KnowledgeBase, configure
from activities.retrieval.shared import KnowledgeHost, open_or_join
from activities.retrieval.store import StoreError
from activities.stores import StoreActivities, StoreIdentity, blob_store_id, retrieval_store_id
from activities.tools.execute import ToolActivities
from activities.tools.registry import ToolRegistry
from activities.tools.tenant_policy import load_tenant_policy
from activities.tools.workspace_store import LocalWorkspaces, SharedWorkspaces, WorkspaceStore
from inference.embedded_model import ensure_model
from worker.activity_telemetry import ActivityTelemetry
from worker.blobs import open_blob_store
from worker.client import TemporalConnectError, connect
from worker.codec import data_converter
from worker.evals.scoring import ScoringActivities
from worker.logging import configure_logging
from worker.preflight import TOOL_ENTRY_POINTS, checked_settings, fail
from worker.queue_peers import QueuePeers, worker_identity
from worker.retrieval_settings import load_retrieval_settings
from worker.sandbox import workflow_runner
from worker.settings import Settings, SettingsError
from worker.tool_settings import load_tool_registry
from worker.tracing import configure_tracing, shutdown_tracing
from workflows.agent_run import AgentRun
from workflows.scoring import JudgeAnswer, RunScoreRecord, ScoreRuns

log = structlog.get_logger(__name__)
WORKFLOWS = [AgentRun, ScoreRuns, RunScoreRecord, JudgeAnswer]


@dataclass
class ToolLayer:
    tools: ToolActivities
    ledger: LedgerActivities
    mcp: MCPActivities
    approvers: ApproverActivities
    stores: StoreActivities

    def activities(self) -> list:
        return [self.tools.list_tools, self.tools.execute, self.tools.seed_workspace, self.ledger.propose,
                self.ledger.approve_call,
                self.ledger.resolve_unknown, self.mcp.list_tools, self.approvers.load, self.stores.bind]


def open_workspaces(settings: Settings, ledger: LedgerBackend, blobs: BlobStore) -> WorkspaceStore:
    if settings.workspace_kind == "shared":
        return SharedWorkspaces(ledger, blobs, settings.data_dir / "workspace-cache", blob_store_id(blobs))
    return LocalWorkspaces(settings.workspaces)


def store_identity(settings: Settings, ledger: LedgerBackend, workspaces: WorkspaceStore,
                   blobs: BlobStore) -> StoreIdentity:
    """What this worker's stores are (activities/stores.py); runs bound to other stores never reach it."""
    retrieval = "off"
    if settings.retrieval:
        found = load_retrieval_settings(settings.data_dir)
        retrieval = retrieval_store_id(found.qdrant_url, found.qdrant_path)
        if not found.qdrant_url and found.knowledge_engine == "edge":
            # Knowledge lives in the in-process Edge shards, memories in local mode: both are this host's.
            retrieval += "+" + retrieval_store_id("", found.qdrant_edge_path)
    return StoreIdentity(ledger.store_id(), workspaces.store_id(), blob_store_id(blobs), retrieval)


def build_tool_layer(settings: Settings, registry: ToolRegistry | None = None) -> ToolLayer:
    """Registry, ledger, MCP servers and approvers; a bad tool module, MCP or approvers file stops the worker here."""
    ledger = open_ledger(settings.ledger_url or settings.ledger_path)
    mcp = MCPConnector(load_mcp_config(settings.mcp_config) if settings.mcp_config else MCPConfig())
    registry = registry or load_tool_registry(settings.tool_modules, entry_point_group=TOOL_ENTRY_POINTS)
    tenant_tools = load_tenant_policy(settings.tenant_policy) if settings.tenant_policy else None
    blobs = open_blob_store(settings.blob_store, data_dir=settings.data_dir, keys=settings.keyring())
    workspaces = open_workspaces(settings, ledger, blobs)
    identity = store_identity(settings, ledger, workspaces, blobs)
    tools = ToolActivities(registry, ledger, workspaces, dynamic_tools=mcp.tool_for, tenant_tools=tenant_tools,
                           blobs=blobs, lease_s=settings.tool_lease_s, store_id=identity.store_id)
    approvers = load_approvers(settings.approvers_path)
    if not approvers.approvers:
        log.warning("approvers.none", file=approvers.source,
                    consequence="risk 3-4 calls can be rejected or expire, never approved")
    return ToolLayer(tools, LedgerActivities(ledger), MCPActivities(mcp), ApproverActivities(settings.approvers_path),
                     StoreActivities(identity))


def build_gateway(settings: Settings, meter: MetricMeter | None = None) -> Gateway:
    """Load the models file (a bad one stops the worker here, with file, key and reason)."""
    breakers = BreakerRegistry(
        failure_rate=settings.breaker_failure_rate,
        min_calls=settings.breaker_min_calls,
        window_s=settings.breaker_window_s,
        cooldown_s=settings.breaker_cooldown_s,
        metrics=TemporalBreakerMetrics(meter) if meter is not None else None,
    )
    return Gateway(load_models_file(settings.models_file, os.environ), breakers)


def build_knowledge(settings: Settings) -> tuple[KnowledgeBase, KnowledgeHost | None]:
    """Open Qdrant and the embedder once per process and bind them for the knowledge tools; or, when
    another process of this data directory holds the embedded stores, use them through it
    (activities/retrieval/shared.py). The process that holds them serves them to the others."""
    found = load_retrieval_settings(settings.data_dir)
    if settings.profile == "multi-host" and not found.qdrant_url:
        raise SettingsError("the multi-host profile needs AGENT_QDRANT_URL (a Qdrant server every host "
                            "shares) or AGENT_RETRIEVAL=false")
    opened, host = open_or_join(found, settings.data_dir, serve=True)
    kb = cast(KnowledgeBase, opened)  # a RemoteKnowledgeBase has the same retriever, ingestor and memory
    configure(kb)
    return kb, host


def token_counters(gateway: Gateway) -> Callable[[str], TokenCounter]:
    """Exact counts where a tokenizer is available offline (the embedded model's GGUF, or a model's
    `tokenizer_file`), else an estimate; either way each call's reported usage calibrates the count
    (activities/context/calibration.py), so a GGUF that is not the server's model is corrected too."""

    @functools.cache
    def counter(name: str) -> TokenCounter:
        config = gateway.config(name)
        gguf = ensure_model() if config.provider == "llamacpp" and config.tokenizer_file is None else None
        return counter_for(name, gguf_path=gguf, tokenizer_file=config.tokenizer_file)

    return counter


def build_model_activities(settings: Settings, meter: MetricMeter | None = None, gateway: Gateway | None = None) -> list:
    gateway = gateway or build_gateway(settings, meter)
    blobs = open_blob_store(settings.blob_store, data_dir=settings.data_dir, keys=settings.keyring())
    counters = token_counters(gateway)
    model = ModelActivities(gateway, blobs=blobs, counter_for=counters)
    summarize = SummarizeActivities(blobs, gateway_chat(gateway), counters)
    catalogue = ToolCatalogueActivities(blobs)
    return [model.catalogue, model.decide, model.decide_with_context, summarize.summarize, catalogue.store,
            ArchiveActivities(blobs).archive]


def build_activities(settings: Settings, meter: MetricMeter | None = None, kb: KnowledgeBase | None = None,
                     layer: ToolLayer | None = None) -> list:
    gateway = build_gateway(settings, meter)
    judge = JudgeActivities(gateway)
    scoring = ScoringActivities(judge)
    activities = [*build_model_activities(settings, meter, gateway), *(layer or build_tool_layer(settings)).activities(),
                  scoring.list_runs, scoring.score_run, judge.judge]
    if kb is not None:
        retrieval, memory = RetrievalActivities(kb), MemoryActivities(kb.memory)
        activities += [retrieval.search, retrieval.ingest, retrieval.context, memory.propose, memory.recall]
    return activities


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """Worker Deployment Versioning: this build's version, and how runs stay on it (docs/operating.md)."""
    if not settings.build_id or not settings.deployment_name:  # Settings holds both or neither
        return None
    behavior = {"pinned": VersioningBehavior.PINNED, "auto_upgrade": VersioningBehavior.AUTO_UPGRADE}
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(deployment_name=settings.deployment_name, build_id=settings.build_id),
        use_worker_versioning=True, default_versioning_behavior=behavior[settings.versioning_behavior])


def _activity_options() -> dict[str, Any]:
    return dict(
        activity_executor=ThreadPoolExecutor(max_workers=16),
        # Spans (GenAI conventions) and metrics for model, tool, compaction and retrieval activities.
        interceptors=[ActivityTelemetry()],
        # Give running activities this long to finish on SIGTERM before they are cancelled.
        graceful_shutdown_timeout=timedelta(seconds=10),
        # A cancelled run reaches its activity only through a heartbeat reply: send them often enough
        # that cancelling a run stops its HTTP call within a couple of seconds, not 24 s.
        max_heartbeat_throttle_interval=timedelta(seconds=2),
        default_heartbeat_throttle_interval=timedelta(seconds=2),
    )


def build_worker(client: Client, settings: Settings, activities: list | None = None,
                 identity: str | None = None) -> Worker:
    return Worker(
        client,
        identity=identity,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(settings) if activities is None else activities,
        workflow_runner=workflow_runner(),
        # Invalid input must fail the run at once, not retry the workflow task forever.
        workflow_failure_exception_types=[ValidationError],
        deployment_config=deployment_config(settings),
        **_activity_options(),
    )


def build_store_worker(client: Client, settings: Settings, store_queue: str, activities: list,
                       identity: str | None = None) -> Worker:
    """The same activities on the queue of this worker's stores: bound runs' activities arrive here only
    on workers whose stores are the run's (activities/stores.py). Same deployment version as the
    workflow worker, so a pinned run's activities stay on its build."""
    return Worker(client, task_queue=store_queue, activities=activities, deployment_config=deployment_config(settings),
                  identity=identity, **_activity_options())


async def run_worker(settings: Settings) -> None:
    runtime = None
    if settings.metrics_address:
        try:
            runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=settings.metrics_address)))
        except Exception as e:  # noqa: BLE001 - the core's bind error: say it in one line
            fail(f"cannot serve metrics on {settings.metrics_address} (AGENT_METRICS_ADDRESS): {' '.join(str(e).split())}")
    plugins = configure_tracing()
    try:
        client = await connect(settings.temporal_address, settings.namespace, runtime=runtime,
                               data_converter=data_converter(settings.keyring()), tls=settings.temporal_tls(),
                               api_key=settings.api_key.get_secret_value() if settings.api_key else None,
                               plugins=plugins)
    except TemporalConnectError as e:
        fail(str(e))  # one line with the likely cause (worker/tls.py)
    meter = (runtime or Runtime.default()).metric_meter
    kb, host = build_knowledge(settings) if settings.retrieval else (None, None)
    try:
        layer = build_tool_layer(settings)
        identity = layer.stores.identity
        store_queue = layer.stores.task_queue = identity.task_queue(settings.task_queue)
        activities = build_activities(settings, meter, kb, layer)
        me = worker_identity(identity.store_id)
        peers = QueuePeers(client, settings.task_queue, me, identity.store_id, settings.bind_unshared_stores)
        try:  # before polling: a worker joining others with other stores says so, and binds nothing, at once
            await peers.refresh()
        except RPCError as e:
            log.warning("worker.peers_unavailable", error=str(e))
        layer.stores.refusal = peers.refusal
        worker = build_worker(client, settings, activities, identity=me)
        store_worker = build_store_worker(client, settings, store_queue, activities, identity=me)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("worker.start", address=settings.temporal_address, task_queue=settings.task_queue,
                 store_queue=store_queue, ledger_id=identity.ledger_id, workspaces=identity.workspace_store_id,
                 blobs=identity.blob_store_id, retrieval=identity.retrieval_store_id, profile=settings.profile,
                 deployment=settings.deployment_name, build_id=settings.build_id,
                 models_file=str(settings.models_file), metrics=settings.metrics_address, tracing=bool(plugins))
        # What start-up built lives as long as the process; frozen, the collector stops re-scanning it,
        # which took 60-100 ms pauses in the middle of searches (docs/retrieval.md, Speed).
        gc.collect()
        gc.freeze()
        watcher = asyncio.create_task(peers.watch())
        try:
            async with worker, store_worker:
                await stop.wait()
                log.info("worker.stopping")
        finally:
            watcher.cancel()
    finally:
        shutdown_tracing()
        configure(None)
        if host is not None:
            host.close()
        if kb is not None:
            kb.close()  # qdrant local mode must close before interpreter shutdown, or the exit can abort
    log.info("worker.stopped")


def main() -> None:
    settings = checked_settings()  # before connecting: a bad file is reported even with Temporal down
    configure_logging(settings.log_level)
    try:
        asyncio.run(run_worker(settings))
    except SettingsError as e:  # a combination only the worker's build can judge (e.g. the multi-host profile)
        fail(str(e))
    except StoreError as e:  # e.g. the embedded store held by another process: what to do, in one line
        fail(str(e))
