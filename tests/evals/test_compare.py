"""The statistics and the regression rule, on crafted result files: a drop is named only when it is
beyond noise, and the report formats (table, JSON, JUnit) carry what happened."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from worker.evals.__main__ import main
from worker.evals.checks import CheckResult
from worker.evals.compare import compare
from worker.evals.outcome import Outcome
from worker.evals.report import junit, table
from worker.evals.results import CaseResult, RunRecord, SuiteResult, read_results
from worker.evals.stats import drop_p_value, wilson


def test_wilson_interval_matches_the_textbook() -> None:
    """Known values (z = 1.96): 0/1 -> [0, 0.79], 5/5 -> [0.57, 1], 8/10 -> [0.49, 0.94]."""
    assert wilson(0, 1) == pytest.approx((0.0, 0.7935), abs=1e-4)
    assert wilson(5, 5) == pytest.approx((0.5655, 1.0), abs=1e-4)
    assert wilson(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def test_two_proportion_test_is_one_sided() -> None:
    """A drop from 30/30 to 20/30 is significant; a rise, or equal rates, never is."""
    assert drop_p_value(30, 30, 20, 30) < 0.001
    assert drop_p_value(20, 30, 30, 30) > 0.99
    assert drop_p_value(10, 10, 10, 10) == 1.0
    assert 0.05 < drop_p_value(10, 10, 8, 10) < 0.1  # two flips in ten runs: not enough evidence


def case(case_id: str, passes: list[bool | None]) -> CaseResult:
    records = []
    for i, passed in enumerate(passes):
        outcome = Outcome(case_id=case_id, repeat=i, workflow_id=f"eval-{case_id}-{i}", status="completed", steps=2,
                          prompt_tokens=100, completion_tokens=20, latency_s=1.5, answer="x",
                          skipped="no http tools" if passed is None else None)
        checks = [] if passed is None else [CheckResult(check="answer_contains: \"y\"", passed=bool(passed),
                                                        detail="answer lacks ['y']: x")]
        records.append(RunRecord(outcome=outcome, checks=checks, passed=passed))
    return CaseResult(id=case_id, tags=["t"], records=records)


def result(label: str, *cases: CaseResult, repeat: int = 1) -> SuiteResult:
    now = datetime.now(UTC)
    return SuiteResult(suite="s", label=label, started_at=now, finished_at=now, repeat=repeat, cases=list(cases))


def test_a_single_flip_is_noise_and_a_repeated_one_is_a_regression() -> None:
    """1/1 -> 0/1 has overlapping intervals (a change, not a regression); 5/5 -> 0/5 does not overlap."""
    one = compare(result("A", case("a", [True])), result("B", case("a", [False])))
    assert [c.verdict for c in one.cases] == ["worse (within noise)"] and not one.regressions
    five = compare(result("A", case("a", [True] * 5)), result("B", case("a", [False] * 5)))
    assert five.cases[0].verdict == "regression"
    assert five.regressions[0].startswith("case a: 5/5 -> 0/5 (95% intervals [57%, 100%] and [0%, 43%]")


def test_a_suite_wide_drop_is_named_by_the_two_proportion_test() -> None:
    """Eight cases that each flip once: no case regresses alone, the suite does; skips count nowhere."""
    ids = [f"c{i}" for i in range(8)]
    a = result("good", *(case(i, [True]) for i in ids), case("http", [True]))
    b = result("broken", *(case(i, [False]) for i in ids), case("http", [None]), case("new", [True]))
    comparison = compare(a, b)
    assert comparison.suite_regressed and (comparison.passed_a, comparison.runs_a) == (8, 8)
    assert (comparison.passed_b, comparison.runs_b) == (0, 8) and comparison.only_b == ["new"]
    assert comparison.regressions == [f"suite: 8/8 -> 0/8 over the cases both ran (one-sided two-proportion z-test "
                                      f"p = {comparison.p_value:.2g} < 0.05)"]
    assert not compare(b, a).regressions  # the other way round it is an improvement


def test_compare_command_exits_1_on_a_regression(tmp_path: Path, capsys) -> None:
    """The files round-trip through JSON; the command prints the table and exits 1, or 0 when nothing regressed."""
    good, bad = tmp_path / "a.json", tmp_path / "b.json"
    result("good", *(case(f"c{i}", [True, True]) for i in range(5))).write(good)
    result("bad", *(case(f"c{i}", [False, True]) for i in range(5)), repeat=2).write(bad)
    assert read_results(good).passed == 10 and read_results(bad).passed == 5
    assert main(["compare", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "REGRESSIONS:" in out and "suite: 10/10 -> 5/10" in out and "good" in out and "bad" in out
    assert main(["compare", str(good), str(good)]) == 0
    assert "no regression beyond noise" in capsys.readouterr().out
    (tmp_path / "junk.json").write_text('{"suite": 1}')
    assert main(["compare", str(good), str(tmp_path / "junk.json")]) == 2
    assert "not an eval results file" in capsys.readouterr().err


def test_table_and_junit_report_every_run() -> None:
    """The table has a row per case with its rate and interval and lists failed runs; JUnit has a
    testcase per run, failures with the failed checks, skips with the reason."""
    r = result("x", case("a", [True, False]), case("b", [None, True]), repeat=2)
    text = table(r)
    assert re.search(r"^a\s+1/2\s+50%\s+\[9%, 91%\]\s+2\.0\s+120", text, re.M)
    assert re.search(r"^b  skipped 1\s+1/1\s+100%", text, re.M) and re.search(r"^SUITE s\s+2/3\s+67%", text, re.M)
    assert "failed runs:\n  a #1 (completed, eval-a-1)\n    answer_contains: \"y\": answer lacks ['y']: x" in text
    assert "skipped runs:\n  b #0: no http tools" in text
    xml = ET.fromstring(junit(r))
    suite = xml.find("testsuite")
    assert suite is not None and suite.get("tests") == "4" and suite.get("failures") == "1"
    assert suite.get("skipped") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"a#0", "a#1", "b#0", "b#1"}
    assert cases["a#1"].find("failure") is not None and cases["b#0"].find("skipped") is not None
