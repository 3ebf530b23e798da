"""The run API in the dev stack: `up` starts `python -m worker.api` beside the worker, with a local identity.

The local identity `local` (tenant `default`, role admin) has one key, made once. Unlike production keys
it is also kept in the data dir (mode 0600), so `up` can print it every time and the `agent` CLI can
be used at once. The approvers file (the dev default only) lists `local` under the API's key, so the
API may sign its approvals of risk 3-4 calls, as `python -m worker.api approvers add` does elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from activities.ledger import open_ledger
from worker.api.identities import Identities
from worker.api.signer import ApiSigner
from worker.approver_keys import add_approver
from worker.devserver import port_open
from worker.lifetime import die_with_parent
from worker.settings import REPO_ROOT, Settings

LOCAL_IDENTITY = "local"
TOKEN_FILE = "api-local.token"


def local_token(settings: Settings) -> str:
    """The local identity's key: the one kept in the data dir while the ledger still knows it."""
    kept = settings.data_dir / TOKEN_FILE
    keys = Identities(open_ledger(settings.ledger_url or settings.ledger_path))
    if kept.exists() and keys.knows(kept.read_text().strip()):
        return kept.read_text().strip()
    token = keys.add(LOCAL_IDENTITY, "default", ["admin"])
    kept.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def list_local_approver(settings: Settings) -> None:
    """Let the API sign approvals for `local` (only in the dev stack's own approvers file)."""
    if settings.approvers_file is not None:
        return
    signer = ApiSigner.load_or_create(settings.api_signing_key_path, settings.approvers_path)
    if not signer.signs_for_name(LOCAL_IDENTITY):
        add_approver(settings.approvers_path, LOCAL_IDENTITY, signer.key, tenants=["default"])


def start_api(settings: Settings, env: dict[str, str], log: Path) -> subprocess.Popen | None:
    """`python -m worker.api` where AGENT_API_URL says; None when something already listens there (an API
    kept running)."""
    url = urlparse(settings.api_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    if port_open(host, port):
        return None
    return subprocess.Popen([sys.executable, "-m", "worker.api", "--host", host, "--port", str(port)], env=env,
                            cwd=REPO_ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=die_with_parent())
