"""`agent`: start, follow, decide and control runs through the run API (docs/cli.md).

    agent run "Write hello to greeting.txt" [--watch] [--idempotency-key K] [--budget-usd 0.50]
    agent status RUN | agent list [--status waiting_for_human]
    agent watch RUN | agent logs RUN
    agent approve RUN CALL [--comment C] [--arguments JSON] | agent reject RUN CALL [--comment C]
    agent cancel|pause|resume RUN | agent message RUN TEXT | agent resolve RUN CALL mark_done|retry|abandon

The API's address and key come from AGENT_API_URL (default http://127.0.0.1:8700) and AGENT_API_KEY;
`--url` and `--key` override them. `--json` prints JSON for scripts: one object, or one object per
line for `watch` and `logs`. Only the API is spoken to: no Temporal client, so the CLI needs no
access to the cluster, only a key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from worker import cli
from worker.agent_cli import errors
from worker.agent_cli.client import RunApi, follow
from worker.agent_cli.errors import CliError, MissingKey, UsageError
from worker.agent_cli.render import TERMINAL, event_line, runs_text, state_text

DEFAULT_URL = "http://127.0.0.1:8700"
LIST_STATUSES = ["running", "waiting_for_human", "paused", "completed", "failed", "cancelled", "budget_exceeded"]
LOGS_RETRY_S = 30.0  # `logs` is a one-shot read: it rides out an API restart, not a long outage
BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool whose reader went away (`| head`)


class Output:
    """stdout, as text or as one JSON object per line; flushed per line so a pipe sees events live."""

    def __init__(self, as_json: bool) -> None:
        self.json = as_json

    def __call__(self, text: str, obj: Any) -> None:
        print(json.dumps(obj, ensure_ascii=False) if self.json else text, flush=True)


def _path(run_id: str, *rest: str) -> str:
    return "/".join(["/v1/runs", *(quote(part, safe="") for part in (run_id, *rest))])


def _json_arg(flag: str, text: str | None, want_object: bool) -> Any:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as e:
        raise UsageError(f"{flag} is not JSON: {e}") from None
    if want_object and not isinstance(value, dict):
        raise UsageError(f'{flag} must be a JSON object, e.g. \'{{"path": "out.txt"}}\'')
    return value


def _without_none(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def cmd_run(api: RunApi, args: argparse.Namespace, out: Output) -> int:
    budgets = _without_none(max_cost_usd=args.budget_usd, max_steps=args.max_steps, max_tokens=args.max_tokens,
                            max_wall_time_s=args.max_time)
    tools = [t for t in args.tools.split(",") if t] if args.tools is not None else None
    body = _without_none(goal=args.goal, budgets=budgets or None, allowed_tools=tools, model=args.model,
                         approval_risk_level=args.approval_risk_level, approval_timeout_s=args.approval_timeout,
                         data_class=args.data_class, retrieve_first=args.retrieve_first or None,
                         instructions=args.instructions)
    headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else None
    started = api.call("POST", "/v1/runs", body=body, headers=headers)
    out(started["id"], started)
    if args.watch:
        return _watch(api, started["id"], out, after=None, retry_for_s=args.retry_for)
    return errors.OK


def cmd_status(api: RunApi, args: argparse.Namespace, out: Output) -> int:
    state = api.call("GET", _path(args.run_id))
    out(state_text(args.run_id, state), state)
    return errors.OK


def cmd_list(api: RunApi, args: argparse.Namespace, out: Output) -> int:
    params = _without_none(status=args.status, page_size=args.limit, page_token=args.page_token)
    page = api.call("GET", "/v1/runs", params=params)
    more = page.get("next_page_token")
    out(runs_text(page) + (f"\nmore: agent list --page-token {more}" if more else ""), page)
    return errors.OK


def cmd_watch(api: RunApi, args: argparse.Namespace, out: Output) -> int:
    return _watch(api, args.run_id, out, after=args.after, retry_for_s=args.retry_for)


def _watch(api: RunApi, run_id: str, out: Output, after: int | None, retry_for_s: float) -> int:
    """Every event until the run's result; 0 when it completed."""
    status = None
    for event in follow(api, run_id, after=after, retry_for_s=retry_for_s):
        out(event_line(run_id, event.data), {"offset": event.offset, **event.data})
        if event.kind == "result":
            status = event.data.get("status")
    return errors.OK if status == "completed" else errors.RUN_NOT_COMPLETED


def cmd_logs(api: RunApi, args: argparse.Namespace, out: Output) -> int:
    """A finished run: its stream to the `result` event. A live run: the events it has published so
    far, read until the stream has been quiet for `--idle` seconds (the stream has no "end of what
    exists" marker, and the API sends what exists at once)."""
    status = api.call("GET", _path(args.run_id)).get("status")
    idle = None if status in TERMINAL else args.idle
    last = None
    for event in follow(api, args.run_id, retry_for_s=LOGS_RETRY_S, idle_s=idle):
        out(event_line(args.run_id, event.data), {"offset": event.offset, **event.data})
        last = event.offset
    if idle is not None and not out.json:
        after = f" --after {last}" if last is not None else ""
        print(f"agent: run {args.run_id} is {status}; follow it from here: agent watch {args.run_id}{after}",
              file=sys.stderr)
    return errors.OK


def cmd_approve(api: RunApi, args: argparse.Namespace, out: Output) -> int:
    body = _without_none(decision="approve", comment=args.comment,
                         arguments=_json_arg("--arguments", args.arguments, want_object=True))
    reply = api.call("POST", _path(args.run_id, "approvals", args.call_id), body=body)
    out(reply.get("result", ""), reply)
    return errors.OK


def cmd_reject(api: RunApi, args: argparse.Namespace, out: Output) -> int:
    reply = api.call("POST", _path(args.run_id, "approvals", args.call_id),
                     body=_without_none(decision="reject", comment=args.comment))
    out(reply.get("result", ""), reply)
    return errors.OK


def cmd_resolve(api: RunApi, args: argparse.Namespace, out: Output) -> int:
    body = _without_none(decision=args.decision, comment=args.comment,
                         data=_json_arg("--data", args.data, want_object=False))
    reply = api.call("POST", _path(args.run_id, "outcomes", args.call_id), body=body)
    out(reply.get("result", ""), reply)
    return errors.OK


def cmd_message(api: RunApi, args: argparse.Namespace, out: Output) -> int:
    reply = api.call("POST", _path(args.run_id, "messages"), body={"text": args.text})
    out(reply.get("result", ""), reply)
    return errors.OK


def cmd_control(api: RunApi, args: argparse.Namespace, out: Output) -> int:
    reply = api.call("POST", _path(args.run_id, args.command))
    out(reply.get("result", ""), reply)
    return errors.OK


def build_parser() -> argparse.ArgumentParser:
    # Accepted before or after the command (`agent --json status X`, `agent status X --json`): SUPPRESS
    # keeps a subcommand's unset copy from overwriting the value given before it.
    common = cli.Parser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS,
                        help=f"the API's base URL (default: AGENT_API_URL or {DEFAULT_URL})")
    common.add_argument("--key", default=argparse.SUPPRESS,
                        help="an API key (default: AGENT_API_KEY; the variable keeps it out of `ps`)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="JSON for scripts: one object per line")
    parser = cli.Parser(prog="agent", parents=[common],
                                     description="Start, follow, decide and control runs through the run API.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[..., int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    def retry_for(p: argparse.ArgumentParser) -> None:
        p.add_argument("--retry-for", type=float, default=300.0, metavar="SECONDS",
                       help="once following, keep reconnecting this long after the connection drops (default 300)")

    run = command("run", cmd_run, "start a run; prints its id")
    run.add_argument("goal")
    run.add_argument("--watch", action="store_true", help="then follow it, as `agent watch`")
    run.add_argument("--idempotency-key", metavar="KEY", help="the same key and request give the same run")
    run.add_argument("--budget-usd", type=float, metavar="USD", help="stop the run once it has cost this much")
    run.add_argument("--max-steps", type=int, help="model calls allowed (default 20)")
    run.add_argument("--max-tokens", type=int, help="prompt and completion tokens allowed (default 100000)")
    run.add_argument("--max-time", type=float, metavar="SECONDS", help="wall time from the start (default 1 day)")
    run.add_argument("--model", help="the model to try first")
    run.add_argument("--tools", metavar="A,B", help="the tools the run may use (default: all registered)")
    run.add_argument("--approval-risk-level", type=int, metavar="N", help="tools at or above need approval (default 2)")
    run.add_argument("--approval-timeout", type=float, metavar="SECONDS", help="a pending call expires after this")
    run.add_argument("--data-class", choices=["public", "internal", "confidential"])
    run.add_argument("--retrieve-first", action="store_true", help="add retrieved passages before the first step")
    run.add_argument("--instructions", metavar="TEXT", help="added to the system prompt (a house style, a prompt variant)")
    retry_for(run)

    command("status", cmd_status, "a run's state: status, pending calls, usage, result").add_argument("run_id")

    lst = command("list", cmd_list, "your tenant's runs, newest first")
    lst.add_argument("--status", choices=LIST_STATUSES)
    lst.add_argument("--limit", type=int, help="runs per page (1-200, default 20)")
    lst.add_argument("--page-token", help="the next page, as the previous one named it")

    watch = command("watch", cmd_watch, "follow a run live until it ends; exit 0 when it completed")
    watch.add_argument("run_id")
    watch.add_argument("--after", type=int, metavar="OFFSET", help="start after this event (as --json's offset)")
    retry_for(watch)

    logs = command("logs", cmd_logs, "the events so far, then exit")
    logs.add_argument("run_id")
    logs.add_argument("--idle", type=float, default=3.0, metavar="SECONDS",
                      help="a live run: stop once no event came for this long (default 3)")

    approve = command("approve", cmd_approve, "approve a pending call")
    approve.add_argument("run_id")
    approve.add_argument("call_id")
    approve.add_argument("--comment")
    approve.add_argument("--arguments", metavar="JSON", help="run the call with these arguments instead")

    reject = command("reject", cmd_reject, "reject a pending call")
    reject.add_argument("run_id")
    reject.add_argument("call_id")
    reject.add_argument("--comment")

    resolve = command("resolve", cmd_resolve, "decide a call whose outcome is unknown")
    resolve.add_argument("run_id")
    resolve.add_argument("call_id")
    resolve.add_argument("decision", choices=["mark_done", "retry", "abandon"])
    resolve.add_argument("--comment")
    resolve.add_argument("--data", metavar="JSON", help="mark_done: the result you observed")

    message = command("message", cmd_message, "send the run a message (an answer to its question)")
    message.add_argument("run_id")
    message.add_argument("text")

    for control, help in (("cancel", "cancel a run"), ("pause", "pause a run before its next step"),
                          ("resume", "resume a paused run")):
        command(control, cmd_control, help).add_argument("run_id")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    url = getattr(args, "url", None) or os.environ.get("AGENT_API_URL") or DEFAULT_URL
    key = getattr(args, "key", None) or os.environ.get("AGENT_API_KEY")
    out = Output(getattr(args, "json", False))
    try:
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"the API URL {url!r} must start with http:// or https://")
        if not key:
            raise MissingKey()
        api = RunApi(url, key)
        try:
            return args.handler(api, args, out)
        finally:
            api.close()
    except CliError as e:
        print(f"agent: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        from worker.lifetime import silence_broken_output

        silence_broken_output(sys.stdout)  # the interpreter's last flush must not fail again
        return BROKEN_PIPE
