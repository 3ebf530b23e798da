"""The eval suite file: YAML, one case per agent task, each with what a run starts from and what its
outcome must show.

    name: starter
    knowledge: knowledge/          # ingested for the suite's tenant when the runner starts its own worker
    http_fixtures: http/           # served at {http} by the runner's local HTTP server
    defaults: {tenant_id: evals, budgets: {max_steps: 8}}
    cases:
      - id: calc-product
        goal: Use the calculator to compute 37 * 43.
        allowed_tools: [calculator]
        files: {notes.txt: "..."}  # the run's workspace before its first step
        approve: [{tool: write_file, args: {path: out.txt}}]   # the runner approves these, rejects the rest
        checks: [{answer_contains: "1591"}, {max_steps: 3}]
        oracle: [{call: calculator, args: {expression: "37*43"}}, {answer: "1591"}]

`{http}` anywhere in a case is replaced by the base URL of the runner's fixture server. Errors name
the file, the case and the field (`SuiteError`); docs/evals.md lists every field.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, PrivateAttr, SerializeAsAny, ValidationError, field_validator, model_validator

from worker.evals.checks import Check, Status, describe_error, parse_check
from worker.evals.matching import Strict, ToolMatch
from workflows.contracts import Budgets, RecordedWorld, RunRequest

PLACEHOLDER = "{http}"
DEFAULT_REPLY = "Nobody can answer questions during this evaluation; go on with what you have."


class SuiteError(ValueError):
    """A suite file that cannot be used; the message names the file, the case and the field."""


class OracleAction(Strict):
    """One action of a perfect agent: a tool call, a question to the person, or the final answer."""

    call: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    ask: str | None = None
    answer: str | None = None

    @model_validator(mode="after")
    def _one_action(self) -> OracleAction:
        if sum(v is not None for v in (self.call, self.ask, self.answer)) != 1:
            raise ValueError("an oracle action is exactly one of call (with args), ask or answer")
        if self.args and self.call is None:
            raise ValueError("args belong to a call")
        return self

    def decision(self) -> dict[str, Any]:
        """The reply a model would give, in the engine's decision protocol (activities/decision.py)."""
        if self.call is not None:
            return {"action": "call_tool", "tool": self.call, "arguments": self.args}
        if self.ask is not None:
            return {"action": "ask_human", "question": self.ask}
        return {"action": "final_answer", "answer": self.answer}


class Defaults(Strict):
    tenant_id: str = "evals"
    user_id: str = "evals"
    allowed_tools: list[str] | None = None
    approval_risk_level: int = Field(default=2, ge=0, le=5)
    budgets: dict[str, Any] = Field(default_factory=dict, description="RunRequest budgets: max_steps, max_tokens, ...")
    max_output_tokens: int = Field(default=512, ge=16)
    timeout_s: float = Field(default=300, gt=0, description="the runner gives up on a run after this long")
    reply: str = Field(default=DEFAULT_REPLY, description="what the runner answers when a run asks the person")
    instructions: str | None = Field(default=None, description="added to every run's system prompt (RunRequest."
                                     "instructions): the prompt variant under test")


class Case(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    goal: str = Field(min_length=1)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict, description="the workspace before the first step")
    allowed_tools: list[str] | None = None
    approval_risk_level: int | None = Field(default=None, ge=0, le=5)
    budgets: dict[str, Any] | None = Field(default=None, description="merged over the defaults' budgets")
    max_output_tokens: int | None = Field(default=None, ge=16)
    timeout_s: float | None = Field(default=None, gt=0)
    approve: list[ToolMatch] = Field(default_factory=list, description="calls the runner approves; it rejects the rest")
    reply: str | None = None
    checks: list[SerializeAsAny[Check]] = Field(min_length=1)
    oracle: list[OracleAction] = Field(default_factory=list)
    world: str | None = Field(default=None, description="a recorded world (JSON, relative to the suite file): tool "
                              "calls equal to recorded ones are answered from it (worker.evals capture writes it)")

    @field_validator("checks", mode="before")
    @classmethod
    def _parse_checks(cls, raw: Any) -> Any:
        if not isinstance(raw, list):
            return raw
        if not raw:
            raise ValueError("a case needs at least one check")
        checks = [parse_check(i, item) for i, item in enumerate(raw)]
        if not any(isinstance(c, Status) for c in checks):
            checks.insert(0, Status(equals="completed"))  # every case expects a completed run unless it says
        return checks

    @model_validator(mode="after")
    def _oracle_ends_with_the_answer(self) -> Case:
        if self.oracle:
            answers = [i for i, a in enumerate(self.oracle) if a.answer is not None]
            if answers != [len(self.oracle) - 1]:
                raise ValueError("oracle: the last action, and only the last, is the answer")
        return self

    def needs_http(self) -> bool:
        return PLACEHOLDER in json.dumps(self.model_dump(mode="json"))


class Suite(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    knowledge: str | None = Field(default=None, description="folder of documents, relative to the suite file")
    http_fixtures: str | None = Field(default=None, description="folder served at {http}, relative to the file")
    defaults: Defaults = Field(default_factory=Defaults)
    cases: list[Case] = Field(min_length=1)
    _source: Path = PrivateAttr(default=Path("."))

    @model_validator(mode="after")
    def _unique(self) -> Suite:
        for field in ("id", "goal"):
            seen: dict[str, str] = {}
            for case in self.cases:
                value = getattr(case, field)
                if value in seen:
                    why = " (the oracle finds a case by its goal)" if field == "goal" else ""
                    raise ValueError(f"cases {seen[value]!r} and {case.id!r} have the same {field}{why}")
                seen[value] = case.id
        return self

    @property
    def source(self) -> Path:
        return self._source

    def folder(self, relative: str | None) -> Path | None:
        return None if relative is None else (self._source.parent / relative).resolve()

    def request(self, case: Case) -> RunRequest:
        d = self.defaults
        return RunRequest(
            goal=case.goal,
            tenant_id=d.tenant_id,
            user_id=d.user_id,
            instructions=d.instructions,
            allowed_tools=case.allowed_tools if case.allowed_tools is not None else d.allowed_tools,
            approval_risk_level=case.approval_risk_level if case.approval_risk_level is not None
            else d.approval_risk_level,
            budgets=Budgets.model_validate({**d.budgets, **(case.budgets or {})}),
            max_output_tokens=case.max_output_tokens or d.max_output_tokens,
            # A forgotten approval must not hold a run for a day; the runner decides within seconds.
            approval_timeout_s=600,
            files=case.files or None,
            world=self.world(case),
        )

    def world(self, case: Case) -> RecordedWorld | None:
        if case.world is None:
            return None
        path = self._source.parent / case.world
        try:
            return RecordedWorld.model_validate_json(path.read_text())
        except OSError as e:
            raise SuiteError(f"{self._source}: case {case.id!r}: world: cannot read {path}: {e.strerror}") from None
        except ValidationError as e:
            raise SuiteError(f"{self._source}: case {case.id!r}: world: {path} is not a recorded world: "
                             f"{e.errors()[0]['msg']}") from None

    def timeout_s(self, case: Case) -> float:
        return case.timeout_s or self.defaults.timeout_s

    def reply(self, case: Case) -> str:
        return case.reply if case.reply is not None else self.defaults.reply

    def select(self, patterns: list[str] | None) -> list[Case]:
        """Cases whose id matches a pattern (fnmatch) or that carry it as a tag; all without patterns."""
        if not patterns:
            return list(self.cases)
        unmatched = [p for p in patterns if not any(_selected(c, [p]) for c in self.cases)]
        if unmatched:
            raise SuiteError(f"{self._source}: no case id or tag matches {unmatched}")
        return [c for c in self.cases if _selected(c, patterns)]


def _selected(case: Case, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(case.id, p) or p in case.tags for p in patterns)


def load_suite(path: str | Path, http_base: str | None = None) -> Suite:
    """Read and check a suite; `http_base` replaces {http} (left as is when None)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as e:
        raise SuiteError(f"{path}: cannot read: {e.strerror}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise SuiteError(f"{path}:{where} not valid YAML: {getattr(e, 'problem', None) or e}") from None
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: a suite is a mapping with name, defaults and cases")
    if http_base is not None:
        raw = _substitute(raw, http_base)
    try:
        suite = Suite.model_validate(raw)
    except ValidationError as e:
        raise SuiteError("\n".join(_explain(path, raw, err) for err in e.errors())) from None
    suite._source = path
    for case in suite.cases:
        try:
            suite.request(case)
        except ValidationError as e:
            problems = "; ".join(describe_error(err) for err in e.errors())
            raise SuiteError(f"{path}: case {case.id!r}: not a valid run request: {problems}") from None
    for name, folder in (("knowledge", suite.knowledge), ("http_fixtures", suite.http_fixtures)):
        if (found := suite.folder(folder)) is not None and not found.is_dir():
            raise SuiteError(f"{path}: {name}: no folder {found}")
    return suite


def _substitute(value: Any, http_base: str) -> Any:
    if isinstance(value, str):
        return value.replace(PLACEHOLDER, http_base)
    if isinstance(value, list):
        return [_substitute(v, http_base) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, http_base) for k, v in value.items()}
    return value


def _explain(path: Path, raw: dict[str, Any], err: Any) -> str:
    """`starter.yaml: case 'calc' (cases[3]): checks: checks[1]: answer_regex: ...`, with a suggestion
    for a misspelt field."""
    loc = list(err.get("loc", ()))
    where = f"{path}:"
    model: type[Strict] = Suite
    cases = raw.get("cases")
    if loc[:1] == ["cases"] and len(loc) > 1 and isinstance(loc[1], int) and isinstance(cases, list):
        item = cases[loc[1]] if loc[1] < len(cases) else None
        case_id = item.get("id") if isinstance(item, dict) else None
        where += f" case {case_id!r} (cases[{loc[1]}]):" if case_id else f" cases[{loc[1]}]:"
        loc, model = loc[2:], Case
    elif loc[:1] == ["defaults"]:
        where += " defaults:"
        loc, model = loc[1:], Defaults
    message = describe_error({**err, "loc": loc})
    if err.get("type") == "extra_forbidden" and len(loc) == 1:
        close = difflib.get_close_matches(str(loc[0]), list(model.model_fields), n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
    return f"{where} {message}"
