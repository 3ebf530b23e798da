"""The workflow's activity stubs (workflows/calls.py) and the activities the worker registers agree: every
stub names a defined activity whose one input and result are the stub's types, and every activity has
exactly one typed input and one typed result."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from temporalio import activity

import activities
from workflows import calls


def _defined_activities() -> dict[str, object]:
    """Every @activity.defn under activities/, by name (methods of activity classes included)."""
    found: dict[str, object] = {}
    for info in pkgutil.walk_packages(activities.__path__, "activities."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, member in inspect.getmembers(module):
            candidates = [member] + ([m for _, m in inspect.getmembers(member, inspect.isfunction)]
                                     if inspect.isclass(member) and member.__module__ == module.__name__ else [])
            for fn in candidates:
                if callable(fn) and (definition := activity._Definition.from_callable(fn)) is not None:
                    found[definition.name] = fn
    return found


DEFINED = _defined_activities()


@pytest.mark.parametrize("stub", calls.ALL, ids=lambda s: s.name)
def test_each_stub_matches_its_activity(stub: calls.ActivityStub) -> None:
    assert stub.name in DEFINED, f"no @activity.defn(name={stub.name!r}) under activities/"
    definition = activity._Definition.must_from_callable(DEFINED[stub.name])
    assert definition.arg_types == [stub.input], (stub.name, definition.arg_types)
    assert definition.ret_type is stub.result, (stub.name, definition.ret_type)


@pytest.mark.parametrize("name", sorted(DEFINED))
def test_each_activity_has_one_typed_input_and_result(name: str) -> None:
    definition = activity._Definition.must_from_callable(DEFINED[name])
    assert definition.arg_types is not None and len(definition.arg_types) == 1, (name, definition.arg_types)
    assert definition.ret_type not in (None, type(None), str, dict), (name, definition.ret_type)
    assert definition.arg_types[0].__name__.endswith("Input"), (name, definition.arg_types)


def test_stub_names_are_unique() -> None:
    names = [stub.name for stub in calls.ALL]
    assert len(names) == len(set(names))
