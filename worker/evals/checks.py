"""The checks a case makes on its run's outcome, one small model per kind.

In a suite file `checks:` is a list of one-key mappings: the key names the kind, the value is the
check's fields, or, for kinds with an obvious main field, that field alone:

    checks:
      - answer_contains: "1591"                 # shorthand for {text: "1591"}
      - tool_called: {tool: calculator, args: {expression: {regex: '37\\s*\\*\\s*43'}}}
      - file: {path: out.txt, equals: "hello\\n"}
      - max_steps: 3

Every check is pure: `evaluate(outcome)` reads an Outcome and says passed or not, with a detail a
person can act on. Kinds are listed in CHECKS; docs/evals.md has the table.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from worker.evals.matching import (
    JsonEquals,
    Strict,
    ToolMatch,
    clip,
    compiled,
    parse_json_path,
    texts,
)
from worker.evals.outcome import Outcome


class CheckResult(BaseModel):
    check: str = Field(description="the check as the suite wrote it, in short")
    passed: bool
    detail: str = ""


# ---- the checks ------------------------------------------------------------------------------------------


class Check(Strict):
    kind: ClassVar[str]
    shorthand: ClassVar[str | None] = None  # the field a bare value fills

    def evaluate(self, outcome: Outcome) -> CheckResult:
        passed, detail = self.holds(outcome)
        return CheckResult(check=self.label(), passed=passed, detail=detail)

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        raise NotImplementedError

    def label(self) -> str:
        fields = self.model_dump(exclude_unset=True, mode="json", by_alias=True)
        if self.shorthand and list(fields) == [self.shorthand]:
            return f"{self.kind}: {json.dumps(fields[self.shorthand])}"
        return f"{self.kind}: {json.dumps(fields, sort_keys=True)}"


class Status(Check):
    kind = "status"
    shorthand = "equals"
    equals: Literal["completed", "failed", "cancelled", "budget_exceeded"] = "completed"

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        why = f" ({clip(outcome.reason or outcome.error)})" if outcome.reason or outcome.error else ""
        return outcome.status == self.equals, f"status {outcome.status}{why}"


class AnswerContains(Check):
    kind = "answer_contains"
    shorthand = "text"
    text: str | list[str] = Field(description="every one must appear")
    ignore_case: bool = True

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        answer = outcome.answer or ""
        hay = answer.lower() if self.ignore_case else answer
        missing = [t for t in texts(self.text) if (t.lower() if self.ignore_case else t) not in hay]
        if missing:
            return False, f"answer lacks {missing}: {clip(outcome.answer)}"
        return True, "found"


class AnswerNotContains(Check):
    kind = "answer_not_contains"
    shorthand = "text"
    text: str | list[str] = Field(description="none may appear (case-insensitive)")

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        answer = (outcome.answer or "").lower()
        found = [t for t in texts(self.text) if t.lower() in answer]
        return not found, (f"answer contains {found}: {clip(outcome.answer)}" if found else "absent")


class AnswerRegex(Check):
    kind = "answer_regex"
    shorthand = "pattern"
    pattern: str = Field(description="Python regex, searched; (?i) for case-insensitive")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str | None:
        return compiled(pattern)

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        found = re.search(self.pattern, outcome.answer or "")
        return found is not None, (f"matched {found.group(0)!r}" if found else f"no match in {clip(outcome.answer)}")


class AnswerJson(Check):
    kind = "answer_json"
    path: str
    equals: Any

    @field_validator("path")
    @classmethod
    def _valid(cls, path: str) -> str:
        parse_json_path(path)
        return path

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        return JsonEquals(path=self.path, equals=self.equals).holds(outcome.answer)


class File(Check):
    """A workspace file after the run: exists (or not), and what it holds."""

    kind = "file"
    path: str = Field(min_length=1)
    exists: bool = True
    equals: str | None = None
    contains: str | list[str] | None = Field(default=None, description="case-insensitive")
    not_contains: str | list[str] | None = None
    regex: str | None = None
    json_: JsonEquals | None = Field(default=None, alias="json")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        return compiled(pattern)

    @model_validator(mode="after")
    def _absent_means_nothing_else(self) -> File:
        if not self.exists and any(v is not None for v in (self.equals, self.contains, self.not_contains,
                                                            self.regex, self.json_)):
            raise ValueError("exists: false cannot be combined with checks on the content")
        return self

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        if outcome.files is None:
            return False, "the workspace could not be read"
        text = outcome.files.get(self.path)
        if not self.exists:
            return text is None, ("absent" if text is None else f"{self.path} exists: {clip(text)}")
        if text is None:
            return False, f"no file {self.path} (workspace: {sorted(outcome.files) or 'empty'})"
        if self.equals is not None and text != self.equals and text.rstrip("\n") != self.equals.rstrip("\n"):
            return False, f"{self.path} is {clip(text)}, expected {clip(self.equals)}"
        if self.contains is not None and (missing := [t for t in texts(self.contains) if t.lower() not in text.lower()]):
            return False, f"{self.path} lacks {missing}: {clip(text)}"
        if self.not_contains is not None and (found := [t for t in texts(self.not_contains)
                                                        if t.lower() in text.lower()]):
            return False, f"{self.path} contains {found}"
        if self.regex is not None and re.search(self.regex, text) is None:
            return False, f"{self.path}: no match for {self.regex!r} in {clip(text)}"
        if self.json_ is not None:
            ok, detail = self.json_.holds(text)
            if not ok:
                return False, f"{self.path}: {detail}"
        return True, f"{self.path} ok"


class ToolCalled(ToolMatch, Check):
    """At least `min` (at most `max`) proposed calls match; `ran: true` counts only calls that ran."""

    kind = "tool_called"
    shorthand = "tool"
    ran: bool | None = None
    min: int = Field(default=1, ge=0)
    max: int | None = Field(default=None, ge=0)

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        matching = [c for c in outcome.tool_calls if self.matches_call(c) and (self.ran is None or c.ran == self.ran)]
        ok = len(matching) >= self.min and (self.max is None or len(matching) <= self.max)
        bound = f"{self.min}..{self.max if self.max is not None else ''}"
        return ok, f"{len(matching)} matching call(s), wanted {bound}; calls: {_calls(outcome)}"


class ToolNotCalled(ToolMatch, Check):
    """No proposed call matches: a call the policy denied or a person rejected still counts as tried."""

    kind = "tool_not_called"
    shorthand = "tool"

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        matching = [c.id for c in outcome.tool_calls if self.matches_call(c)]
        return not matching, (f"called: {matching}; calls: {_calls(outcome)}" if matching else "not called")


class ToolSequence(Check):
    """These tools were proposed in this order (other calls may come between)."""

    kind = "tool_sequence"
    shorthand = "tools"
    tools: list[str] = Field(min_length=1)

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        it = iter(c.tool for c in outcome.tool_calls)
        ok = all(any(fnmatch.fnmatchcase(tool, want) for tool in it) for want in self.tools)
        return ok, f"calls: {_calls(outcome)}"


class Approval(Check):
    """A person's decision on a matching call is in the audit trail."""

    kind = "approval"
    tool: str = "*"
    decision: Literal["approved", "rejected", "expired"] = "approved"

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        seen = [f"{a.tool} {a.decision}" for a in outcome.approvals]
        ok = any(fnmatch.fnmatchcase(a.tool, self.tool) and a.decision == self.decision for a in outcome.approvals)
        return ok, f"approvals: {seen or 'none'}"


class NoApproval(Check):
    """No call (of `tool`) waited for a person."""

    kind = "no_approval"
    shorthand = "tool"
    tool: str = "*"

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        asked = [a.tool_call_id for a in outcome.approvals if fnmatch.fnmatchcase(a.tool, self.tool)]
        return not asked, (f"approvals asked for {asked}" if asked else "none asked")


class QuestionAsked(Check):
    kind = "question_asked"
    shorthand = "asked"
    asked: bool = True

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        return bool(outcome.questions) == self.asked, f"questions: {[clip(q, 80) for q in outcome.questions]}"


class _Ceiling(Check):
    shorthand = "limit"
    limit: float = Field(ge=0)
    measure: ClassVar[str]

    def label(self) -> str:
        return f"{self.kind}: {self.limit:g}"

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        used = self.used(outcome)
        return used <= self.limit, f"{self.measure} {used:g} (ceiling {self.limit:g})"

    def used(self, outcome: Outcome) -> float:
        raise NotImplementedError


class MaxSteps(_Ceiling):
    kind, measure = "max_steps", "steps"

    def used(self, outcome: Outcome) -> float:
        return outcome.steps


class MaxToolCalls(_Ceiling):
    kind, measure = "max_tool_calls", "tool calls proposed"

    def used(self, outcome: Outcome) -> float:
        return len(outcome.tool_calls)


class MaxTokens(_Ceiling):
    kind, measure = "max_tokens", "tokens"

    def used(self, outcome: Outcome) -> float:
        return outcome.total_tokens


class MaxCost(_Ceiling):
    kind, measure = "max_cost_usd", "cost USD"

    def used(self, outcome: Outcome) -> float:
        return outcome.cost_usd


class MaxLatency(_Ceiling):
    kind, measure = "max_latency_s", "latency s"

    def used(self, outcome: Outcome) -> float:
        return outcome.latency_s


class Rubric(Check):
    """A judge model grades the answer against `criteria` (activities/judge.py); it passes at `pass_grade`.

    The runner asks the judge before the checks are evaluated and keeps the verdict in the outcome,
    so this check stays pure like the others."""

    kind = "rubric"
    shorthand = "criteria"
    criteria: str = Field(min_length=1, max_length=4000, description="what a good answer does, in plain words")
    model: str | None = Field(default=None, description="the judge (a models file name); default: the plan route's first")
    pass_grade: int = Field(default=4, ge=1, le=5, description="the lowest grade (1-5) that passes")

    def holds(self, outcome: Outcome) -> tuple[bool, str]:
        verdict = outcome.judged.get(self.label())
        if verdict is None:
            return False, "not judged (the judge could not be asked)"
        if verdict.grade is None:
            return False, f"no grade from {verdict.model or 'the judge'}: {verdict.reason}"
        judge = f"{verdict.model} graded {verdict.grade}/5" if verdict.model else f"graded {verdict.grade}/5"
        return verdict.grade >= self.pass_grade, f"{judge} (pass at {self.pass_grade}): {clip(verdict.reason)}"


CHECKS: dict[str, type[Check]] = {c.kind: c for c in (
    Status, AnswerContains, AnswerNotContains, AnswerRegex, AnswerJson, File, ToolCalled, ToolNotCalled,
    ToolSequence, Approval, NoApproval, QuestionAsked, MaxSteps, MaxToolCalls, MaxTokens, MaxCost, MaxLatency, Rubric)}


def _calls(outcome: Outcome) -> str:
    if not outcome.tool_calls:
        return "none"
    return ", ".join(f"{c.tool}{'' if c.ran else ' (not run)'}" for c in outcome.tool_calls)


def parse_check(index: int, raw: Any) -> Check:
    """One entry of `checks:`; the error names the entry, the kind and the field."""
    where = f"checks[{index}]"
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError(f"{where}: a check is a one-key mapping such as {{answer_contains: \"...\"}}, got {raw!r}")
    (kind, value), = raw.items()
    if kind not in CHECKS:
        raise ValueError(f"{where}: unknown check {kind!r}; known: {', '.join(sorted(CHECKS))}")
    model = CHECKS[kind]
    if not isinstance(value, dict):
        if model.shorthand is None:
            fields = ", ".join(f.alias or name for name, f in model.model_fields.items())
            raise ValueError(f"{where}: {kind} takes a mapping of fields: {fields}")
        value = {model.shorthand: value}
    try:
        return model.model_validate(value)
    except ValidationError as e:
        raise ValueError(f"{where}: {kind}: " + "; ".join(describe_error(err) for err in e.errors())) from None


def describe_error(err: Any) -> str:
    """One pydantic error as `field.path: message`, without pydantic's 'Value error, ' prefix."""
    loc = ".".join(str(p) for p in err.get("loc", ()))
    message = str(err.get("msg", "")).removeprefix("Value error, ")
    if err.get("type") == "extra_forbidden":
        message = "unknown field"
    return f"{loc}: {message}" if loc else message
