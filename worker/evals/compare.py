"""Two result files side by side, and the regressions that are beyond noise.

The rule (docs/evals.md):
- A **case regresses** when B's Wilson 95% interval lies wholly below A's (B's upper bound under A's
  lower bound). With one run per case the intervals of 1/1 and 0/1 overlap, so a single flip is shown
  as a change but never called a regression: repeat (`--repeat 5` separates 5/5 from 0/5).
- The **suite regresses** when, over the cases both files ran, B's pooled pass rate is below A's by a
  one-sided two-proportion z-test at p < alpha (default 0.05).
Skipped runs count on neither side, and a case with no counted run on one side is left out of the
suite-level test. Cases in only one file are listed, not judged.
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.evals.results import CaseResult, SuiteResult
from worker.evals.stats import drop_p_value

ALPHA = 0.05


@dataclass(frozen=True)
class CaseChange:
    id: str
    a: CaseResult
    b: CaseResult
    verdict: str  # regression, improvement, worse (within noise), better (within noise), same


@dataclass(frozen=True)
class Comparison:
    a: SuiteResult
    b: SuiteResult
    cases: list[CaseChange]
    only_a: list[str]
    only_b: list[str]
    passed_a: int
    runs_a: int
    passed_b: int
    runs_b: int
    p_value: float
    alpha: float

    @property
    def suite_regressed(self) -> bool:
        return self.runs_a > 0 and self.runs_b > 0 and self.passed_b / self.runs_b < self.passed_a / self.runs_a \
            and self.p_value < self.alpha

    @property
    def regressions(self) -> list[str]:
        named = [f"case {c.id}: {c.a.passed}/{c.a.runs} -> {c.b.passed}/{c.b.runs} (95% intervals "
                 f"{_interval(c.a)} and {_interval(c.b)} do not overlap)" for c in self.cases if c.verdict == "regression"]
        if self.suite_regressed:
            named.append(f"suite: {self.passed_a}/{self.runs_a} -> {self.passed_b}/{self.runs_b} over the cases both "
                         f"ran (one-sided two-proportion z-test p = {self.p_value:.2g} < {self.alpha:g})")
        return named


def compare(a: SuiteResult, b: SuiteResult, alpha: float = ALPHA) -> Comparison:
    a_cases, b_cases = {c.id: c for c in a.cases}, {c.id: c for c in b.cases}
    common = [i for i in a_cases if i in b_cases]
    changes = [CaseChange(i, a_cases[i], b_cases[i], _verdict(a_cases[i], b_cases[i])) for i in common]
    # The suite-level test pools only cases with counted runs on both sides: a case skipped on one
    # side (no HTTP tools on that worker) would otherwise weigh on one rate only.
    both = [i for i in common if a_cases[i].runs and b_cases[i].runs]
    passed_a, runs_a = sum(a_cases[i].passed for i in both), sum(a_cases[i].runs for i in both)
    passed_b, runs_b = sum(b_cases[i].passed for i in both), sum(b_cases[i].runs for i in both)
    return Comparison(a=a, b=b, cases=changes, only_a=[i for i in a_cases if i not in b_cases],
                      only_b=[i for i in b_cases if i not in a_cases], passed_a=passed_a, runs_a=runs_a,
                      passed_b=passed_b, runs_b=runs_b, p_value=drop_p_value(passed_a, runs_a, passed_b, runs_b),
                      alpha=alpha)


def _verdict(a: CaseResult, b: CaseResult) -> str:
    if a.runs == 0 or b.runs == 0:
        return "not run"
    if b.interval[1] < a.interval[0]:
        return "regression"
    if b.interval[0] > a.interval[1]:
        return "improvement"
    rate_a, rate_b = a.passed / a.runs, b.passed / b.runs
    if rate_b < rate_a:
        return "worse (within noise)"
    return "better (within noise)" if rate_b > rate_a else "same"


def _interval(c: CaseResult) -> str:
    return f"[{100 * c.interval[0]:.0f}%, {100 * c.interval[1]:.0f}%]"


def _rate(passed: int, runs: int) -> str:
    return f"{passed}/{runs} ({100 * passed / runs:.0f}%)" if runs else "-"


def render(comparison: Comparison) -> str:
    c = comparison
    name_a = c.a.label or "A"
    name_b = c.b.label or "B"
    rows = [("case", name_a, name_b, "steps", "tokens", "verdict")]
    for change in c.cases:
        steps = f"{change.a.mean['steps']:.1f} -> {change.b.mean['steps']:.1f}"
        tokens = f"{change.a.mean['tokens']:.0f} -> {change.b.mean['tokens']:.0f}"
        rows.append((change.id, _rate(change.a.passed, change.a.runs), _rate(change.b.passed, change.b.runs),
                     steps, tokens, change.verdict))
    rows.append(("SUITE (cases in both)", _rate(c.passed_a, c.runs_a), _rate(c.passed_b, c.runs_b), "", "",
                 f"p = {c.p_value:.2g}" + (" regression" if c.suite_regressed else "")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    if c.only_a:
        out.append(f"only in {name_a}: {', '.join(c.only_a)}")
    if c.only_b:
        out.append(f"only in {name_b}: {', '.join(c.only_b)}")
    if c.regressions:
        out += ["", "REGRESSIONS:"] + [f"  {r}" for r in c.regressions]
    else:
        worse = [ch.id for ch in c.cases if ch.verdict.startswith("worse")]
        out += ["", "no regression beyond noise" + (f" (worse within noise: {', '.join(worse)})" if worse else "")]
    return "\n".join(out)
