"""The run API as operators run it: two replicas of `python -m worker.api` side by side, one killed while a
client streams, the worker killed while the run waits, one Idempotency-Key raced across both replicas,
and Temporal out of reach. A client that reconnects with the last id it saw misses nothing and sees
nothing twice; a key raced twenty times starts one run.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import httpx

from tests.api.test_run_api import api_client, identities_at
from tests.conftest import dev_server_config
from tests.processes import ApiProcess, WorkerProcess
from tests.wire_server import ModelWireServer, tool_then_answer
from worker.api.app import TEMPORAL_RETRY
from worker.client import connect
from worker.devserver import DevServer


async def follow(url: str, run_id: str, headers: dict[str, str], last_id: str | None,
                 seen: list[dict[str, Any]], until: str) -> str | None:
    """Read the run's events from the replica at `url` after `last_id` into `seen`, until an event of kind
    `until` or until the connection drops; the id of the last event read."""
    resume = {"Last-Event-ID": last_id} if last_id is not None else {}
    event: dict[str, Any] = {}
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http, http.stream(
                "GET", f"/v1/runs/{run_id}/events", headers={**headers, **resume}) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith(("id:", "event:", "data:")):
                    field, _, value = line.partition(":")
                    event[field] = value.removeprefix(" ")
                elif not line and "data" in event:
                    seen.append(event)
                    last_id, event = event["id"], {}
                    if seen[-1]["event"] == until:
                        return last_id
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError):
        pass  # the replica died under us: the caller reconnects with the last id
    return last_id


async def test_replicas_share_runs_and_clients_resume_after_an_api_or_worker_dies(dev_server, tmp_path):
    address, queue, data = dev_server.config.address, f"tq-{uuid.uuid4()}", tmp_path / "data"
    keys = identities_at(data)  # the replicas' ledger: they share it, as replicas on many hosts share PostgreSQL
    auth = {"Authorization": f"Bearer {keys.add('alice', 'acme', ['start', 'view', 'approve'])}"}
    responder = tool_then_answer("write_file", {"path": "r.txt", "content": "replicated"}, "r.txt written")
    with ModelWireServer(responder) as model, WorkerProcess(address, queue, data, model.base_url) as worker, \
            ApiProcess(address, queue, data) as a, ApiProcess(address, queue, data) as b:
        async with httpx.AsyncClient(timeout=60) as http:
            body, keyed = {"goal": "write replicated to r.txt"}, {**auth, "Idempotency-Key": "race-1"}
            raced = await asyncio.gather(*[http.post(f"{(a, b)[i % 2].url}/v1/runs", json=body, headers=keyed)
                                           for i in range(20)])
            assert {r.status_code for r in raced} == {201}, [r.text for r in raced]
            [run_id] = {r.json()["id"] for r in raced}

            seen: list[dict[str, Any]] = []
            last = await follow(a.url, run_id, auth, None, seen, until="approval_needed")
            a.kill()  # the replica the client follows dies; the client moves to the other one
            worker.restart()  # and the worker dies (SIGKILL) while the run waits for a person
            approve = await http.post(f"{b.url}/v1/runs/{run_id}/approvals/call-1-1", json={"decision": "approve"},
                                      headers=auth)
            assert approve.status_code == 200, approve.text
            while not seen or seen[-1]["event"] != "result":
                last = await follow(b.url, run_id, auth, last, seen, until="result")
            listed = await http.get(f"{b.url}/v1/runs/{run_id}", headers=auth)
    ids = [int(e["id"]) for e in seen]
    assert ids == list(range(len(ids))), ids  # every event once, in order, across both replicas
    assert [e["event"] for e in seen].count("approval_decided") == 1
    assert json.loads(seen[-1]["data"])["message"] == "r.txt written"
    assert listed.json()["status"] == "completed"
    [written] = (data / "workspaces").glob("*/r.txt")
    assert written.read_text() == "replicated"


async def test_temporal_out_of_reach_is_a_503_with_retry_after(settings, tmp_path):
    keys = identities_at(tmp_path)
    auth = {"Authorization": f"Bearer {keys.add('alice', 'acme', ['admin'])}"}
    server = DevServer(dev_server_config(tmp_path), log_path=tmp_path / "server.log").start()
    try:
        client = await connect(server.config.address, retry_config=TEMPORAL_RETRY)  # as python -m worker.api does
    finally:
        server.stop()  # the API connected, then Temporal went away
    async with api_client(client, keys, settings.task_queue) as http:
        answers = [await http.post("/v1/runs", json={"goal": "g"}, headers=auth),
                   await http.get("/v1/runs", headers=auth),
                   await http.get("/v1/runs/api-x", headers=auth),
                   await http.post("/v1/runs/api-x/approvals/c-1", json={"decision": "reject"}, headers=auth)]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "5" and "Temporal is unreachable" in answer.json()["detail"]
        # What failed upstream (Temporal's address, its error text) stays in the API's log, by reference.
        assert re.fullmatch(r"Temporal is unreachable( \(reference [0-9a-f]{12}: the API's log has the details\))?",
                            answer.json()["detail"]), answer.text
