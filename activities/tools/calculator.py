"""A read-only arithmetic tool: small models are poor at arithmetic, so the demo gives them one."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

from pydantic import Field

from activities.tools.registry import ToolArgs, ToolContext, ToolError, tool

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_MAX_EXPONENT = 64


class CalculatorArgs(ToolArgs):
    expression: str = Field(max_length=200, description="arithmetic such as 12*(3+4)/2")


def _eval(node: ast.AST) -> int | float:
    # Walk the AST ourselves: eval() on model output would be a code-execution hole.
    # Numbers only: a bool is an int subclass, and True is not arithmetic the model meant.
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise ToolError(f"exponent {right} is larger than {_MAX_EXPONENT}", "invalid_arguments")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    raise ToolError(f"unsupported expression element: {ast.dump(node)[:60]}", "invalid_arguments")


@tool(
    name="calculator",
    description="Evaluate an arithmetic expression (+ - * / // % ** and parentheses) exactly.",
    risk_level=0,
    idempotency="idempotent",
)
def calculator(ctx: ToolContext, args: CalculatorArgs) -> dict:
    try:
        tree = ast.parse(args.expression.replace("^", "**"), mode="eval")
    except SyntaxError as e:
        raise ToolError(f"not an arithmetic expression: {e.msg}", "invalid_arguments") from e
    try:
        value = _eval(tree.body)
    except ZeroDivisionError as e:
        raise ToolError("division by zero", "invalid_arguments") from e
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return {"expression": args.expression, "value": value}


TOOLS = [calculator]
