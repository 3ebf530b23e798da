"""`python -m worker.watch RUN`: follow any run live from a terminal, the way `up` follows its demo.

Follows the run's event stream (docs/events.md): each status change, model routing, tool call and
decision a person took as it happens, and, when a call waits for a person, the exact commands that
approve or reject it (read from the state query once, then). Ends when the run ends, with its usage
against budgets (exit 0 when it completed, 1 otherwise). A run whose worker predates the stream is
followed by polling its state query instead: a failed query (a worker restarting, a workflow task
failing) is reported once and retried; a closed run whose worker is gone is reported from its
description.

    python -m worker.watch RUN_ID [--address host:port] [--namespace default]
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
import time
from collections.abc import Callable

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowQueryFailedError
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.exceptions import TemporalError
from temporalio.service import RPCError

from worker import cli
from worker.lifetime import silence_broken_output
from workflows.agent_run import AgentRun
from workflows.contracts import EVENTS_TOPIC, RunEvent, RunStatus

TERMINAL = {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.BUDGET_EXCEEDED}


def say(message: str) -> None:
    try:
        print(message, flush=True)
    except OSError:  # EPIPE (the pipe's reader died with the Ctrl-C), EIO (the terminal closed)
        silence_broken_output(sys.stdout)


def unsigned(run_id: str, call_id: str) -> str:
    return f"python -m worker.approve {run_id} {call_id} --key KEY_FILE"


def print_commands(prefix: str, run_id: str, pending: list, approve: Callable[[str, str], str] = unsigned,
                   footer: str = "") -> None:
    say("\nThe run is waiting for a person. From another terminal:")
    say(f"  {prefix} workflow query -w {run_id} --name state")
    for p in pending:
        reject = shlex.quote(f'{{"tool_call_id": "{p.tool_call_id}", "comment": "not this time"}}')
        say(f"  # {p.tool} {json.dumps(p.arguments)[:300]} (risk {p.risk_level}; expires {p.expires_at:%Y-%m-%d %H:%M} UTC)")
        say(f"  {approve(run_id, p.tool_call_id)}")
        say(f"  {prefix} workflow update execute -w {run_id} --name reject --input {reject}")
    say(f"  {prefix} workflow list -q 'AgentStatus=\"waiting_for_human\"'")
    if footer:
        say(footer)
    say("")


def _usage(state) -> str:
    u, b = state.usage, state.budgets
    cost = f"${u.cost_usd:.6f}" + (f" of ${b.max_cost_usd:g}" if b.max_cost_usd is not None else "")
    return (f"{u.total_tokens} of {b.max_tokens} tokens ({u.cached_prompt_tokens} cached), {cost}; "
            f"{u.model_calls} model calls, {u.tool_calls} tool calls")


class _NoStream(Exception):
    """The run has no event stream to follow (its worker predates it)."""


async def watch(handle: WorkflowHandle, prefix: str = "temporal", poll_s: float = 0.5,
                approve: Callable[[str, str], str] = unsigned, alive: Callable[[], None] | None = None,
                waiting_footer: str = "", end_footer: str = "", client: Client | None = None) -> RunStatus | None:
    """Print what the run does until it ends; return its final status. With a client, from the run's
    event stream; without one, or for a run without a stream, by polling its state."""
    started = time.monotonic()

    def stamp() -> str:
        return f"[{time.monotonic() - started:6.1f}s]"

    if client is not None:
        try:
            return await _follow_events(client, handle, prefix, poll_s, approve, alive, waiting_footer, end_footer,
                                        stamp)
        except _NoStream as e:
            say(f"{stamp()} no event stream for this run ({e}); following its state instead")
    return await _poll_state(handle, prefix, poll_s, approve, alive, waiting_footer, end_footer, stamp)


async def _follow_events(client: Client, handle: WorkflowHandle, prefix: str, poll_s: float,
                         approve: Callable[[str, str], str], alive: Callable[[], None] | None,
                         waiting_footer: str, end_footer: str, stamp: Callable[[], str]) -> RunStatus | None:
    run_id = handle.id
    events: asyncio.Queue[RunEvent | BaseException] = asyncio.Queue()

    async def pump() -> None:
        try:
            stream = WorkflowStreamClient.create(client, run_id)
            async for item in stream.subscribe([EVENTS_TOPIC], result_type=RunEvent):
                await events.put(item.data)
        except Exception as e:  # handed to the loop below, which decides what it means
            await events.put(e)

    pumping = asyncio.create_task(pump())
    seen = 0
    try:
        while True:
            if alive is not None:
                alive()
            try:
                # Bounded so `alive` is asked between events: a person-facing check, not synchronisation.
                event = await asyncio.wait_for(events.get(), timeout=poll_s)
            except TimeoutError:
                continue
            if isinstance(event, BaseException):
                if seen == 0:
                    raise _NoStream(" ".join(str(event).split())[:200])
                raise event
            seen += 1
            if event.kind == "result":
                return await _ended(handle, prefix, event, end_footer)
            _say_event(stamp(), event)
            if event.kind == "approval_needed":
                await _say_commands(handle, prefix, event, approve, waiting_footer)
            elif event.kind == "question":
                say(f"  answer: {prefix} workflow signal -w {run_id} --name user_message "
                    f"--input '{{\"text\": \"...\", \"user\": \"me\"}}'")
    finally:
        pumping.cancel()


def _say_event(at: str, e: RunEvent) -> None:
    if e.kind == "status":
        say(f"{at} {e.status or '':<18} step {e.step}")
    elif e.kind == "model":
        say(f"{at} model {e.model_event}: {e.model or '-'} ({e.message or ''})")
    elif e.kind == "tool_proposed":
        say(f"{at} {e.tool} proposed ({e.call_id}): {e.verdict}")
    elif e.kind == "approval_decided":
        proven = " (signature verified)" if e.verified else ""
        comment = f": {e.message}" if e.message else ""
        say(f"{at} decision: {e.tool} {e.call_id} {e.decision} by {e.by}{proven}{comment}")
    elif e.kind == "tool_finished":
        say(f"{at} {e.tool} ({e.call_id}) {e.result_status}" + (f": {e.message[:200]}" if e.message else ""))
    elif e.kind in ("outcome_unknown", "question", "compacted"):
        say(f"{at} {e.kind.replace('_', ' ')}: {e.message or ''}")
    elif e.kind not in ("step_started", "step_finished", "tool_started", "approval_needed"):
        say(f"{at} {e.kind}")  # a kind newer than this watcher: named, not explained


async def _say_commands(handle: WorkflowHandle, prefix: str, event: RunEvent, approve: Callable[[str, str], str],
                        footer: str) -> None:
    """The commands for the call that now waits, with its arguments and expiry from the state."""
    try:
        state = await handle.query(AgentRun.state)
    except (WorkflowQueryFailedError, RPCError) as e:
        say(f"  (cannot read the pending call's details: {e}; approve with: {approve(handle.id, event.call_id or '')})")
        return
    pending = [p for p in state.pending_approvals if p.tool_call_id == event.call_id]
    if pending:
        print_commands(prefix, handle.id, pending, approve, footer)


async def _ended(handle: WorkflowHandle, prefix: str, event: RunEvent, end_footer: str) -> RunStatus:
    status = RunStatus(event.status or RunStatus.FAILED)
    say(f"\nRun {handle.id} {status.value}: {event.message or ''}")
    try:
        say(f"  usage: {_usage(await handle.query(AgentRun.state))}")
    except (TemporalError, RPCError):
        pass  # the run's end is known; its usage is in its history
    say(f"  history: {prefix} workflow show -w {handle.id}")
    if end_footer:
        say(end_footer)
    return status


async def _poll_state(handle: WorkflowHandle, prefix: str, poll_s: float, approve: Callable[[str, str], str],
                      alive: Callable[[], None] | None, waiting_footer: str, end_footer: str,
                      stamp: Callable[[], str]) -> RunStatus | None:
    run_id = handle.id
    seen: tuple | str | None = None
    decisions = 0
    while True:
        if alive is not None:
            alive()
        try:
            state = await handle.query(AgentRun.state)
        except (WorkflowQueryFailedError, RPCError) as e:
            if (closed := await _closed(handle)) is not None:
                say(f"\nRun {run_id} is closed ({closed.name.lower()}) and no worker answers its state query.")
                return None
            if seen != (problem := f"state query failed (retrying): {e}"):
                seen = problem
                say(f"{stamp()} {problem}")
            await asyncio.sleep(poll_s)  # a person-facing progress display, not synchronisation
            continue
        for record in state.approvals[decisions:]:
            proven = " (signature verified)" if record.verified else ""
            say(f"{stamp()} decision: {record.tool} {record.tool_call_id} {record.decision} by {record.by}{proven}")
        decisions = len(state.approvals)
        now = (state.status, state.step, state.last_action)
        if now != seen:
            seen = now
            say(f"{stamp()} {state.status.value:<18} step {state.step}  {state.last_action or ''}")
            say(f"{' ' * len(stamp())} usage: {_usage(state)}")
            if state.status == RunStatus.WAITING_FOR_HUMAN and state.pending_approvals:
                print_commands(prefix, run_id, state.pending_approvals, approve, waiting_footer)
            if state.question:
                say(f"  question: {state.question}")
                say(f"  answer: {prefix} workflow signal -w {run_id} --name user_message "
                    f"--input '{{\"text\": \"...\", \"user\": \"me\"}}'")
        if state.status in TERMINAL:
            result = state.result
            say(f"\nRun {run_id} {state.status.value}: {(result.answer or result.reason) if result else ''}")
            say(f"  usage: {_usage(state)}")
            say(f"  history: {prefix} workflow show -w {run_id}")
            if end_footer:
                say(end_footer)
            return state.status
        await asyncio.sleep(poll_s)  # a person-facing progress display, not synchronisation


async def _closed(handle: WorkflowHandle) -> WorkflowExecutionStatus | None:
    try:
        status = (await handle.describe()).status
    except RPCError:
        return None
    return None if status in (None, WorkflowExecutionStatus.RUNNING) else status


def main(argv: list[str] | None = None) -> int:
    from worker.client import connect
    from worker.settings import SettingsError, load_settings

    parser = cli.Parser(prog="python -m worker.watch", description="follow a run live")
    parser.add_argument("run_id", help="the run's workflow id")
    parser.add_argument("--address", help="Temporal frontend (default: TEMPORAL_ADDRESS or localhost:7233)")
    parser.add_argument("--namespace", help="default: TEMPORAL_NAMESPACE or default")
    parser.add_argument("--poll", type=float, default=0.5,
                        help="seconds between state queries, for runs without an event stream")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as e:
        print(f"watch: {e}", file=sys.stderr)
        return 2
    address = args.address or settings.temporal_address
    namespace = args.namespace or settings.namespace

    async def follow() -> RunStatus | str | None:
        """The run's final status, or a one-line problem (returned, not raised: an exception that
        unwinds through a connected client keeps it alive into interpreter exit)."""
        try:
            client = await connect(address, namespace)
        except RuntimeError as e:
            return f"cannot reach Temporal at {address}: {' '.join(str(e).split())}"
        handle = client.get_workflow_handle(args.run_id)
        try:
            await handle.describe()
        except RPCError as e:
            return f"no run {args.run_id!r} in namespace {namespace!r} at {address}: {e}"
        prefix = "temporal" if address in ("localhost:7233", "127.0.0.1:7233") else f"temporal --address {address}"
        return await watch(handle, prefix, poll_s=args.poll, client=client)

    try:
        status = asyncio.run(follow())
    except KeyboardInterrupt:
        return 130
    if isinstance(status, str) and not isinstance(status, RunStatus):
        print(f"watch: {status}", file=sys.stderr)
        return 1
    return 0 if status == RunStatus.COMPLETED else 1


if __name__ == "__main__":
    code = main()
    # As worker/approve.py: the SDK's core runtime threads can abort a finalizing interpreter (exit -6)
    # after the work is done; leave without finalizing, output flushed first.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
