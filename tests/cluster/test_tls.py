"""Connecting to a cluster over TLS and mutual TLS (a local TLS endpoint in front of the dev server), and
the one-line errors for a bad certificate, a wrong CA, a missing client certificate or a mismatched key."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.cluster.tls_endpoint import TLSEndpoint, issue, make_ca
from worker.client import TemporalConnectError, connect
from worker.settings import REPO_ROOT, SettingsError, load_settings


@pytest.fixture
def pki(tmp_path):
    ca, ca_key, ca_cert = make_ca(tmp_path, "cluster-ca")
    other, other_key, other_cert = make_ca(tmp_path, "other-ca")
    return {
        "ca": ca, "other_ca": other,
        "server": issue(tmp_path, "server", ca_key, ca_cert, server=True),
        "client": issue(tmp_path, "worker", ca_key, ca_cert, server=False),
        "stranger": issue(tmp_path, "stranger", other_key, other_cert, server=False),
    }


def _env(pki, **extra) -> dict[str, str]:
    return {"TEMPORAL_TLS_CA": str(pki["ca"].cert), "TEMPORAL_TLS_CERT": str(pki["client"].cert),
            "TEMPORAL_TLS_KEY": str(pki["client"].key), "TEMPORAL_TLS_SERVER_NAME": "localhost", **extra}


async def test_mutual_tls_connects_and_serves_the_api(dev_server, pki):
    """With the cluster's CA and a client certificate it signed, the worker's client speaks gRPC over TLS."""
    settings = load_settings(_env(pki))
    with TLSEndpoint(dev_server.config.address, pki["server"], client_ca=pki["ca"].cert) as endpoint:
        client = await connect(endpoint.address, tls=settings.temporal_tls())
        assert (await client.count_workflows()).count >= 0


async def test_a_server_signed_by_another_ca_is_refused_in_one_line(dev_server, pki):
    settings = load_settings(_env(pki, TEMPORAL_TLS_CA=str(pki["other_ca"].cert)))
    with TLSEndpoint(dev_server.config.address, pki["server"]) as endpoint:
        with pytest.raises(TemporalConnectError) as refused:
            await connect(endpoint.address, tls=settings.temporal_tls())
    message = str(refused.value)
    assert "\n" not in message and "TEMPORAL_TLS_CA" in message and endpoint.address in message


async def test_a_client_without_an_accepted_certificate_is_refused(dev_server, pki):
    """mTLS: no client certificate, or one from another CA, never reaches the API."""
    with TLSEndpoint(dev_server.config.address, pki["server"], client_ca=pki["ca"].cert) as endpoint:
        for env in ({"TEMPORAL_TLS_CA": str(pki["ca"].cert), "TEMPORAL_TLS_SERVER_NAME": "localhost"},
                    _env(pki, TEMPORAL_TLS_CERT=str(pki["stranger"].cert), TEMPORAL_TLS_KEY=str(pki["stranger"].key))):
            with pytest.raises(TemporalConnectError) as refused:
                client = await connect(endpoint.address, tls=load_settings(env).temporal_tls())
                await client.count_workflows()  # a lazy handshake would fail here instead
            assert "\n" not in str(refused.value) and "TLS" in str(refused.value)


def test_bad_files_stop_the_settings_in_one_line(pki, tmp_path):
    """Each names the variable and the file: not PEM, a key that is not the certificate's, half a pair."""
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    cases = {
        "TEMPORAL_TLS_CA": _env(pki, TEMPORAL_TLS_CA=str(garbage)),
        "is not the key of the certificate": _env(pki, TEMPORAL_TLS_KEY=str(pki["stranger"].key)),
        "TEMPORAL_TLS_KEY is not set": {"TEMPORAL_TLS_CERT": str(pki["client"].cert)},
        "cannot read": _env(pki, TEMPORAL_TLS_CERT=str(tmp_path / "missing.crt")),
    }
    for expected, env in cases.items():
        with pytest.raises(SettingsError) as refused:
            load_settings(env)
        assert expected in str(refused.value) and "\n" not in str(refused.value), expected


def test_the_worker_exits_with_one_line_on_a_bad_key(pki, tmp_path):
    """`python -m worker` with a mismatched key: exit 2 and one line on stderr, before connecting anywhere."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "AGENT_DATA_DIR": str(tmp_path / "data"),
           **_env(pki, TEMPORAL_TLS_KEY=str(pki["stranger"].key))}
    done = subprocess.run([sys.executable, "-m", "worker"], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "TEMPORAL_TLS_KEY" in lines[0], done.stderr
