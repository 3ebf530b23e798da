"""The run API on a real uvicorn server, over HTTP, against the real dev server and worker (WIP)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from temporalio.client import Client

from activities.ledger import open_ledger
from tests.conftest import eventually
from tests.processes import WorkerProcess
from tests.wire_server import ModelWireServer, tool_then_answer
from worker.api.app import create_app
from worker.api.identities import Identities, digest
from worker.api.signer import ApiSigner
from worker.devserver import free_port
from worker.settings import REPO_ROOT


def identities_at(data_dir: Path) -> Identities:
    """The identities of a data dir: keys in its ledger, as `python -m worker.api` with AGENT_DATA_DIR reads them."""
    return Identities(open_ledger(data_dir / "ledger.sqlite"))


@asynccontextmanager
async def api_client(client: Client, keys: Identities, task_queue: str,
                     signer: ApiSigner | None = None, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API on a real uvicorn server on loopback, and an HTTP client for it."""
    port = free_port()
    app = create_app(client, keys, task_queue, signer, **options)
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # uvicorn's own flag: set once the socket listens
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            http.app_state = app.state  # type: ignore[attr-defined]  # what the replica holds, for the fan-out test
            yield http
    finally:
        server.should_exit = True
        await serving


async def _sse(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> AsyncIterator[dict]:
    """Server-sent events as dicts (id, event, data), as a browser's EventSource reads them."""
    async with http.stream("GET", url, headers=headers, timeout=60) as response:
        assert response.status_code == 200, await response.aread()
        event: dict = {}
        async for line in response.aiter_lines():
            if not line:
                if "data" in event:
                    yield event
                event = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                event[field] = value.removeprefix(" ")


@asynccontextmanager
async def worker_for(dev_server, settings, tmp_path) -> AsyncIterator[None]:
    """`python -m worker` on the settings' task queue, with a model server that writes out.txt once and
    then answers "written" (deciding from the request it receives)."""
    responder = tool_then_answer("write_file", {"path": "out.txt", "content": "x"}, "written")
    with ModelWireServer(responder) as model, WorkerProcess(dev_server.config.address, settings.task_queue,
                                                            tmp_path / "data", model.base_url):
        yield


async def test_start_follow_and_approve_over_http(dev_server, dev_client, settings, tmp_path):
    keys = identities_at(tmp_path)
    alice = {"Authorization": f"Bearer {keys.add('alice', 'acme', ['start', 'view', 'approve'])}"}
    viewer = {"Authorization": f"Bearer {keys.add('vic', 'acme', ['view'])}"}
    stranger = {"Authorization": f"Bearer {keys.add('bob', 'other', ['admin'])}"}
    async with worker_for(dev_server, settings, tmp_path), api_client(dev_client, keys, settings.task_queue) as http:
        assert (await http.post("/v1/runs", json={"goal": "write"})).status_code == 401
        assert (await http.post("/v1/runs", json={"goal": "write"}, headers=viewer)).status_code == 403
        named = await http.post("/v1/runs", json={"goal": "write", "tenant_id": "other"}, headers=alice)
        assert named.status_code == 422 and "identity" in named.text
        keyed = {**alice, "Idempotency-Key": f"k-{uuid.uuid4()}"}
        first = await http.post("/v1/runs", json={"goal": "write a file"}, headers=keyed)
        again = await http.post("/v1/runs", json={"goal": "write a file"}, headers=keyed)
        other = await http.post("/v1/runs", json={"goal": "something else"}, headers=keyed)
        assert first.status_code == again.status_code == 201 and first.json() == again.json()
        assert other.status_code == 409
        run_id = first.json()["id"]
        assert (await http.get(f"/v1/runs/{run_id}", headers=stranger)).status_code == 404
        assert (await http.get(f"/v1/runs/{run_id}", headers=viewer)).json()["goal"] == "write a file"

        seen = []
        async for event in _sse(http, f"/v1/runs/{run_id}/events", viewer):
            seen.append(event)
            body = json.loads(event["data"])
            if event["event"] == "approval_needed":
                url = f"/v1/runs/{run_id}/approvals/{body['call_id']}"
                assert (await http.post(url, json={"decision": "approve"}, headers=viewer)).status_code == 403
                assert (await http.post(url, json={"decision": "approve"}, headers=alice)).status_code == 200
                twice = await http.post(url, json={"decision": "approve"}, headers=alice)
                assert twice.status_code == 409 and "already decided" in twice.text
        decided = next(e for e in seen if e["event"] == "approval_decided")
        assert json.loads(decided["data"])["by"] == "alice"
        tail = [e async for e in _sse(http, f"/v1/runs/{run_id}/events", {**viewer, "Last-Event-ID": decided["id"]})]

        ended = [await http.post(f"/v1/runs/{run_id}/messages", json={"text": "late"}, headers=alice),
                 await http.post(f"/v1/runs/{run_id}/pause", headers=alice),
                 await http.post(f"/v1/runs/{run_id}/approvals/call-1-1", json={"decision": "reject"}, headers=alice)]
        assert [r.status_code for r in ended] == [409, 409, 409]
        assert all("the run has ended" in r.json()["detail"] for r in ended)
        huge = await http.post("/v1/runs", json={"goal": "x" * (2 << 20)}, headers=alice)
        assert huge.status_code == 413
        listed: dict = {}

        async def listed_completed() -> bool:
            listed.update((await http.get("/v1/runs", params={"status": "completed"}, headers=viewer)).json())
            return run_id in [r["id"] for r in listed["runs"]]

        await eventually(listed_completed, timeout_s=30, what="the completed run in the tenant's list")
        assert run_id not in [r["id"] for r in (await http.get("/v1/runs", headers=stranger)).json()["runs"]]
        assert (await http.get("/v1/runs", params={"status": "bogus"}, headers=viewer)).status_code == 422
    assert [int(e["id"]) for e in seen] == list(range(len(seen)))
    assert seen[-1]["event"] == "result" and json.loads(seen[-1]["data"])["message"] == "written"
    assert tail == seen[int(decided["id"]) + 1:]


async def test_controls_reach_the_run_and_keys_are_stored_as_digests(dev_server, dev_client, settings, tmp_path):
    data = tmp_path / "data"
    done = subprocess.run([sys.executable, "-m", "worker.api", "keys", "add", "ops", "--tenant", "acme", "--roles",
                           "start,view"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "AGENT_DATA_DIR": str(data)})
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    stored = b"".join(f.read_bytes() for f in data.glob("ledger.sqlite*"))
    assert key.startswith("dak_") and key.encode() not in stored and digest(key).encode() in stored
    ops = {"Authorization": f"Bearer {key}"}
    keys = identities_at(data)
    async with worker_for(dev_server, settings, tmp_path), api_client(dev_client, keys, settings.task_queue) as http:
        run_id = (await http.post("/v1/runs", json={"goal": "write"}, headers=ops)).json()["id"]
        states = []
        async for event in _sse(http, f"/v1/runs/{run_id}/events", ops):
            if event["event"] == "approval_needed":
                assert (await http.post(f"/v1/runs/{run_id}/messages", json={"text": "hurry"},
                                        headers=ops)).status_code == 202
                assert (await http.post(f"/v1/runs/{run_id}/nonsense", headers=ops)).status_code == 422
                assert (await http.post(f"/v1/runs/{run_id}/cancel", headers=ops)).status_code == 202
            if event["event"] == "status":
                states.append(json.loads(event["data"])["status"])
        final_state = (await http.get(f"/v1/runs/{run_id}", headers=ops)).json()
    assert states[-1] == "cancelled" and final_state["status"] == "cancelled"


async def test_the_list_is_the_tenants_own_and_pages(dev_client, settings, tmp_path):
    """Three runs of one tenant (no worker takes them: they wait), listed two per page."""
    keys = identities_at(tmp_path)
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    starter = {"Authorization": f"Bearer {keys.add('sam', tenant, ['start', 'view'])}"}
    started: list[str] = []
    try:
        async with api_client(dev_client, keys, settings.task_queue) as http:
            for n in range(3):
                started.append((await http.post("/v1/runs", json={"goal": f"goal {n}"}, headers=starter)).json()["id"])
            pages: list[dict] = []

            async def two_pages() -> bool:
                pages.clear()
                first = (await http.get("/v1/runs", params={"page_size": 2}, headers=starter)).json()
                pages.append(first)
                if first["next_page_token"] is None:
                    return False
                pages.append((await http.get("/v1/runs", params={"page_size": 2, "page_token": first["next_page_token"]},
                                             headers=starter)).json())
                return sorted(r["id"] for p in pages for r in p["runs"]) == sorted(started)

            await eventually(two_pages, timeout_s=30, what="the tenant's three runs over two pages")
            bad = await http.get("/v1/runs", params={"page_token": "%%%"}, headers=starter)
    finally:
        for run_id in started:
            await dev_client.get_workflow_handle(run_id).terminate("test over")
    assert [len(p["runs"]) for p in pages] == [2, 1] and pages[1]["next_page_token"] is None
    assert bad.status_code == 422


async def test_clients_following_one_run_share_one_subscription(dev_server, dev_client, settings, tmp_path):
    """Five browsers on one run cost the run one long poll, not five (each accepted poll is history); each
    gets every event once, and a sixth that joins late with Last-Event-ID gets the rest."""
    keys = identities_at(tmp_path)
    alice = {"Authorization": f"Bearer {keys.add('alice', 'acme', ['start', 'view', 'approve'])}"}
    async with worker_for(dev_server, settings, tmp_path), api_client(dev_client, keys, settings.task_queue) as http:
        run_id = (await http.post("/v1/runs", json={"goal": "write a file"}, headers=alice)).json()["id"]

        async def browser() -> list[dict]:
            seen = []
            async for event in _sse(http, f"/v1/runs/{run_id}/events", alice):
                seen.append(event)
                if event["event"] == "approval_needed":
                    await http.post(f"/v1/runs/{run_id}/approvals/call-1-1", json={"decision": "approve"}, headers=alice)
            return seen

        views = await asyncio.gather(*[browser() for _ in range(5)])
        late = [e async for e in _sse(http, f"/v1/runs/{run_id}/events", {**alice, "Last-Event-ID": "3"})]
        subscriptions = http.app_state.feeds.subscriptions
    assert all(view == views[0] for view in views) and views[0][-1]["event"] == "result"
    assert [int(e["id"]) for e in views[0]] == list(range(len(views[0])))
    assert late == views[0][4:]
    assert subscriptions == 2  # the five together, then the late one (the feed closed when the five left)


async def test_bad_input_is_named_and_starts_nothing(dev_client, settings, tmp_path):
    """A typo, a wrong type, broken JSON and an empty goal are 422s that name what is wrong; the
    published schema lists every route. None of these starts a run."""
    keys = identities_at(tmp_path)
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    auth = {"Authorization": f"Bearer {keys.add('sam', tenant, ['admin'])}"}
    async with api_client(dev_client, keys, settings.task_queue) as http:
        typo = await http.post("/v1/runs", json={"gaol": "write"}, headers=auth)
        wrong = await http.post("/v1/runs", json={"goal": "write", "budgets": {"max_steps": "many"}}, headers=auth)
        broken = await http.post("/v1/runs", content=b'{"goal": ', headers={**auth, "Content-Type": "application/json"})
        decision = await http.post("/v1/runs/api-x/approvals/c-1", json={"decision": "maybe"}, headers=auth)
        scripted = await http.post("/v1/runs", json={"goal": "g", "world": {"results": []}}, headers=auth)
        forever = await http.post("/v1/runs", json={"goal": "g", "approval_timeout_s": 1e15}, headers=auth)
        endless = await http.post("/v1/runs", content=b'{"goal": "g", "budgets": {"max_wall_time_s": Infinity}}',
                                  headers={**auth, "Content-Type": "application/json"})
        schema = (await http.get("/openapi.json")).json()
        listed = (await http.get("/v1/runs", headers=auth)).json()
    assert typo.status_code == 422 and ["body", "gaol"] in [e["loc"] for e in typo.json()["detail"]]
    assert wrong.status_code == 422 and ["body", "budgets", "max_steps"] in [e["loc"] for e in wrong.json()["detail"]]
    assert broken.status_code == 422 and "JSON" in broken.text
    assert decision.status_code == 422 and ["body", "decision"] in [e["loc"] for e in decision.json()["detail"]]
    assert scripted.status_code == 422 and "world" in scripted.json()["detail"]  # operators only: no scripted runs
    # A timer this long (or endless) would fail the run's workflow task on every attempt: refused up front.
    assert forever.status_code == 422 and ["body", "approval_timeout_s"] in [e["loc"] for e in forever.json()["detail"]]
    assert endless.status_code == 422
    assert {"/v1/runs", "/v1/runs/{run_id}", "/v1/runs/{run_id}/events", "/v1/runs/{run_id}/approvals/{call_id}",
            "/v1/runs/{run_id}/outcomes/{call_id}", "/v1/runs/{run_id}/messages"} <= set(schema["paths"])
    assert listed["runs"] == []


async def test_an_open_stream_ends_when_its_key_is_revoked(dev_server, dev_client, settings, tmp_path):
    """A stream outlives the request that opened it: revoking the key ends it, even while the run is quiet
    (waiting for a person), and the client's reconnect is refused."""
    keys = identities_at(tmp_path)
    key = keys.add("ops", "acme", ["start", "view"])
    ops = {"Authorization": f"Bearer {key}"}
    async with worker_for(dev_server, settings, tmp_path), \
            api_client(dev_client, keys, settings.task_queue, auth_recheck_s=0.5) as http:
        run_id = (await http.post("/v1/runs", json={"goal": "write"}, headers=ops)).json()["id"]
        seen = []
        async with asyncio.timeout(60):
            async for event in _sse(http, f"/v1/runs/{run_id}/events", ops):
                seen.append(event["event"])
                if event["event"] == "approval_needed":
                    assert keys.revoke("ops") == 1  # the run now waits: no event will come to wake the stream
        again = await http.get(f"/v1/runs/{run_id}/events", headers=ops)
    assert "approval_needed" in seen and "result" not in seen  # it ended early, without the run ending
    assert again.status_code == 401
