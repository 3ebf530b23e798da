"""The one data converter every client, worker and replayer uses: pydantic JSON, plus a rule for
shape errors.

The workflow treats pydantic's ValidationError as a failure (AgentRun's failure_exception_types), so a
bad `temporal workflow start --input` fails the run at once instead of retrying its first task
forever. That rule must hold only for what people send. A payload that workers exchange (an activity's
input or result, a continue-as-new checkpoint) can only be malformed because two worker releases
disagree; it raises WireShapeError instead, which fails the workflow task (or the activity attempt),
so Temporal retries it and the run waits for a worker that can read it rather than failing.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

from workflows.contracts import USER_INPUTS


class WireShapeError(Exception):
    """A payload between workers that this worker's code cannot read: retried, never a run failure."""


class _WireJSONConverter(PydanticJSONPlainPayloadConverter):
    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        try:
            return super().from_payload(payload, type_hint)
        except ValidationError as e:
            if type_hint in USER_INPUTS:
                raise
            name = getattr(type_hint, "__name__", str(type_hint))
            problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or name}: {err['msg']}" for err in e.errors())
            raise WireShapeError(
                f"this worker cannot read a {name} payload ({problems}); it was probably written by another "
                "release of the worker: the task is retried until a worker that can read it takes it"
            ) from None


class AgentPayloadConverter(CompositePayloadConverter):
    def __init__(self) -> None:
        wire = _WireJSONConverter()
        super().__init__(*(wire if isinstance(c, JSONPlainPayloadConverter) else c
                           for c in DefaultPayloadConverter.default_encoding_payload_converters))


DATA_CONVERTER = DataConverter(payload_converter_class=AgentPayloadConverter)
