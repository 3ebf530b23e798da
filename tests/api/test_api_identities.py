"""Who may use the run API, tried from outside: OIDC tokens against a JWKS served over real HTTP (forged,
expired, for another audience, signed with the key as an HMAC secret, from an unreachable provider),
keys revoked while the API serves, and approvals of a risk-4 call made over HTTP: refused to the
requester, to a person the approvers file does not list for the API and to a viewer; run once for a
listed approver, whose name and proof are in the run's audit trail.

The worker is `python -m worker` with a model server that decides from the request it receives.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, generate_private_key

from activities.ledger import open_ledger
from tests.api.test_run_api import _sse, api_client, identities_at
from tests.conftest import eventually
from tests.processes import WorkerProcess
from tests.wire_server import ModelWireServer, tool_then_answer
from worker.api.identities import Identities, load_oidc
from worker.api.signer import ApiSigner
from worker.approver_keys import add_approver
from worker.devserver import free_port
from workflows.agent_run import AgentRun
from workflows.contracts import RunState

ISSUER, AUDIENCE = "https://login.example.test/", "agent-api"


class Jwks:
    """An identity provider's key endpoint on loopback, serving the public half of `keys`."""

    def __init__(self, keys: dict[str, RSAPrivateKey]) -> None:
        self.fetches = 0
        self.serve(keys)
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.fetches += 1
                body = jwks.body
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, keys: dict[str, RSAPrivateKey]) -> None:
        """Serve these keys from now on (a provider rotating its keys)."""
        self.body = json.dumps({"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())),
                                          "kid": kid, "use": "sig", "alg": "RS256"} for kid, k in keys.items()]}).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def token(key: RSAPrivateKey, kid: str = "k1", **claims: object) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u-1", "tenant": "acme", "roles": ["view"], "iat": now,
            "exp": now + 300, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="RS256", headers={"kid": kid})


def hs256(claims: dict, secret: bytes) -> str:
    """A token MACed with `secret`, made by hand: PyJWT itself refuses to use a public key as a secret."""
    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode()) + "." + part(
        json.dumps(claims).encode())
    return signing_input + "." + part(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def identities_file(path, jwks_url: str):
    path.write_text(yaml.safe_dump({"oidc": {"issuer": ISSUER, "audience": AUDIENCE, "jwks_url": jwks_url}}))
    return Identities(open_ledger(path.parent / "ledger.sqlite"), load_oidc(path))


async def test_oidc_tokens_are_verified_against_the_providers_keys(dev_client, settings, tmp_path):
    signing, stranger_key = generate_private_key(65537, 2048), generate_private_key(65537, 2048)
    jwks = Jwks({"k1": signing})
    keys = identities_file(tmp_path / "ids.yaml", jwks.url)
    plain = keys.add("ops", "acme", ["view"])
    try:
        async with api_client(dev_client, keys, settings.task_queue) as http:
            async def status(credential: str, method: str = "GET") -> int:
                auth = {"Authorization": f"Bearer {credential}"}
                if method == "POST":
                    return (await http.post("/v1/runs", json={"goal": "g"}, headers=auth)).status_code
                return (await http.get("/v1/runs", headers=auth)).status_code

            assert await status(token(signing)) == 200
            assert await status(plain) == 200  # API keys still work beside OIDC
            assert await status(token(signing)) == 200 and await status(token(signing), "POST") == 403  # a viewer
            public_pem = signing.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo)
            hmac_forgery = hs256({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "tenant": "acme", "roles": ["admin"],
                                  "exp": int(time.time()) + 300}, public_pem)
            forged = {
                "expired": token(signing, exp=int(time.time()) - 120),
                "another audience": token(signing, aud="someone-else"),
                "another issuer": token(signing, iss="https://evil.example.test/"),
                "signed by a stranger under a known kid": token(stranger_key),
                "an unknown kid": token(stranger_key, kid="k9"),
                "no tenant": token(signing, tenant=None),
                "the public key as an HMAC secret": hmac_forgery,
                "not a token": "hello",
            }
            for what, credential in forged.items():
                assert await status(credential) == 401, what
    finally:
        jwks.close()
    # A provider nobody can reach: no token can be checked, which is the API's outage, not the caller's fault.
    provider = f"127.0.0.1:{free_port()}"
    unreachable = identities_file(tmp_path / "down.yaml", f"http://{provider}/jwks.json")
    async with api_client(dev_client, unreachable, settings.task_queue) as http:
        down = await http.get("/v1/runs", headers={"Authorization": f"Bearer {token(signing)}"})
    assert down.status_code == 503 and down.headers["Retry-After"] and "identity provider" in down.text
    # The fetch error (address, socket error) is in the API's log, under the reference the caller gets.
    assert provider not in down.text and "Connection refused" not in down.text and "reference " in down.text


async def test_made_up_key_ids_do_not_make_the_api_fetch_the_providers_keys_each_time(monkeypatch):
    """Tokens naming key ids nobody issued are refused without a fetch per request: the keys are fetched
    again at most every REFETCH_MIN_S, which still lets a provider rotate to a new key."""
    from worker.api import oidc

    signing, rotated = generate_private_key(65537, 2048), generate_private_key(65537, 2048)
    jwks = Jwks({"k1": signing})
    monkeypatch.setattr(oidc, "REFETCH_MIN_S", 1.0)
    verifier = oidc.OidcVerifier(oidc.OidcConfig(issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks.url))
    try:
        assert (await verifier.identify(token(signing))).tenant == "acme"
        assert jwks.fetches == 1
        made_up = [await verifier.identify(token(signing, kid=f"made-up-{n}")) for n in range(50)]
        assert made_up == [None] * 50 and jwks.fetches <= 3, jwks.fetches
        jwks.serve({"k1": signing, "k2": rotated})  # the provider rotates

        async def rotated_key_accepted() -> bool:
            identity = await verifier.identify(token(rotated, kid="k2"))
            return identity is not None and identity.tenant == "acme"

        await eventually(rotated_key_accepted, timeout_s=10, what="a token signed with the rotated key")
        assert jwks.fetches <= 5, jwks.fetches
    finally:
        jwks.close()


async def test_a_revoked_key_is_refused_at_once_and_an_unknown_one_never_works(dev_client, settings, tmp_path):
    keys = identities_at(tmp_path)
    key = keys.add("ci-bot", "acme", ["view"])
    served = identities_at(tmp_path)  # the API's own connection, as another replica's: it must see the revocation
    async with api_client(dev_client, served, settings.task_queue) as http:
        auth = {"Authorization": f"Bearer {key}"}
        assert (await http.get("/v1/runs", headers=auth)).status_code == 200
        assert keys.revoke("ci-bot") == 1
        refused = await http.get("/v1/runs", headers=auth)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
        guessed = await http.get("/v1/runs", headers={"Authorization": "Bearer dak_" + "A" * 43})
        assert guessed.status_code == 401 and "unknown or revoked key" in guessed.json()["detail"]


async def test_a_risk_4_approval_over_http_is_bound_to_a_listed_approver(dev_server, dev_client, tmp_path):
    address, queue = dev_server.config.address, f"tq-{uuid.uuid4()}"
    data, approvers = tmp_path / "data", tmp_path / "approvers.yaml"
    signer = ApiSigner.load_or_create(tmp_path / "api-signing.pem", approvers)
    for name in ("alice", "bob"):  # the API may sign for them, for anything; a run reads the file once
        add_approver(approvers, name, signer.key, max_risk=4)
    add_approver(approvers, "carol", signer.key, tenants=["other"])  # another tenant's carol, not acme's
    keys = identities_at(tmp_path)
    people = {name: {"Authorization": f"Bearer {keys.add(name, 'acme', roles)}"} for name, roles in {
        "alice": ["start", "view", "approve"], "bob": ["approve", "view"], "carol": ["approve", "view"],
        "vic": ["view"], "eve": ["admin"]}.items()}
    keys.add("mallory", "other", ["admin"])
    responder = tool_then_answer("transfer_funds", {"to": "bob", "amount_cents": 500}, "paid")
    with ModelWireServer(responder) as model, WorkerProcess(address, queue, data, model.base_url,
                                                            tool_modules="tests.governed_tools",
                                                            env={"AGENT_APPROVERS_FILE": str(approvers)}):
        async with api_client(dev_client, keys, queue, signer) as http:
            run_id = (await http.post("/v1/runs", json={"goal": "pay bob 5"}, headers=people["alice"])).json()["id"]
            handle = dev_client.get_workflow_handle(run_id)

            async def waiting() -> bool:
                return bool((await handle.query(AgentRun.state)).pending_approvals)

            await eventually(waiting, timeout_s=60, what="the transfer to wait for approval")
            url = f"/v1/runs/{run_id}/approvals/call-1-1"
            approve = {"decision": "approve", "comment": "invoice 42"}
            viewer = await http.post(url, json=approve, headers=people["vic"])
            unlisted = await http.post(url, json=approve, headers=people["carol"])
            # eve is an admin of the tenant, yet not an approver of risky calls: the approvers file decides.
            admin = await http.post(url, json=approve, headers=people["eve"])
            assert viewer.status_code == 403 and unlisted.status_code == 403 and admin.status_code == 403
            assert "approvers add carol --tenant acme" in unlisted.json()["detail"]
            assert "risk 4" in unlisted.json()["detail"]
            requester = await http.post(url, json=approve, headers=people["alice"])  # listed, yet she asked for it
            assert requester.status_code == 409 and "requested this run" in requester.json()["detail"]
            assert (await http.post(url, json=approve, headers={"Authorization": "Bearer nope"})).status_code == 401
            ok = await http.post(url, json=approve, headers=people["bob"])
            assert ok.status_code == 200 and "as verified approver 'bob'" in ok.json()["result"]
            again = await http.post(url, json=approve, headers=people["bob"])
            assert again.status_code == 409 and "already decided" in again.json()["detail"]
            events = [e async for e in _sse(http, f"/v1/runs/{run_id}/events", people["vic"])]
        state = await handle.query(AgentRun.state, result_type=RunState)
    decided = next(json.loads(e["data"]) for e in events if e["event"] == "approval_decided")
    assert decided["by"] == "bob" and decided["verified"] is True and decided["proof"] == "API key 'bob'"
    [record] = state.approvals
    assert (record.by, record.verified, record.proof, record.comment) == ("bob", True, "API key 'bob'", "invoice 42")
    assert state.result is not None and state.result.answer == "paid"
    effects = list((data / "workspaces").glob("*/effects.log"))
    assert [p.read_text() for p in effects] == ["transfer bob 500\n"]  # paid once, by bob's approval
