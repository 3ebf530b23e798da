"""The tool registry: what a tool declares, and the one place tools are looked up by name.

A tool is a plain function `handler(ctx, args)` whose `args` is a pydantic model. Its spec (name,
JSON schema, risk level, idempotency kind) is what the workflow records in history; the handler
never leaves the worker.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict

from workflows.contracts import ToolSpec

Idempotency = Literal["idempotent", "keyed", "not_idempotent"]
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class ToolArgs(BaseModel):
    """The base of every built-in tool's arguments: an unknown field is an error, never silently kept.

    A model that adds `"pre_approved": true` or `"sudo": true` to a call must see it refused, not have it
    pass validation and sit in front of the approver as if it meant something. `tool()` applies the same
    default to an args model that does not choose its own `extra` setting.
    """

    model_config = ConfigDict(extra="forbid")


class ToolError(Exception):
    """A business failure the model should see (bad path, division by zero), not a crash."""

    def __init__(self, message: str, error_type: str = "tool_error") -> None:
        super().__init__(message)
        self.error_type = error_type


class ToolRegistrationError(ValueError):
    """A duplicate or malformed tool: raised at worker start, never mid-run."""


@dataclass
class ToolContext:
    run_id: str
    tool_call_id: str
    idempotency_key: str
    workspace: Path
    tenant_id: str
    user_id: str
    # Keyed tools write what they need to recognise their own effect after a crash here; the
    # ledger persists it before the side effect happens (see activities/tools/execute.py).
    save_pre_state: Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args_model: type[BaseModel]
    risk_level: int
    idempotency: Idempotency
    handler: Callable[[ToolContext, Any], Any]
    # For keyed tools: given the pre-state saved before an interrupted attempt, return the result
    # if the effect already happened, or None to run the handler again.
    reconcile: Callable[[ToolContext, Any, dict[str, Any]], Any] | None = None
    timeout_s: float = 60.0
    heartbeat_timeout_s: float | None = None
    approval: Literal["by_risk", "always"] = "by_risk"
    result_model: type[BaseModel] | None = None

    def spec(self) -> ToolSpec:
        return ToolSpec(
            name=self.name,
            description=self.description,
            risk_level=self.risk_level,
            parameters=self.args_model.model_json_schema(),
            idempotency=self.idempotency,
            timeout_s=self.timeout_s,
            heartbeat_timeout_s=self.heartbeat_timeout_s,
            approval=self.approval,
            result_schema=self.result_model.model_json_schema() if self.result_model else None,
        )


def tool(
    *,
    name: str,
    description: str,
    risk_level: int,
    idempotency: Idempotency,
    timeout_s: float = 60.0,
    heartbeat_timeout_s: float | None = None,
    reconcile: Callable[[ToolContext, Any, dict[str, Any]], Any] | None = None,
    approval: Literal["by_risk", "always"] = "by_risk",
) -> Callable[[Callable[..., Any]], Tool]:
    """Turn `handler(ctx, args: SomeModel)` into a Tool; the args model comes from the annotation."""

    def wrap(handler: Callable[..., Any]) -> Tool:
        params = list(inspect.signature(handler).parameters)
        hints = get_type_hints(handler)
        args_model = hints.get(params[1]) if len(params) == 2 else None
        result_model = hints.get("return")
        result_model = result_model if isinstance(result_model, type) and issubclass(result_model, BaseModel) else None
        if not (isinstance(args_model, type) and issubclass(args_model, BaseModel)):
            raise ToolRegistrationError(
                f"tool {name!r}: handler must be `def f(ctx, args: <pydantic model>)`"
            )
        return Tool(
            name=name,
            description=description,
            args_model=_forbidding_extra(args_model),
            risk_level=risk_level,
            idempotency=idempotency,
            handler=handler,
            timeout_s=timeout_s,
            heartbeat_timeout_s=heartbeat_timeout_s,
            reconcile=reconcile,
            approval=approval,
            result_model=result_model,
        )

    return wrap


def _forbidding_extra(model: type[BaseModel]) -> type[BaseModel]:
    """`model`, or a subclass of it that rejects unknown fields where `model` left that unsaid.

    An explicit choice stays (MCP's pass-through arguments allow extras on purpose)."""
    if "extra" in model.model_config:
        return model
    namespace = {"model_config": ConfigDict(extra="forbid"), "__module__": model.__module__,
                 "__qualname__": model.__qualname__, "__doc__": model.__doc__}
    return type(model.__name__, (model,), namespace)


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for t in tools:
            self.register(t)

    def register(self, t: Tool) -> None:
        if not _NAME.match(t.name):
            raise ToolRegistrationError(f"tool name {t.name!r} must match {_NAME.pattern}")
        if t.name in self._tools:
            raise ToolRegistrationError(f"tool {t.name!r} is registered twice")
        if not 0 <= t.risk_level <= 4:
            raise ToolRegistrationError(f"tool {t.name!r}: risk_level must be 0..4, got {t.risk_level}")
        if not t.description.strip():
            raise ToolRegistrationError(f"tool {t.name!r} has no description")
        if t.idempotency == "keyed" and t.reconcile is None:
            raise ToolRegistrationError(f"tool {t.name!r} is keyed but declares no reconcile()")
        self._tools[t.name] = t

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def specs(self) -> list[ToolSpec]:
        """Sorted by name so the model sees the same catalogue in the same order every step."""
        return [self._tools[n].spec() for n in sorted(self._tools)]

    @classmethod
    def from_modules(cls, modules: Iterable[str], entry_point_group: str | None = None,
                     builders: Mapping[str, Callable[[], Iterable[Tool]]] | None = None) -> ToolRegistry:
        """Each module lists its tools in a module-level `TOOLS` sequence. Installed packages add
        modules through entry points in `entry_point_group` (each entry point names a module). A module
        whose tools are built from settings is built by `builders[module name]` instead: the worker
        reads those settings (worker/tool_settings.py), the module never does."""
        registry = cls()
        sources = [(m, m) for m in modules]
        if entry_point_group:
            sources += [(f"entry point {ep.name!r} ({ep.value})", ep.value)
                        for ep in importlib.metadata.entry_points(group=entry_point_group)]
        for label, module_name in sources:
            try:
                module = importlib.import_module(module_name)
            except ImportError as e:
                raise ToolRegistrationError(f"tool module {label}: cannot import: {e}") from e
            build = (builders or {}).get(module_name)
            tools = build() if build is not None else getattr(module, "TOOLS", None)
            if tools is None:
                raise ToolRegistrationError(f"tool module {label} has no TOOLS list")
            for t in tools:
                if not isinstance(t, Tool):
                    raise ToolRegistrationError(f"{label}: TOOLS holds {t!r}, not a Tool")
                registry.register(t)
        return registry
