"""`python -m worker.api`: serve the run API; `python -m worker.api keys add NAME ...`: make a key.

    python -m worker.api [--host 127.0.0.1] [--port 8700]
    python -m worker.api keys add alice --tenant acme --roles start,view,approve

Keys live (as digests) in AGENT_API_KEYS_FILE, default <data dir>/api-keys.yaml. The API reaches
Temporal and the task queue as the worker does (TEMPORAL_ADDRESS, AGENT_TASK_QUEUE).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import uvicorn

from worker.api.app import create_app
from worker.api.identities import KeyFile, KeyFileError
from worker.client import TemporalConnectError, connect
from worker.settings import SettingsError, load_settings


def _keys_path(data_dir: Path) -> Path:
    return Path(os.environ.get("AGENT_API_KEYS_FILE") or data_dir / "api-keys.yaml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker.api", description="the run API")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="serve the API (the default)")
    for p in (parser, serve):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8700)
    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="keys_command", required=True)
    add = keys.add_parser("add", help="make a key: printed once, stored as a digest")
    add.add_argument("name")
    add.add_argument("--tenant", required=True)
    add.add_argument("--roles", required=True, help="comma-separated: start, view, approve, admin")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        key_file = KeyFile(_keys_path(settings.data_dir))
    except (SettingsError, KeyFileError) as e:
        print(f"api: {e}", file=sys.stderr)
        return 2
    if args.command == "keys":
        try:
            key = key_file.add(args.name, args.tenant, [r for r in args.roles.split(",") if r])
        except KeyFileError as e:
            print(f"api: {e}", file=sys.stderr)
            return 2
        print(key)
        return 0

    async def run() -> None:
        client = await connect(settings.temporal_address, settings.namespace)
        app = create_app(client, key_file, settings.task_queue)
        print(f"API: http://{args.host}:{args.port}/v1 (OpenAPI: /docs); keys in {key_file.path}", flush=True)
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
