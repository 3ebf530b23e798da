"""`python -m worker.api`: serve the run API; `keys` and `approvers` manage who may use it.

    python -m worker.api [--host 127.0.0.1] [--port 8700]
    python -m worker.api keys add alice --tenant acme --roles start,view,approve   # prints the key once
    python -m worker.api keys revoke alice
    python -m worker.api approvers add alice --tenant acme [--max-risk 4]   # the API may sign alice's approvals

Keys (as digests) live in the ledger's database (AGENT_LEDGER_URL, or SQLite in the data dir), the OIDC
settings in AGENT_API_OIDC_FILE (default <data dir>/api-oidc.yaml), the API's approver key in AGENT_API_SIGNING_KEY (default <data dir>/api-signing-key.pem, made on first
use). The API reaches Temporal and the task queue as the worker does (TEMPORAL_ADDRESS, AGENT_TASK_QUEUE,
TEMPORAL_TLS*, TEMPORAL_API_KEY).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import socket
import sys

import uvicorn

from activities.ledger import open_ledger
from worker import cli
from worker.api.app import TEMPORAL_RETRY, create_app
from worker.api.identities import Identities, IdentitiesError, load_oidc
from worker.api.roles import ROLES
from worker.api.signer import ApiSigner
from worker.approver_keys import KeyFileError as SigningKeyError
from worker.approver_keys import add_approver
from worker.client import TemporalConnectError, connect
from worker.settings import Settings, SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = cli.Parser(prog="python -m worker.api", description="the run API")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="serve the API (the default)")
    for p in (parser, serve):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8700)
    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="keys_command", required=True)
    add = keys.add_parser("add", help="make a key: printed once, stored as a digest")
    add.add_argument("name")
    add.add_argument("--tenant", required=True)
    add.add_argument("--roles", required=True, help=f"comma-separated: {', '.join(ROLES)}")
    keys.add_parser("revoke", help="remove every key of NAME (counts at once, in every replica)").add_argument("name")
    approvers = sub.add_parser("approvers", help="whom the API may sign approvals for")
    listed = approvers.add_subparsers(dest="approvers_command", required=True).add_parser(
        "add", help="list NAME in the approvers file under the API's key")
    listed.add_argument("name")
    listed.add_argument("--tenant", required=True, action="append", dest="tenants",
                        help="a tenant whose runs NAME may approve (repeatable; '*' for every tenant)")
    listed.add_argument("--max-risk", type=int, default=4, choices=range(5))
    return parser


def _manage(args: argparse.Namespace, settings: Settings, key_file: Identities) -> int:
    if args.command == "keys" and args.keys_command == "add":
        print(key_file.add(args.name, args.tenant, [r for r in args.roles.split(",") if r]))
    elif args.command == "keys":
        if not key_file.revoke(args.name):
            print(f"api: no key named {args.name!r}", file=sys.stderr)
            return 1
        print(f"revoked {args.name}'s keys")
    else:
        signer = ApiSigner.load_or_create(settings.api_signing_key_path, settings.approvers_path)
        add_approver(settings.approvers_path, args.name, signer.key, max_risk=args.max_risk, tenants=args.tenants)
        print(f"{settings.approvers_path}: the run API may now sign approvals for {args.name} in "
              f"{', '.join(args.tenants)} (max_risk {args.max_risk}); edit the entry's tools to narrow it")
    return 0


def _port_problem(host: str, port: int) -> str | None:
    """Why the API could not listen on host:port, checked before anything is started (uvicorn would say it
    only after connecting to Temporal, in a log line)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            # As uvicorn binds: connections of a previous server in TIME_WAIT do not block it, a listener does.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            return (f"{host}:{port} is in use (another API, or `up` running?): stop it, or pass --port "
                    "(and set AGENT_API_URL for `up` and the agent CLI)")
        return f"cannot listen on {host}:{port}: {e.strerror}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        key_file = Identities(open_ledger(settings.ledger_url or settings.ledger_path),
                              load_oidc(settings.api_oidc_path) if args.command is None or args.command == "serve" else None)
        if args.command in ("keys", "approvers"):
            return _manage(args, settings, key_file)
        signer = ApiSigner.load_or_create(settings.api_signing_key_path, settings.approvers_path)
    except (SettingsError, IdentitiesError, SigningKeyError) as e:
        print(f"api: {e}", file=sys.stderr)
        return 2
    if problem := _port_problem(args.host, args.port):
        print(f"api: {problem}", file=sys.stderr)
        return 2

    async def run() -> None:
        client = await connect(settings.temporal_address, settings.namespace, tls=settings.temporal_tls(),
                               api_key=settings.api_key.get_secret_value() if settings.api_key else None,
                               retry_config=TEMPORAL_RETRY)
        workspaces = settings.workspaces if settings.workspace_kind == "local" else None
        app = create_app(client, key_file, settings.task_queue, signer, workspaces)
        oidc = f"; OIDC tokens of {key_file.oidc.config.issuer}" if key_file.oidc else ""
        print(f"API: http://{args.host}:{args.port}/v1 (OpenAPI: /openapi.json, docs: /docs){oidc}; "
              f"console: http://{args.host}:{args.port}/console", flush=True)
        await uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")).serve()

    try:
        asyncio.run(run())
    except TemporalConnectError as e:
        print(f"api: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
