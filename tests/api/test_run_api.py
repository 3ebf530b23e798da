"""The run API on a real uvicorn server, over HTTP, against the real dev server and worker (WIP)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import uvicorn

from tests.conftest import make_worker
from tests.scripted import ScriptedModel, call, final
from worker.api.app import create_app
from worker.api.identities import KeyFile
from worker.devserver import free_port
from worker.settings import REPO_ROOT


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


async def test_start_follow_and_approve_over_http(dev_client, settings, tmp_path):
    keys = KeyFile(tmp_path / "keys.yaml")
    alice = {"Authorization": f"Bearer {keys.add('alice', 'acme', ['start', 'view', 'approve'])}"}
    viewer = {"Authorization": f"Bearer {keys.add('vic', 'acme', ['view'])}"}
    stranger = {"Authorization": f"Bearer {keys.add('bob', 'other', ['admin'])}"}
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(dev_client, keys, settings.task_queue), port=port,
                                           log_level="warning"))
    serving = asyncio.create_task(server.serve())
    model = ScriptedModel(call("write_file", path="out.txt", content="x"), final("written"))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with make_worker(dev_client, settings, model), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.post("/v1/runs", json={"goal": "write"})).status_code == 401
            assert (await http.post("/v1/runs", json={"goal": "write"}, headers=viewer)).status_code == 403
            named = await http.post("/v1/runs", json={"goal": "write", "tenant_id": "other"}, headers=alice)
            assert named.status_code == 422 and "identity" in named.text
            keyed = {**alice, "Idempotency-Key": "k-1"}
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
    finally:
        server.should_exit = True
        await serving
    assert [int(e["id"]) for e in seen] == list(range(len(seen)))
    assert seen[-1]["event"] == "result" and json.loads(seen[-1]["data"])["message"] == "written"
    assert tail == seen[int(decided["id"]) + 1:]


async def test_controls_reach_the_run_and_keys_are_stored_as_digests(dev_client, settings, tmp_path):
    keys_file = tmp_path / "keys.yaml"
    done = subprocess.run([sys.executable, "-m", "worker.api", "keys", "add", "ops", "--tenant", "acme", "--roles",
                           "start,view"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "AGENT_API_KEYS_FILE": str(keys_file)})
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert key.startswith("dak_") and key not in keys_file.read_text()
    ops = {"Authorization": f"Bearer {key}"}
    keys = KeyFile(keys_file)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(dev_client, keys, settings.task_queue), port=port,
                                           log_level="warning"))
    serving = asyncio.create_task(server.serve())
    model = ScriptedModel(call("write_file", path="out.txt", content="x"), final("written"))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with make_worker(dev_client, settings, model), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
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
    finally:
        server.should_exit = True
        await serving
    assert states[-1] == "cancelled" and final_state["status"] == "cancelled"
