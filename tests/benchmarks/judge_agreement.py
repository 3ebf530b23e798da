"""How often a judge model's rubric verdicts are right, on answers whose right verdict is known.

    python -m tests.benchmarks.judge_agreement [--models worker/models.yaml] [--model NAME] [--suite evals/starter.yaml]

For each case of the suite with an oracle, three answers are judged against the criteria "Answers the
task correctly; the right answer is: <the oracle's answer>":
  - right: the oracle's own answer (should pass);
  - vague: "Done: the task is complete." (should fail);
  - wrong: the oracle's answer with each number changed (should fail; a case with no number is left out).
The judge is asked through the project's gateway and judge activity (activities/judge.py), as a rubric
check asks it. Prints, per kind, how many verdicts passed at the default pass grade, the grades seen,
and the mean seconds per verdict. Nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
from collections import Counter
from pathlib import Path

from activities.gateway.breaker import BreakerRegistry
from activities.gateway.catalogue import load_models_file
from activities.gateway.gateway import Gateway
from activities.judge import JudgeActivities
from worker.evals.checks import Rubric
from worker.evals.oracle import WRONG_ANSWER
from worker.evals.suite import load_suite
from worker.settings import REPO_ROOT
from workflows.contracts import JudgeInput


def wrong(answer: str) -> str | None:
    """Every number in the answer changed (off by one in its last digit); None when it has none."""
    changed = re.sub(r"\d+", lambda m: m.group(0)[:-1] + str((int(m.group(0)[-1]) + 1) % 10), answer)
    return changed if changed != answer else None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=REPO_ROOT / "worker" / "models.yaml")
    parser.add_argument("--model", help="the judge (default: the plan route's first model)")
    parser.add_argument("--suite", type=Path, default=REPO_ROOT / "evals" / "starter.yaml")
    args = parser.parse_args()
    judge = JudgeActivities(Gateway(load_models_file(args.models, os.environ), BreakerRegistry()))
    pass_grade = Rubric(criteria="x").pass_grade
    passed: dict[str, list[bool]] = {"right": [], "vague": [], "wrong": []}
    grades: dict[str, Counter[int | None]] = {kind: Counter() for kind in passed}
    seconds: list[float] = []
    for case in load_suite(args.suite).cases:
        if not case.oracle or not (answer := case.oracle[-1].answer):
            continue
        criteria = f"Answers the task correctly; the right answer is: {answer}"
        for kind, given in (("right", answer), ("vague", WRONG_ANSWER), ("wrong", wrong(answer))):
            if given is None:
                continue
            started = time.perf_counter()
            verdict = await judge.verdict(JudgeInput(goal=case.goal, answer=given, criteria=criteria, model=args.model))
            seconds.append(time.perf_counter() - started)
            passed[kind].append(verdict.grade is not None and verdict.grade >= pass_grade)
            grades[kind][verdict.grade] += 1
        print(f"{case.id:<24} " + "  ".join(f"{k} {'pass' if v[-1] else 'fail'}" for k, v in passed.items() if v),
              flush=True)
    model = args.model or judge.gateway.catalogue().routes["plan"][0]
    print(f"\njudge {model}, pass at grade {pass_grade}; {len(seconds)} verdicts, "
          f"{statistics.fmean(seconds):.2f} s each on average")
    print(f"{'answer':<7} {'passed':>9}  should  grades seen")
    for kind, results in passed.items():
        should = "pass" if kind == "right" else "fail"
        seen = ", ".join(f"{g}: {n}" for g, n in sorted(grades[kind].items(), key=lambda x: (x[0] is None, x[0] or 0)))
        print(f"{kind:<7} {sum(results):>4}/{len(results):<4}  {should:<6}  {seen}")
    right = sum(passed["right"]) + sum(not p for k in ("vague", "wrong") for p in passed[k])
    total = sum(len(v) for v in passed.values())
    print(f"agreement with the known verdict: {right}/{total} = {right / total:.0%}")


if __name__ == "__main__":
    asyncio.run(main())
