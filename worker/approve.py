"""`python -m worker.approve`: sign an approval with an approver's key and send it.

    python -m worker.approve RUN CALL_ID --key FILE [--comment TEXT] [--arguments JSON]
    python -m worker.approve RUN --all --key FILE
    python -m worker.approve RUN CALL_ID --key FILE --print    # the signed JSON, for `temporal workflow update execute`
    python -m worker.approve keygen --key FILE --name NAME [--approvers FILE]

It reads the pending call from the run's `state` query (its arguments hash), signs the canonical
message of workflows/approval_signatures.py with the key, and sends the `approve` (or `approve_all`)
update. A refusal (unsigned, wrong key, expired, not permitted, already decided) prints the run's
reason and exits 1. The approver's name is `--approver`, or the name the approvers file gives this key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.service import RPCError

from worker import cli
from worker.approver_keys import KeyFileError, add_approver, approver_named_by, create_key, load_key
from worker.client import connect
from worker.settings import load_settings
from workflows.approval_signatures import approval_message, public_key_text, sign, signed_call
from workflows.contracts import ApproveAllInput, ApproveInput, RunState

DEFAULT_TTL_S = 900


class Refused(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = cli.Parser(prog="python -m worker.approve", description="Sign and send an approval.")
    p.add_argument("run", help="the run's workflow id")
    p.add_argument("call_id", nargs="?", help="the pending tool call id (from the state query)")
    p.add_argument("--all", action="store_true", help="approve every pending call of the run (approve_all)")
    p.add_argument("--key", type=Path, required=True, help="the approver's Ed25519 private key (PEM)")
    p.add_argument("--approver", help="approver name; default: the name the approvers file gives this key")
    p.add_argument("--comment")
    p.add_argument("--arguments", help="edit before approving: the JSON arguments that will run")
    p.add_argument("--ttl", type=int, default=DEFAULT_TTL_S, help="seconds until the signature lapses")
    p.add_argument("--print", action="store_true", dest="print_only",
                   help="print the signed update input instead of sending it")
    p.add_argument("--address", help="Temporal address (default: TEMPORAL_ADDRESS or localhost:7233)")
    return p


def _keygen(argv: list[str]) -> int:
    p = cli.Parser(prog="python -m worker.approve keygen", description="Create an approver key.")
    p.add_argument("--key", type=Path, required=True, help="where to write the private key (never overwritten)")
    p.add_argument("--name", required=True, help="the approver's name in the approvers file")
    p.add_argument("--approvers", type=Path, help="also add the public key to this approvers file")
    args = p.parse_args(argv)
    if args.key.exists():
        print(f"{args.key} exists; not overwriting a key", file=sys.stderr)
        return 1
    key = create_key(args.key)
    if args.approvers:
        add_approver(args.approvers, args.name, key)
        print(f"added {args.name} to {args.approvers}")
    print(f"approvers:\n  {args.name}:\n    public_key: {public_key_text(key)}\n    max_risk: 4")
    return 0


async def _approve(args: argparse.Namespace) -> str:
    settings = load_settings()
    key = load_key(args.key)
    approver = args.approver or approver_named_by(settings.approvers_path, key)
    if approver is None:
        raise Refused(f"{settings.approvers_path} lists no approver with this key; pass --approver NAME")
    client = await connect(args.address or settings.temporal_address, settings.namespace, tls=settings.temporal_tls(),
                           api_key=settings.api_key.get_secret_value() if settings.api_key else None)
    handle = client.get_workflow_handle(args.run)
    state = await handle.query("state", result_type=RunState)
    pending = {p.tool_call_id: p for p in state.pending_approvals}
    scope = state.approval_scope or args.run  # the run chain the signature binds (older runs: the workflow id)
    expires_at = (datetime.now(UTC) + timedelta(seconds=args.ttl)).replace(microsecond=0)
    input: ApproveAllInput | ApproveInput
    if args.all:
        if not pending:
            raise Refused(f"run {args.run} has no pending approvals")
        ids = sorted(pending)
        message = approval_message(scope, approver, expires_at, [signed_call(pending[i]) for i in ids])
        update, input = "approve_all", ApproveAllInput(approver=approver, comment=args.comment, tool_call_ids=ids,
                                                       expires_at=expires_at, signature=sign(key, message))
    else:
        if args.call_id not in pending:
            raise Refused(f"run {args.run} has no pending approval {args.call_id!r} (pending: "
                          f"{', '.join(sorted(pending)) or 'none'})")
        edited = json.loads(args.arguments) if args.arguments else None
        message = approval_message(scope, approver, expires_at, [signed_call(pending[args.call_id], edited)])
        update, input = "approve", ApproveInput(tool_call_id=args.call_id, approver=approver, comment=args.comment,
                                                arguments=edited, expires_at=expires_at, signature=sign(key, message))
    if args.print_only:
        return json.dumps(input.model_dump(mode="json", exclude_none=True))
    try:
        reply = await handle.execute_update(update, input, result_type=list[str] if args.all else str)
    except WorkflowUpdateFailedError as e:
        raise Refused(f"refused: {getattr(e.cause, 'message', None) or e.cause or e}") from e
    return f"approved {', '.join(reply)} as verified approver {approver!r}" if args.all else reply


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["keygen"]:
        return _keygen(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if args.all == bool(args.call_id):
        parser.error("name one CALL_ID, or --all")
    try:
        print(asyncio.run(_approve(args)))
    except (Refused, KeyFileError) as e:
        print(e, file=sys.stderr)
        return 1
    except (RPCError, WorkflowQueryFailedError) as e:
        print(f"cannot read run {args.run}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    # The SDK's core runtime threads can call into Python while the interpreter finalizes and abort the
    # process (exit -6) after the work is done; leave without finalizing, output flushed first.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
