"""One call to one named model: provider lookup, circuit breaker, cost from the price table."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace

from activities.gateway.breaker import BreakerRegistry
from activities.gateway.catalogue import ModelConfig, ModelsFile
from activities.providers.anthropic_messages import AnthropicProvider
from activities.providers.base import OUTAGE_KINDS, ChatRequest, ChatResponse, ModelProvider, ProviderError
from activities.providers.control_tokens import vocabulary_tokens
from activities.providers.openai_compat import OpenAICompatibleProvider
from inference.embedded_model import ensure_model
from inference.package_files import PackageFileError
from workflows.contracts import ModelCatalogue


def build_provider(config: ModelConfig) -> ModelProvider:
    if config.provider == "anthropic":
        return AnthropicProvider(base_url=config.base_url, api_key=config.api_key(), name=config.provider,
                                 timeout_s=config.timeout_s, stream=config.stream)
    return OpenAICompatibleProvider(
        base_url=config.base_url,
        api_key=config.api_key(),
        name=config.provider,
        schema_style=config.schema_style,  # type: ignore[arg-type]
        timeout_s=config.timeout_s,
        stream=config.stream,
        send_cache_salt=config.provider == "sglang",
    )


def tenant_cache_salt(tenant_id: str) -> str:
    """Tenants never share prefix-cache entries; the salt reveals nothing about the tenant id."""
    return hashlib.sha256(f"agent-engine/{tenant_id}".encode()).hexdigest()[:32]


class Gateway:
    def __init__(self, models: ModelsFile, breakers: BreakerRegistry) -> None:
        self.models = models
        self.breakers = breakers
        self._providers: dict[str, ModelProvider] = {}
        self._control_tokens: dict[str, tuple[str, ...]] = {}

    def catalogue(self) -> ModelCatalogue:
        return self.models.catalogue()

    def config(self, name: str) -> ModelConfig:
        config = self.models.get(name)
        if config is None:
            known = ", ".join(m.name for m in self.models.models)
            raise ProviderError(f"no model named {name!r} in the models file (known: {known})",
                                kind="invalid_request", retryable=False)
        return config

    async def control_tokens(self, config: ModelConfig) -> tuple[str, ...]:
        """The model's own special tokens that the generic neutraliser misses, read once from its
        tokenizer where one is known (its tokenizer_file; the embedded GGUF for llamacpp)."""
        if config.name not in self._control_tokens:
            gguf = None
            if config.provider == "llamacpp" and config.tokenizer_file is None:
                try:
                    gguf = await asyncio.to_thread(ensure_model)
                except PackageFileError:
                    gguf = None  # the server's model is elsewhere: the known families still apply
            try:
                tokens = await asyncio.to_thread(vocabulary_tokens, config.tokenizer_file, gguf)
            except (OSError, ValueError, ImportError) as e:
                raise ProviderError(f"{config.name}: cannot read the special tokens of its tokenizer: {e}",
                                    kind="invalid_request", retryable=False) from e
            self._control_tokens[config.name] = tokens
        return self._control_tokens[config.name]

    def uses_native_tools(self, name: str) -> bool:
        return self.config(name).provider == "anthropic"

    async def chat(self, name: str, request: ChatRequest) -> ChatResponse:
        config = self.config(name)
        if (key_env := config.api_key_env) and not config.api_key():
            raise ProviderError(f"{name}: environment variable {key_env} is not set", kind="authentication",
                                retryable=False)
        breaker = self.breakers.for_endpoint(config.endpoint)
        # While a probe is out, wait for its verdict (at most as long as the probe may take): callers
        # go through the moment the endpoint answers again, instead of sleeping out a backoff.
        if not await breaker.admit(wait_s=config.timeout_s):
            last = f" (last: {breaker.last_error})" if breaker.last_error else ""
            raise ProviderError(
                f"circuit open for {config.endpoint} after {breaker.failures} failures in the last "
                f"{breaker.window_s:g} s{last}; next probe in {breaker.retry_in():.0f} s",
                kind="circuit_open", retryable=False, retry_after_s=breaker.retry_in(),
            )
        provider = self._providers.get(name) or self._providers.setdefault(name, build_provider(config))
        try:
            response = await provider.chat(replace(request, model=config.remote_name or config.name,
                                                   control_tokens=await self.control_tokens(config)))
        except ProviderError as e:
            if e.kind in OUTAGE_KINDS:
                breaker.record_failure(str(e))
            else:
                breaker.record_success()  # the endpoint answered; the request was the problem
            raise
        except BaseException:
            # Cancelled (or a bug): no verdict on the endpoint. A half-open probe must be handed back,
            # or the breaker would refuse every later call until the worker restarts.
            breaker.abandon()
            raise
        breaker.record_success()
        usage = response.usage.model_copy(update={"cost_usd": config.price_per_mtok.cost(response.usage)})
        return ChatResponse(text=response.text, usage=usage, model=name, provider=response.provider,
                            finish_reason=response.finish_reason, latency_ms=response.latency_ms,
                            tool_call=response.tool_call)
