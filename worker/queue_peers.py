"""Who else serves this task queue, and with which stores.

A run is bound to the stores of the worker that takes its first activity (activities/stores.py). A
worker with its own stores (a SQLite ledger, a local data directory) beside workers that share theirs
would take some new runs and tie them to one host, and nobody would be told. So each worker names its
stores in its Temporal identity (`<pid>@<host> stores-<digest>`), and reads the identities of the
queue's pollers from Temporal's own DescribeTaskQueue: no registry of our own to keep. Each worker
logs one line when a worker with other stores is on its queue (the newcomer at once, the others within
`REFRESH_S`), and a worker whose stores no other worker of the queue shares binds no new run unless
`AGENT_BIND_UNSHARED_STORES=true` says that is intended.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from dataclasses import dataclass

import structlog
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

log = structlog.get_logger()

# A poller long-polls for up to about a minute, and Temporal lists one it last saw within 5 minutes:
# seen within this long, a worker counts as serving the queue.
ALIVE_S = 90.0
REFRESH_S = 5.0
_STORE_ID = re.compile(r"\bstores-[0-9a-f]{16}\b")


def worker_identity(store_id: str) -> str:
    """Temporal's default identity, with this worker's stores after it."""
    return f"{os.getpid()}@{socket.gethostname()} {store_id}"


@dataclass(frozen=True)
class Peers:
    """The other workers on the queue, by identity, with their stores (those that name them)."""

    stores: dict[str, str]

    def sharing(self, store_id: str) -> list[str]:
        return sorted(i for i, s in self.stores.items() if s == store_id)

    def other_sets(self, store_id: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for identity, stores in sorted(self.stores.items()):
            if stores != store_id:
                out.setdefault(stores, []).append(identity)
        return out


class QueuePeers:
    def __init__(self, client: Client, queue: str, identity: str, store_id: str, bind_unshared: bool) -> None:
        self.client, self.queue, self.identity, self.store_id = client, queue, identity, store_id
        self.bind_unshared = bind_unshared
        self.peers = Peers({})
        self._reported: frozenset[str] = frozenset()

    async def refresh(self) -> Peers:
        response = await self.client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=self.client.namespace, task_queue=TaskQueue(name=self.queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY))
        now = time.time()
        stores: dict[str, str] = {}
        for poller in response.pollers:
            found = _STORE_ID.search(poller.identity)
            seen = poller.last_access_time.ToSeconds() if poller.HasField("last_access_time") else now
            if found and poller.identity != self.identity and now - seen <= ALIVE_S:
                stores[poller.identity] = found.group(0)
        self.peers = Peers(stores)
        self._report()
        return self.peers

    async def watch(self) -> None:
        """Refresh every REFRESH_S for the life of the worker; a failed look is tried again next time."""
        while True:
            await asyncio.sleep(REFRESH_S)
            try:
                await self.refresh()
            except Exception as e:  # noqa: BLE001 - the server briefly away: keep the last view
                log.debug("worker.peers_unavailable", error=str(e))

    def refusal(self) -> str | None:
        """Why this worker must not bind a new run to its stores, or None when it may."""
        others = self.peers.other_sets(self.store_id)
        if self.bind_unshared or not others or self.peers.sharing(self.store_id):
            return None
        return (f"no other worker on task queue {self.queue} shares this worker's stores ({self.store_id}, "
                f"{self.identity.split(' ')[0]}); the others have {_describe(others)}. Not binding new runs to "
                "stores only this host has: give it the stores the others share (AGENT_PROFILE=multi-host, the "
                "same AGENT_LEDGER_URL and AGENT_BLOB_STORE), or set AGENT_BIND_UNSHARED_STORES=true if that "
                "is intended")

    def _report(self) -> None:
        others = self.peers.other_sets(self.store_id)
        if frozenset(others) == self._reported:
            return
        self._reported = frozenset(others)
        if others:
            log.warning("worker.stores_differ", message=(
                f"task queue {self.queue} has workers with other stores: this worker "
                f"({self.identity.split(' ')[0]}) has {self.store_id}, {_describe(others)}; a run stays on the "
                f"stores it was bound to, so runs bound to one set never run on the other"
                + ("" if self.refusal() is None else "; this worker binds no new runs")))
        else:
            log.info("worker.stores_agree", task_queue=self.queue, stores=self.store_id)


def _describe(others: dict[str, list[str]]) -> str:
    return ", ".join(f"{stores} ({', '.join(i.split(' ')[0] for i in ids)})" for stores, ids in others.items())
