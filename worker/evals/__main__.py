"""python -m worker.evals: run a suite, compare two result files, or check a suite file.

    python -m worker.evals run evals/starter.yaml [--cases ID|TAG ...] [--repeat N] [--concurrency N]
                                                  [--out results.json] [--junit results.xml]
    python -m worker.evals run evals/starter.yaml --oracle [perfect|no_tools|wrong_answer] [--start-temporal]
    python -m worker.evals compare A.json B.json [--alpha 0.05]
    python -m worker.evals check evals/starter.yaml
    python -m worker.evals capture RUN_ID --check '{answer_contains: "1591"}' --out evals/captured/calc.yaml
    python -m worker.evals fork RUN_ID --from-step 2 [--task-queue Q] [--model M] [--dry-run]

`run` uses the running worker (TEMPORAL_ADDRESS, AGENT_TASK_QUEUE, its data dir for the workspaces)
unless --oracle or --own-worker starts one for the suite. Exit codes: run 0 (1 with --fail-under
when the pass rate is below it), compare 1 when there is a regression, 2 for unusable input.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from worker import cli
from worker.approver_keys import KeyFileError, load_key
from worker.client import TemporalConnectError, connect
from worker.evals.capture import CaptureError, parse_checks, write_capture
from worker.evals.compare import ALPHA, compare, render
from worker.evals.fork import ForkError, fork
from worker.evals.oracle import MODES
from worker.evals.recorded import NotARun, read_run
from worker.evals.report import progress_line, table, write_junit
from worker.evals.results import ResultsError, SuiteResult, collect, judge, read_results
from worker.evals.runner import Target, run_cases
from worker.evals.stack import Stack, StackError, start_temporal
from worker.evals.suite import SuiteError, load_suite
from worker.settings import SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = cli.Parser(prog="python -m worker.evals", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a suite's cases as AgentRuns and report")
    run.add_argument("suite", type=Path)
    run.add_argument("--cases", nargs="+", metavar="ID|TAG", help="only cases whose id matches (fnmatch) or tag is")
    run.add_argument("--repeat", type=int, default=1, help="runs per case (default 1)")
    run.add_argument("--concurrency", type=int, default=4, help="runs at once (default 4)")
    run.add_argument("--out", type=Path, help="write the results as JSON")
    run.add_argument("--junit", type=Path, help="write JUnit XML")
    run.add_argument("--instructions", type=Path, metavar="FILE",
                     help="add this file's text to every run's system prompt (a prompt variant to evaluate)")
    run.add_argument("--label", default="", help="what is being evaluated (shown by compare)")
    run.add_argument("--oracle", nargs="?", const="perfect", choices=MODES,
                     help="start the oracle model and a worker for the suite (default mode: perfect)")
    run.add_argument("--own-worker", action="store_true",
                     help="start a worker for the suite (models file and endpoint from the environment)")
    run.add_argument("--start-temporal", action="store_true", help="start a Temporal dev server for the run")
    run.add_argument("--address", help="Temporal address (default TEMPORAL_ADDRESS or localhost:7233)")
    run.add_argument("--task-queue", help="the running worker's queue (default AGENT_TASK_QUEUE or agents)")
    run.add_argument("--data-dir", type=Path, help="the running worker's data dir, where workspaces are read")
    run.add_argument("--approver-key", type=Path, help="sign approvals of calls that need a signature with this key")
    run.add_argument("--approver", default="evals", help="the approver's name (as the approvers file lists the key)")
    run.add_argument("--workdir", type=Path, help="keep the started processes' data and logs here")
    run.add_argument("--fail-under", type=float, metavar="PCT", help="exit 1 when the pass rate is below PCT")
    cmp = sub.add_parser("compare", help="two result files side by side; exit 1 on a regression")
    cmp.add_argument("a", type=Path)
    cmp.add_argument("b", type=Path)
    cmp.add_argument("--alpha", type=float, default=ALPHA, help="suite-level test's significance")
    check = sub.add_parser("check", help="validate a suite file and list its cases")
    check.add_argument("suite", type=Path)
    cap = sub.add_parser("capture", help="write a case from a run: its goal, files and recorded tool answers")
    cap.add_argument("run_id")
    cap.add_argument("--check", action="append", default=[], metavar="YAML",
                     help="a check the case must meet, e.g. '{answer_contains: \"1591\"}' (repeatable)")
    cap.add_argument("--out", type=Path, required=True, help="the suite file to write (its world goes beside it)")
    cap.add_argument("--address", help="Temporal address (default TEMPORAL_ADDRESS or localhost:7233)")
    fk = sub.add_parser("fork", help="replay a run's first steps as recorded, then go on under another configuration")
    fk.add_argument("run_id")
    fk.add_argument("--from-step", type=int, required=True, help="how many of the original's steps to keep")
    fk.add_argument("--task-queue", help="the worker with the other configuration (default AGENT_TASK_QUEUE)")
    fk.add_argument("--model", help="the model to try first from then on")
    fk.add_argument("--instructions", type=Path, metavar="FILE",
                    help="from then on, add this file's text to the system prompt (another prompt)")
    fk.add_argument("--dry-run", action="store_true", help="refuse any tool call the original did not make")
    fk.add_argument("--id", help="the fork's workflow id (default <run>-fork<K>-<random>)")
    fk.add_argument("--address", help="Temporal address (default TEMPORAL_ADDRESS or localhost:7233)")
    return parser


async def _client(address: str | None) -> Client:
    settings = load_settings()
    return await connect(address or settings.temporal_address, settings.namespace, tls=settings.temporal_tls(),
                         api_key=settings.api_key.get_secret_value() if settings.api_key else None)


async def _capture(args: argparse.Namespace) -> int:
    checks = parse_checks(args.check)
    run = await read_run(await _client(args.address), args.run_id)
    suite, world = write_capture(run, checks, args.out)
    print(f"wrote {suite} (1 case) and {world} ({len(run.calls)} recorded tool answers); "
          f"run it: python -m worker.evals run {suite}")
    return 0


async def _fork(args: argparse.Namespace) -> int:
    client = await _client(args.address)
    print(f"evals: forking {args.run_id} from step {args.from_step}; waiting for the fork to end", file=sys.stderr)
    done = await fork(client, args.run_id, args.from_step, args.task_queue or load_settings().task_queue,
                      model=args.model, dry_run=args.dry_run, fork_id=args.id,
                      instructions=_instructions(args.instructions))
    print(done.report())
    return 0


async def _run(args: argparse.Namespace, workdir: Path) -> SuiteResult:
    settings = load_settings()
    address = args.address or settings.temporal_address
    server = start_temporal(workdir) if args.start_temporal else None
    if server is not None:
        address = server.config.address
    try:
        with Stack(args.suite, address, workdir, oracle=args.oracle, own_worker=args.own_worker) as stack:
            suite = stack.suite
            if args.instructions_text is not None:
                defaults = suite.defaults.model_copy(update={"instructions": args.instructions_text})
                suite = suite.model_copy(update={"defaults": defaults})
            cases = suite.select(args.cases)
            client = await connect(address, settings.namespace, tls=settings.temporal_tls(),
                                   api_key=settings.api_key.get_secret_value() if settings.api_key else None)
            if stack.worker is not None:
                print(f"evals: started a worker on {stack.task_queue} (logs in {workdir})", file=sys.stderr)
                await stack.wait_ready(client)
                target = Target(client, stack.task_queue, stack.data_dir / "workspaces")
            else:
                workspaces = args.data_dir / "workspaces" if args.data_dir else settings.workspaces
                target = Target(client, args.task_queue or settings.task_queue, workspaces)
            if args.approver_key:
                target.approver_key, target.approver = load_key(args.approver_key), args.approver
            else:
                target.approver = args.approver
            by_id = {c.id: c for c in cases}

            def progress(outcome, done: int, total: int) -> None:
                record = judge(by_id[outcome.case_id], outcome)
                print(progress_line(outcome, record, done, total), file=sys.stderr, flush=True)

            started = datetime.now(UTC)
            print(f"evals: {len(cases)} case(s) x {args.repeat} on {address} queue {target.task_queue}",
                  file=sys.stderr)
            outcomes = await run_cases(suite, cases, target, args.repeat, args.concurrency, progress)
            label = args.label or (f"oracle:{args.oracle}" if args.oracle else "")
            return SuiteResult(suite=suite.name, suite_file=str(args.suite), label=label, started_at=started,
                               finished_at=datetime.now(UTC), repeat=args.repeat, cases=collect(cases, outcomes))
    finally:
        if server is not None:
            server.stop()


def _instructions(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise SuiteError(f"--instructions: cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    if not text.strip() or len(text) > 8000:
        raise SuiteError(f"--instructions: {path} must hold 1 to 8000 characters of text, not {len(text)}")
    return text.strip()


def _run_command(args: argparse.Namespace) -> int:
    if args.repeat < 1 or args.concurrency < 1:
        print("evals: --repeat and --concurrency must be at least 1", file=sys.stderr)
        return 2
    args.instructions_text = _instructions(args.instructions)  # a bad file is refused before anything starts
    with tempfile.TemporaryDirectory(prefix="evals-") as tmp:
        workdir = args.workdir or Path(tmp)
        result = asyncio.run(_run(args, workdir))
    print(table(result))
    if args.out:
        result.write(args.out)
    if args.junit:
        write_junit(result, args.junit)
    if args.fail_under is not None and 100 * result.pass_rate < args.fail_under:
        print(f"evals: pass rate {100 * result.pass_rate:.1f}% is under {args.fail_under:g}%", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            suite = load_suite(args.suite)
            for case in suite.cases:
                print(f"{case.id}  [{', '.join(case.tags)}]  {len(case.checks)} checks, "
                      f"{len(case.oracle)} oracle actions{'  (http)' if case.needs_http() else ''}")
            print(f"{args.suite}: {len(suite.cases)} cases, valid")
            return 0
        if args.command == "compare":
            comparison = compare(read_results(args.a), read_results(args.b), args.alpha)
            print(render(comparison))
            return 1 if comparison.regressions else 0
        if args.command == "capture":
            return asyncio.run(_capture(args))
        if args.command == "fork":
            return asyncio.run(_fork(args))
        return _run_command(args)
    except (SuiteError, ResultsError, SettingsError, StackError, KeyFileError, TemporalConnectError, CaptureError,
            ForkError, NotARun) as e:
        print(f"evals: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
