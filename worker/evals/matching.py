"""What checks and approval rules match against: tool calls by name pattern and argument constraints,
text by substring or regex, JSON documents by path. Shared by checks.py and the suite's `approve:`.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from worker.evals.outcome import ToolCallRecord

_MISSING = object()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- matching helpers --------------------------------------------------------------------------------

_MATCHER_KEYS = {"equals", "contains", "not_contains", "regex"}


class ArgMatch(Strict):
    """A constraint on one argument. In a file, a bare value means `equals`."""

    equals: Any = None  # set or not: model_fields_set says (None is a value one may want)
    contains: str | None = Field(default=None, description="substring of the value as text, case-insensitive")
    not_contains: str | None = None
    regex: str | None = Field(default=None, description="Python regex searched in the value as text")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        return compiled(pattern)

    def matches(self, value: Any) -> bool:
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        if "equals" in self.model_fields_set and value != self.equals:
            return False
        if self.contains is not None and self.contains.lower() not in text.lower():
            return False
        if self.not_contains is not None and self.not_contains.lower() in text.lower():
            return False
        return self.regex is None or re.search(self.regex, text) is not None

    def describe(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.model_dump(exclude_unset=True).items()) or "any"


def arg_matcher(raw: Any) -> Any:
    """{contains: x} stays a matcher; anything else (a string, a number, a list) means equals."""
    if isinstance(raw, ArgMatch):
        return raw
    if isinstance(raw, dict) and raw and set(raw) <= _MATCHER_KEYS:
        return raw
    return {"equals": raw}


class ToolMatch(Strict):
    """Which calls: a tool name (fnmatch pattern: `http_*`, `*`) and constraints on arguments."""

    tool: str = Field(min_length=1)
    args: dict[str, ArgMatch] = Field(default_factory=dict)

    @field_validator("args", mode="before")
    @classmethod
    def _bare_values_mean_equals(cls, args: Any) -> Any:
        return {k: arg_matcher(v) for k, v in args.items()} if isinstance(args, dict) else args

    def matches(self, tool: str, arguments: dict[str, Any] | None) -> bool:
        if not fnmatch.fnmatchcase(tool, self.tool):
            return False
        if not self.args:
            return True
        if arguments is None:
            return False  # constraints on arguments nobody saw cannot hold
        return all(name in arguments and m.matches(arguments[name]) for name, m in self.args.items())

    def matches_call(self, call: ToolCallRecord) -> bool:
        return self.matches(call.tool, call.arguments)

    def describe(self) -> str:
        if not self.args:
            return self.tool
        return f"{self.tool}({'; '.join(f'{k}: {m.describe()}' for k, m in self.args.items())})"


def compiled(pattern: str | None) -> str | None:
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as e:
            raise ValueError(f"invalid regex {pattern!r}: {e}") from None
    return pattern


def texts(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def clip(text: str | None, limit: int = 160) -> str:
    if text is None:
        return "(none)"
    one_line = text.replace("\n", "\\n")
    return one_line if len(one_line) <= limit else one_line[:limit] + "..."


# ---- JSON paths ----------------------------------------------------------------------------------------

_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\[\"([^\"]*)\"\]|\['([^']*)'\]")


def parse_json_path(path: str) -> list[str | int]:
    """`$.a.b[0]["c d"]` -> ["a", "b", 0, "c d"]; anything else is refused with where it stopped."""
    if not path.startswith("$"):
        raise ValueError(f"JSON path {path!r} must start with $")
    steps: list[str | int] = []
    at = 1
    while at < len(path):
        m = _STEP.match(path, at)
        if m is None:
            raise ValueError(f"JSON path {path!r}: cannot read {path[at:]!r} (use .key, [index] or [\"key\"])")
        name, index, quoted, single = m.groups()
        steps.append(int(index) if index is not None else (name or quoted or single or ""))
        at = m.end()
    return steps


def json_path_get(document: Any, path: str) -> Any:
    """The value at `path`, or _MISSING."""
    value = document
    for step in parse_json_path(path):
        if isinstance(step, int) and isinstance(value, list) and step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return _MISSING
    return value


def parse_json_text(text: str) -> Any:
    """JSON from an answer or a file: as is, inside ``` fences, or the outermost {...} / [...]."""
    stripped = text.strip()
    fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", stripped, re.S)
    if fenced:
        stripped = fenced.group(1)
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    for open_, close in (("{", "}"), ("[", "]")):
        start, end = stripped.find(open_), stripped.rfind(close)
        if 0 <= start < end:
            try:
                return json.loads(stripped[start:end + 1])
            except json.JSONDecodeError:
                continue
    raise ValueError("not JSON")


class JsonEquals(Strict):
    path: str
    equals: Any

    @field_validator("path")
    @classmethod
    def _valid(cls, path: str) -> str:
        parse_json_path(path)
        return path

    def holds(self, text: str | None) -> tuple[bool, str]:
        if text is None:
            return False, "no text to read JSON from"
        try:
            document = parse_json_text(text)
        except ValueError:
            return False, f"not JSON: {clip(text)}"
        found = json_path_get(document, self.path)
        if found is _MISSING:
            return False, f"{self.path} not found in {clip(json.dumps(document))}"
        if found != self.equals:
            return False, f"{self.path} is {found!r}, expected {self.equals!r}"
        return True, f"{self.path} == {found!r}"
