"""What a person and a CI system read of a suite run: a table, the failures, and JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from worker.evals.outcome import Outcome
from worker.evals.results import CaseResult, RunRecord, SuiteResult


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def _rate(passed: int, runs: int, interval: tuple[float, float]) -> tuple[str, str, str]:
    if runs == 0:
        return "-", "-", "-"
    return f"{passed}/{runs}", _pct(passed / runs), f"[{_pct(interval[0])}, {_pct(interval[1])}]"


def table(result: SuiteResult) -> str:
    """One row per case (pass count, rate, Wilson 95% interval, mean steps, tokens, cost, latency),
    then the suite; then each failed run with its first failed checks."""
    header = ("case", "pass", "rate", "95% CI", "steps", "tokens", "cost $", "latency s")
    rows = [header]
    for case in result.cases:
        m = case.mean
        note = f"  skipped {case.skipped}" if case.skipped else ""
        rows.append((case.id + note, *_rate(case.passed, case.runs, case.interval), f"{m['steps']:.1f}",
                     f"{m['tokens']:.0f}", f"{m['cost_usd']:.6f}", f"{m['latency_s']:.1f}"))
    counted = [r.outcome for c in result.cases for r in c.counted]
    n = max(len(counted), 1)
    rows.append(("SUITE " + result.suite, *_rate(result.passed, result.runs, result.interval),
                 f"{sum(o.steps for o in counted) / n:.1f}", f"{sum(o.total_tokens for o in counted) / n:.0f}",
                 f"{sum(o.cost_usd for o in counted):.6f} total", f"{sum(o.latency_s for o in counted) / n:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))

    out = [line(rows[0]), "  ".join("-" * w for w in widths), *map(line, rows[1:-1]),
           "  ".join("-" * w for w in widths), line(rows[-1])]
    if result.models or result.label:
        out.append(f"label: {result.label or '-'}; models: {', '.join(result.models) or '-'}; "
                   f"repeat: {result.repeat}; skipped runs: {result.skipped}")
    failures = [(c, r) for c in result.cases for r in c.records if r.passed is False]
    if failures:
        out += ["", "failed runs:"]
        for case, record in failures:
            out.append(f"  {case.id} #{record.outcome.repeat} ({record.outcome.status}, {record.outcome.workflow_id})")
            out += [f"    {c.check}: {c.detail}" for c in record.failures[:4]]
    skipped = [(c, r) for c in result.cases for r in c.records if r.passed is None]
    if skipped:
        out += ["", "skipped runs:"] + [f"  {c.id} #{r.outcome.repeat}: {r.outcome.skipped}" for c, r in skipped]
    return "\n".join(out)


def progress_line(outcome: Outcome, record: RunRecord, done: int, total: int) -> str:
    verdict = {True: "pass", False: "FAIL", None: "skip"}[record.passed]
    first = f"  {record.failures[0].check}: {record.failures[0].detail}"[:200] if record.failures else ""
    return (f"[{done}/{total}] {outcome.case_id} #{outcome.repeat} {verdict} ({outcome.status}, {outcome.steps} steps, "
            f"{outcome.latency_s:.1f} s){first}")


def junit(result: SuiteResult) -> str:
    """JUnit XML: a testcase per run (named case#repeat when repeated), failures carrying every failed
    check, skips carrying the reason. CI systems show these as tests."""
    failures = sum(1 for c in result.cases for r in c.records if r.passed is False)
    total_time = sum(r.outcome.latency_s for c in result.cases for r in c.records)
    suites = ET.Element("testsuites", name="evals", tests=str(sum(len(c.records) for c in result.cases)),
                        failures=str(failures), errors="0", skipped=str(result.skipped), time=f"{total_time:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=result.suite, tests=suites.get("tests", "0"),
                          failures=str(failures), errors="0", skipped=str(result.skipped), time=f"{total_time:.3f}",
                          timestamp=result.started_at.isoformat())
    properties = ET.SubElement(suite, "properties")
    for name, value in (("label", result.label), ("models", ",".join(result.models)),
                        ("pass_rate", f"{result.pass_rate:.4f}"),
                        ("ci95", f"{result.interval[0]:.4f}-{result.interval[1]:.4f}")):
        ET.SubElement(properties, "property", name=name, value=value)
    for case in result.cases:
        for record in case.records:
            _testcase(suite, result, case, record)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _testcase(parent: ET.Element, result: SuiteResult, case: CaseResult, record: RunRecord) -> None:
    o = record.outcome
    name = case.id if result.repeat == 1 else f"{case.id}#{o.repeat}"
    element = ET.SubElement(parent, "testcase", classname=f"evals.{result.suite}", name=name, time=f"{o.latency_s:.3f}")
    if record.passed is None:
        ET.SubElement(element, "skipped", message=o.skipped or "skipped")
    elif record.passed is False:
        first = record.failures[0]
        failure = ET.SubElement(element, "failure", message=f"{first.check}: {first.detail}"[:500], type="check")
        failure.text = "\n".join(f"{c.check}: {c.detail}" for c in record.failures)
    ET.SubElement(element, "system-out").text = (
        f"workflow {o.workflow_id}\nstatus {o.status}\nsteps {o.steps}\ntokens {o.total_tokens}\n"
        f"cost_usd {o.cost_usd:.6f}\nanswer {o.answer!r}\ncalls {[c.tool for c in o.tool_calls]}")


def write_junit(result: SuiteResult, path: Path) -> None:
    path.write_text(junit(result))
