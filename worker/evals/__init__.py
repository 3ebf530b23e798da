"""Agent evals: suites of cases run as real AgentRuns, checked, reported, and compared (docs/evals.md).

    suite.py    the YAML format: cases, budgets, approvals to give, checks, oracle actions
    checks.py   one model per check kind, evaluated on an Outcome (matching.py: calls, text, JSON paths)
    runner.py   runs cases on a worker, drives approvals and questions, gathers outcomes (recorded.py)
    judging.py  asks the judge model (activities/judge.py) for each rubric check, through the worker
    recorded.py a run's request, decisions and tool answers, read from its history (capture, fork)
    results.py  per-run records and per-case / suite sums, the JSON file
    report.py   the table and JUnit XML;  compare.py  regressions beyond noise (stats.py)
    oracle.py   the oracle model: each case's perfect actions, on the OpenAI wire
    stack.py    what `--oracle` / `--own-worker` start: fixtures, knowledge, oracle, worker
"""

from worker.evals.checks import CHECKS, CheckResult
from worker.evals.compare import Comparison
from worker.evals.oracle import OracleResponder, OracleServer
from worker.evals.outcome import Outcome, ToolCallRecord
from worker.evals.results import SuiteResult, read_results
from worker.evals.runner import Target, run_case, run_cases
from worker.evals.suite import Case, Suite, SuiteError, load_suite

__all__ = [
    "CHECKS", "Case", "CheckResult", "Comparison", "OracleResponder", "OracleServer", "Outcome", "Suite",
    "SuiteError", "SuiteResult", "Target", "ToolCallRecord", "load_suite", "read_results", "run_case",
    "run_cases",
]
