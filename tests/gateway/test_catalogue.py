"""The models file: validated at worker start, with the file, the key and the reason in every error."""

from __future__ import annotations

import pytest
import yaml

from activities.gateway.catalogue import ModelsFileError, load_models_file
from worker.settings import REPO_ROOT

ENTRY = {"name": "m", "provider": "openai", "api_key_env": "TEST_KEY_VAR", "context_window": 1000,
         "max_output_tokens": 100, "data_classes": ["public"],
         "price_per_mtok": {"input": 1.0, "cached_input": 0.5, "output": 2.0}}


def write(tmp_path, models, routes=None):
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump({"models": models, "routes": routes or {"plan": ["m"], "act": ["m"]}}))
    return path


def test_shipped_models_file_loads_with_the_embedded_model():
    """worker/models.yaml is valid and routes every step kind to the embedded model."""
    models = load_models_file(REPO_ROOT / "worker" / "models.yaml", environ={})
    [embedded] = models.models
    assert embedded.provider == "llamacpp" and embedded.self_hosted
    assert embedded.base_url == "http://127.0.0.1:8081/v1"
    assert "confidential" in embedded.data_classes


def test_environment_expansion_and_key_availability(tmp_path):
    """${VAR:-default} expands; a model whose key variable is unset is listed as unavailable, never its key."""
    entry = {**ENTRY, "base_url": "${TEST_BASE:-http://x/v1}"}
    path = write(tmp_path, [entry])
    unset = load_models_file(path, environ={})
    assert unset.models[0].base_url == "http://x/v1"
    info = unset.models[0].info()
    assert not info.available and "TEST_KEY_VAR is not set" in info.unavailable_reason
    assert load_models_file(path, environ={"TEST_BASE": "http://y/v1"}).models[0].base_url == "http://y/v1"


@pytest.mark.parametrize(
    ("models", "routes", "expected"),
    [
        ([{**ENTRY, "colour": "red"}], None, "models.0.colour: unknown key"),
        ([{**ENTRY, "provider": "acme"}], None, "models.0.provider"),
        ([{**ENTRY, "context_window": 0}], None, "models.0.context_window"),
        ([{**ENTRY, "data_classes": ["confidential"]}], None, "models.0: only self-hosted models may receive confidential data"),
        ([ENTRY], {"plan": ["m"], "act": ["ghost"]}, "route 'act' names unknown models ['ghost']"),
        ([ENTRY, ENTRY], None, "repeated: ['m']"),
    ],
)
def test_bad_files_fail_with_file_key_and_reason(tmp_path, models, routes, expected):
    """Each kind of mistake names where it is and why it is wrong."""
    path = write(tmp_path, models, routes)
    with pytest.raises(ModelsFileError) as error:
        load_models_file(path, environ={})
    assert str(path) in str(error.value) and expected in str(error.value)


def test_unset_variable_without_default_is_an_error(tmp_path):
    """A ${VAR} with no default and no value stops the worker with the variable's name."""
    path = write(tmp_path, [{**ENTRY, "base_url": "${NOT_SET_ANYWHERE}"}])
    with pytest.raises(ModelsFileError, match="NOT_SET_ANYWHERE is not set"):
        load_models_file(path, environ={})


def test_price_table_gives_the_cost_of_a_call():
    """Uncached input, cached input and output are each priced per million tokens."""
    from workflows.contracts import Price, Usage

    price = Price(input=3.0, cached_input=0.3, output=15.0)
    usage = Usage(prompt_tokens=10_000, cached_prompt_tokens=8_000, completion_tokens=1_000)
    assert price.cost(usage) == pytest.approx((2_000 * 3.0 + 8_000 * 0.3 + 1_000 * 15.0) / 1e6)


def test_token_counters_use_a_tokenizer_file_when_the_model_names_one(tmp_path):
    """A self-hosted model with tokenizer_file counts exactly with it; one without is estimated."""
    from activities.gateway.breaker import BreakerRegistry
    from activities.gateway.gateway import Gateway
    from worker.main import token_counters

    tokenizer = REPO_ROOT / "activities" / "retrieval" / "assets" / "tokenizer.json"
    exact = {**ENTRY, "name": "exact", "provider": "sglang", "api_key_env": None, "tokenizer_file": str(tokenizer)}
    path = write(tmp_path, [exact, {**ENTRY, "api_key_env": None}], {"plan": ["m"], "act": ["m"]})
    counters = token_counters(Gateway(load_models_file(path, environ={}), BreakerRegistry()))
    assert counters("exact").exact and not counters("m").exact
    assert counters("exact").count("durable agent runs") > 0
