"""The model activity: one decision per call, with bounded repair of malformed replies."""

from __future__ import annotations

from datetime import timedelta

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.decision import MalformedDecision, decision_schema, parse_decision, render_prompt
from activities.heartbeat import with_heartbeats
from activities.providers.base import ChatRequest, ModelProvider, ProviderError
from workflows.contracts import DecideInput, DecideResult, Message, Usage

log = structlog.get_logger(__name__)

# Error types the workflow's retry policy treats as final (see workflows/retry.py).
MALFORMED_DECISION = "MalformedDecision"


class ModelActivities:
    def __init__(self, provider: ModelProvider, default_model: str, max_repairs: int = 2) -> None:
        self.provider = provider
        self.default_model = default_model
        self.max_repairs = max_repairs

    @activity.defn(name="model.decide")
    async def decide(self, input: DecideInput) -> DecideResult:
        model = input.model or self.default_model
        prompt = render_prompt(input.messages, input.tools)
        schema = decision_schema(input.tools)
        usage = Usage()
        latency_ms = 0.0
        problem = ""
        for attempt in range(self.max_repairs + 1):
            request = ChatRequest(model=model, messages=prompt, max_output_tokens=input.max_output_tokens, json_schema=schema)
            try:
                response = await with_heartbeats(self.provider.chat(request), {"model": model, "repair": attempt})
            except ProviderError as e:
                raise _to_application_error(e) from e
            usage = Usage(
                prompt_tokens=usage.prompt_tokens + response.usage.prompt_tokens,
                completion_tokens=usage.completion_tokens + response.usage.completion_tokens,
                cached_prompt_tokens=usage.cached_prompt_tokens + response.usage.cached_prompt_tokens,
                cost_usd=usage.cost_usd + response.usage.cost_usd,
            )
            latency_ms += response.latency_ms
            try:
                decision = parse_decision(response.text, input.tools)
            except MalformedDecision as e:
                problem = str(e)
                log.warning("model.malformed_decision", model=model, attempt=attempt, problem=problem)
                prompt = [
                    *prompt,
                    Message(role="assistant", content=response.text),
                    Message(role="user", content=f"That reply was invalid: {problem}. Reply again with one valid JSON object."),
                ]
                continue
            log.info("model.decided", model=model, kind=decision.kind, repairs=attempt, latency_ms=round(latency_ms))
            return DecideResult(
                decision=decision,
                usage=usage,
                model=response.model,
                provider=response.provider,
                latency_ms=latency_ms,
                repair_attempts=attempt,
            )
        raise ApplicationError(
            f"model {model} gave no valid decision after {self.max_repairs} repair attempts: {problem}",
            type=MALFORMED_DECISION,
            non_retryable=True,
        )


def _to_application_error(e: ProviderError) -> ApplicationError:
    delay = timedelta(seconds=e.retry_after_s) if e.retry_after_s else None
    return ApplicationError(
        str(e),
        {"kind": e.kind, "status_code": e.status_code},
        type=f"Provider.{e.kind}",
        non_retryable=not e.retryable,
        next_retry_delay=delay,
    )
