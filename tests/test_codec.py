"""Encryption at rest: payloads in Temporal history and blobs on disk are AES-256-GCM with rotating key
ids, a codec server shows them to whoever holds the key, and no provider API key reaches history or logs."""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from activities.context.blobs import LocalBlobStore
from activities.keyring import KeyRing, KeyRingError, load_keyring
from tests.conftest import make_worker, wire_model, write_models_file
from tests.processes import WorkerProcess, temporal
from tests.scripted import ScriptedModel, call, final
from tests.wire_server import ModelWireServer, final_answer
from worker.codec import ENCODING, KEY_ID, EncryptionCodec, data_converter
from worker.codec_server import CodecServer
from worker.main import WORKFLOWS
from worker.replay import replay
from worker.sandbox import workflow_runner
from worker.settings import Settings, SettingsError, load_settings
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunStatus
from workflows.contracts.base import blob_digest

OLD, NEW, OTHER = os.urandom(32), os.urandom(32), os.urandom(32)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def revealed(history_json: str) -> str:
    """The history text plus every base64 string in it decoded: payload data is base64 in `-o json`,
    so a plaintext goal would hide from a plain substring search."""
    parts = [history_json]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            try:
                parts.append(base64.b64decode(node, validate=True).decode("utf-8", "replace"))
            except ValueError:
                pass

    walk(json.loads(history_json))
    return "\n".join(parts)


def replayer(keys: KeyRing | None) -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=data_converter(keys), workflow_runner=workflow_runner(),
                    workflow_failure_exception_types=[ValidationError])


async def test_payloads_round_trip_encrypted_with_a_fresh_nonce_and_the_key_id():
    """Each payload is sealed whole (metadata too) under the active key id; equal inputs encrypt differently."""
    codec = EncryptionCodec(KeyRing({"2026-11": NEW}))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"goal": "orchid"}')
    first, second = await codec.encode([plain, plain])
    assert first.metadata["encoding"] == ENCODING and first.metadata[KEY_ID] == b"2026-11"
    assert b"orchid" not in first.SerializeToString() and first.data != second.data
    assert await codec.decode([first, second]) == [plain, plain]


async def test_old_key_ids_decode_after_rotation_and_plaintext_passes_through():
    """After adding a new active key, payloads under the old one still decode; unencrypted ones pass as they are."""
    old_payload = (await EncryptionCodec(KeyRing({"old": OLD})).encode([Payload(data=b"before")]))[0]
    rotated = EncryptionCodec(KeyRing({"new": NEW, "old": OLD}))
    new_payload = (await rotated.encode([Payload(data=b"after")]))[0]
    assert new_payload.metadata[KEY_ID] == b"new"
    legacy = Payload(metadata={"encoding": b"json/plain"}, data=b'"from a history recorded without encryption"')
    assert await rotated.decode([old_payload, new_payload, legacy]) == [Payload(data=b"before"), Payload(data=b"after"),
                                                                        legacy]


async def test_a_wrong_key_or_an_unknown_key_id_fails_with_a_clear_error():
    """The error names the key id and what to do, never key material."""
    sealed = (await EncryptionCodec(KeyRing({"k1": OLD})).encode([Payload(data=b"x")]))[0]
    with pytest.raises(KeyRingError, match="key id 'k1' does not decrypt: the configured key for 'k1' is not the one"):
        await EncryptionCodec(KeyRing({"k1": OTHER})).decode([sealed])
    with pytest.raises(KeyRingError, match=r"key id 'k1', which is not configured \(known: k2\); add that key") as e:
        await EncryptionCodec(KeyRing({"k2": OLD})).decode([sealed])
    assert b64(OLD) not in str(e.value)
    tampered = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(KeyRingError, match="or the data was altered"):
        await EncryptionCodec(KeyRing({"k1": OLD})).decode([tampered])


def test_key_files_parse_in_order_and_bad_ones_name_the_problem_not_the_key(tmp_path):
    """First entry active; comments and blank lines ignored; a short key, bad base64 or both sources refused."""
    path = tmp_path / "keys"
    path.write_text(f"# rotated monthly\nnew: {b64(NEW)}\n\nold: {b64(OLD)}  # keep until histories age out\n")
    ring = load_keyring(path=path)
    assert ring.active == "new" and ring.keys == {"new": NEW, "old": OLD}
    assert load_keyring(inline=f"a:{b64(NEW)},b:{b64(OLD)}").keys == {"a": NEW, "b": OLD}
    assert load_keyring() is None
    short = b64(os.urandom(16))
    with pytest.raises(KeyRingError, match="key 'k' is 16 bytes; AES-256 needs 32") as e:
        load_keyring(inline=f"k:{short}")
    assert short not in str(e.value)
    with pytest.raises(KeyRingError, match=f"{path}: key 'k' is not valid base64"):
        path.write_text("k: not*base64\n")
        load_keyring(path=path)
    with pytest.raises(KeyRingError, match="not both"):
        load_keyring(inline=f"a:{b64(NEW)}", path=path)
    with pytest.raises(SettingsError, match="AGENT_CODEC_KEYS: entry 1 is not `kid: base64key`"):
        load_settings({"AGENT_CODEC_KEYS": "just-a-key"})
    settings = load_settings({"AGENT_CODEC_KEYS": f"a:{b64(NEW)}"})
    assert b64(NEW) not in repr(settings) and settings.keyring().active == "a"


def test_blobs_are_encrypted_on_disk_named_by_plaintext_digest_and_survive_rotation(tmp_path):
    """The file holds no plaintext; the digest is the plaintext's; old-key and pre-encryption blobs still read."""
    plain_store = LocalBlobStore(tmp_path)
    legacy = plain_store.put(b"written before encryption was turned on")
    old_store = LocalBlobStore(tmp_path, KeyRing({"old": OLD}))
    digest = old_store.put(b"the secret orchid transcript")
    assert digest == blob_digest(b"the secret orchid transcript")
    assert b"orchid" not in old_store.path_of(digest).read_bytes()
    assert old_store.put(b"the secret orchid transcript") == digest  # idempotent under encryption too

    rotated = LocalBlobStore(tmp_path, KeyRing({"new": NEW, "old": OLD}))
    assert rotated.get_text(digest) == "the secret orchid transcript"
    assert rotated.get_text(legacy) == "written before encryption was turned on"
    with pytest.raises(KeyRingError, match="is encrypted and no keys are configured"):
        plain_store.get(digest)
    with pytest.raises(KeyRingError, match="key id 'old', which is not configured"):
        LocalBlobStore(tmp_path, KeyRing({"new": NEW})).get(digest)
    # Ciphertext moved under another digest's name does not open: the digest is authenticated with it.
    other = old_store.put(b"another blob")
    old_store.path_of(other).write_bytes(old_store.path_of(digest).read_bytes())
    with pytest.raises(KeyRingError, match="or the data was altered"):
        old_store.get(other)


async def test_goal_absent_from_raw_history_and_blobs_shown_by_codec_server_and_replays(dev_server, tmp_path,
                                                                                       monkeypatch):
    """A run under the codec: `temporal workflow show` without it has no goal text, with
    `--codec-endpoint` it has; blob files hold no goal; the history replays with rotated keys."""
    address = dev_server.config.address
    keys = KeyRing({"k1": OLD})
    settings = Settings(task_queue=f"tq-{uuid.uuid4()}", data_dir=tmp_path / "data",
                        codec_keys=SecretStr(f"k1:{b64(OLD)}"))
    client = await Client.connect(address, data_converter=data_converter(keys))
    secret = f"orchid-{uuid.uuid4().hex}"  # in the goal, a tool argument and so the stored transcript
    goal, answer = f"read the secret file {secret}.txt", f"orchid planted {uuid.uuid4().hex}"
    run_id = f"codec-{uuid.uuid4()}"
    async with make_worker(client, settings, ScriptedModel(call("read_file", path=f"{secret}.txt"), final(answer))):
        result = await client.execute_workflow(AgentRun.run, RunRequest(goal=goal), id=run_id,
                                               task_queue=settings.task_queue)
    assert result.status == RunStatus.COMPLETED and result.answer == answer

    raw = temporal(address, "workflow", "show", "-w", run_id, "-o", "json").stdout
    assert "YmluYXJ5L2VuY3J5cHRlZA==" in raw  # base64 of binary/encrypted: the payloads are there, sealed
    assert not any(text in revealed(raw) for text in (goal, secret, answer))

    server = CodecServer(keys, token="codec-token").start()
    try:
        shown = temporal(address, "workflow", "show", "-w", run_id, "-o", "json",
                         "--codec-endpoint", server.url, "--codec-auth", "Bearer codec-token").stdout
    finally:
        server.stop()
    assert all(text in revealed(shown) for text in (goal, secret, answer))

    blob_files = [p for p in (settings.data_dir / "blobs").rglob("*") if p.is_file()]
    assert blob_files, "the run stored no blobs: the on-disk check below would prove nothing"
    assert not any(secret.encode() in p.read_bytes() for p in blob_files)
    store = LocalBlobStore(settings.data_dir / "blobs", keys)
    assert any(secret in store.get_text(f"sha256:{p.parent.name}{p.name}") for p in blob_files)

    history = WorkflowHistory.from_json(run_id, raw)
    rotated = KeyRing({"k2": NEW, "k1": OLD})
    assert (await replayer(rotated).replay_workflow(history, raise_on_replay_failure=False)).replay_failure is None
    without = await replayer(None).replay_workflow(history, raise_on_replay_failure=False)
    assert without.replay_failure is not None  # the keys are what make it readable
    path = tmp_path / f"{run_id}.json"
    path.write_text(raw)
    monkeypatch.setenv("AGENT_CODEC_KEYS", f"k2:{b64(NEW)},k1:{b64(OLD)}")
    assert await replay([path]) == 0  # `python -m worker.replay` with the keys in the environment


def test_codec_server_speaks_the_protocol_with_cors_and_refuses_without_the_token():
    """POST .../decode under any prefix; CORS only for the given Web UI origin; 401 without the bearer token."""
    keys = KeyRing({"k1": OLD})
    sealed = EncryptionCodec(keys).encode_sync([Payload(metadata={"encoding": b"json/plain"}, data=b'"orchid"')])[0]
    body = {"payloads": [{"metadata": {k: base64.b64encode(v).decode() for k, v in sealed.metadata.items()},
                          "data": base64.b64encode(sealed.data).decode()}]}
    ui = "http://127.0.0.1:8233"
    server = CodecServer(keys, web_origins=[ui], token="t").start()
    try:
        auth = {"Authorization": "Bearer t", "X-Namespace": "default"}
        decoded = httpx.post(f"{server.url}/default/decode", json=body, headers={**auth, "Origin": ui})
        assert decoded.status_code == 200 and decoded.headers["access-control-allow-origin"] == ui
        [payload] = decoded.json()["payloads"]
        assert base64.b64decode(payload["data"]) == b'"orchid"'
        encoded = httpx.post(f"{server.url}/encode", json=decoded.json(), headers=auth).json()["payloads"]
        assert base64.b64decode(encoded[0]["metadata"]["encoding"]) == ENCODING
        preflight = httpx.options(f"{server.url}/decode", headers={"Origin": ui})
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        stranger = httpx.options(f"{server.url}/decode", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers
        assert httpx.post(f"{server.url}/decode", json=body).status_code == 401
    finally:
        server.stop()
    wrong = CodecServer(KeyRing({"k1": OTHER})).start()
    try:
        refused = httpx.post(f"{wrong.url}/decode", json=body)
        assert refused.status_code == 400 and "key id 'k1' does not decrypt" in refused.text
    finally:
        wrong.stop()


async def test_no_provider_api_key_in_history_or_worker_logs(dev_server, dev_client, tmp_path):
    """A run through a hosted-model entry whose key is set: the key string is in neither the history
    (payloads decoded) nor the worker's debug log."""
    api_key = f"sk-test-{uuid.uuid4().hex}"
    queue, run_id, goal = f"tq-{uuid.uuid4()}", f"secrets-{uuid.uuid4()}", f"say hello {uuid.uuid4().hex}"
    with ModelWireServer(final_answer("hello")) as model:
        models = write_models_file(tmp_path / "models.yaml", wire_model("hosted", model, api_key_env="OPENAI_API_KEY"))
        worker = WorkerProcess(dev_server.config.address, queue, tmp_path / "data", model.base_url)
        worker.env.update(AGENT_MODELS_FILE=str(models), OPENAI_API_KEY=api_key, AGENT_LOG_LEVEL="debug")
        with worker:
            result = await dev_client.execute_workflow(AgentRun.run, RunRequest(goal=goal), id=run_id,
                                                       task_queue=queue)
    assert result.status == RunStatus.COMPLETED and result.answer == "hello"
    assert model.requests, "the hosted model was never called: the scan would prove nothing"
    history = revealed(temporal(dev_server.config.address, "workflow", "show", "-w", run_id, "-o", "json").stdout)
    assert goal in history  # the scan sees payload contents
    log = Path(worker.log_path).read_text()
    assert "worker.start" in log
    assert api_key not in history and api_key not in log


async def test_failure_messages_and_stack_traces_are_encrypted_too():
    """An error that quotes the goal leaves only 'Encoded failure' in history; the codec restores it."""
    converter = data_converter(KeyRing({"k1": OLD}))
    failure = Failure()
    try:
        raise ApplicationError("could not read orchid.txt")
    except ApplicationError as e:
        await converter.encode_failure(e, failure)
    assert b"orchid" not in failure.SerializeToString() and failure.message == "Encoded failure"
    assert str(await converter.decode_failure(failure)) == "could not read orchid.txt"
