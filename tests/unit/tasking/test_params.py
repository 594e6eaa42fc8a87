"""build_params: server defaults, then the request's S* controls, then its own OpenAI fields."""

from __future__ import annotations

from proxy.local_model.catalog import get_model_spec
from proxy.scaling.types import ScalingParams
from proxy.settings import Settings
from proxy.tasking import FORWARDED_SAMPLING, Overrides, build_params


def test_no_control_and_no_field_gives_the_server_defaults() -> None:
    defaults = Settings(num_samples=6, debug_rounds=1, deadline_s=30).scaling_defaults()
    params = build_params(defaults, Overrides(), {"model": "m"})
    assert params == defaults
    assert (params.samples, params.rounds, params.deadline_s) == (6, 1, 30)


def test_server_settings_that_shape_every_run() -> None:
    llama = Settings(upstream_is_llama_cpp=True, greedy_sample=False, judge="scored")
    defaults = llama.scaling_defaults()
    assert (defaults.one_sample_per_call, defaults.greedy_sample, defaults.judge) == (
        True,
        False,
        "scored",
    )
    plain = Settings().scaling_defaults()
    assert (plain.one_sample_per_call, plain.greedy_sample) == (False, True)


def test_controls_override_the_defaults_once() -> None:
    overrides = Overrides(samples=3, deadline_s=1.5, output="code", seed=7, aux_model="judge")
    params = build_params(ScalingParams(), overrides, {"seed": 99})
    assert (params.samples, params.deadline_s, params.output) == (3, 1.5, "code")
    assert (params.seed, params.aux_model) == (7, "judge")  # the control's seed wins
    assert params.rounds == ScalingParams().rounds


def test_the_requests_own_fields_refine_the_run() -> None:
    body = {
        "max_completion_tokens": 300,
        "max_tokens": 50,
        "seed": 11,
        "top_p": 0.9,
        "user": "u-1",
        "logit_bias": {"42": -5},
        "stop": ["```"],
        "presence_penalty": None,
    }
    params = build_params(ScalingParams(), Overrides(), body)
    assert params.max_tokens_per_call == 300  # max_completion_tokens wins over max_tokens
    assert params.seed == 11
    assert params.sampling_extra == {"top_p": 0.9, "user": "u-1", "logit_bias": {"42": -5}}
    assert "stop" not in FORWARDED_SAMPLING


def test_the_deprecated_max_tokens_and_junk_values() -> None:
    assert build_params(ScalingParams(), Overrides(), {"max_tokens": 64}).max_tokens_per_call == 64
    junk = build_params(ScalingParams(), Overrides(), {"max_tokens": True, "seed": "7"})
    assert (junk.max_tokens_per_call, junk.seed) == (ScalingParams().max_tokens_per_call, None)


def test_n_and_the_deadline_default_to_what_the_upstream_kind_suits() -> None:
    embedded = Settings(upstream_kind="embedded").scaling_defaults()
    assert (embedded.samples, embedded.deadline_s) == (8, 180.0)
    assert Settings(upstream_api_base="http://gpu:8000/v1").upstream_profile().kind == "vllm"
    assert Settings(upstream_is_llama_cpp=True).upstream_profile().kind == "llama_cpp"
    assert Settings().upstream_profile().kind == "hosted"
    chosen = Settings(upstream_kind="embedded", deadline_s=90, num_samples=4).scaling_defaults()
    assert (chosen.samples, chosen.deadline_s) == (4, 90)  # the server's own settings win
    capped = Settings(upstream_kind="embedded", max_deadline_s=150).scaling_defaults()
    assert capped.deadline_s == 150


def test_the_request_timeout_caps_the_runs_deadline() -> None:
    defaults = ScalingParams(deadline_s=120.0)
    asked = build_params(defaults, Overrides(deadline_s=300.0), {}, deadline_cap_s=60.0)
    assert asked.deadline_s == 60.0
    default = build_params(defaults, Overrides(), {}, deadline_cap_s=60.0)
    assert default.deadline_s == 60.0
    shorter = build_params(defaults, Overrides(deadline_s=5.0), {}, deadline_cap_s=60.0)
    assert shorter.deadline_s == 5.0
    assert build_params(defaults, Overrides(deadline_s=300.0), {}).deadline_s == 300.0


def test_the_embedded_profile_knows_the_served_models_speed() -> None:
    small = Settings(upstream_kind="embedded").upstream_profile()
    large = Settings(upstream_kind="embedded", local_model="qwen2.5-coder-1.5b").upstream_profile()
    assert small.decode_tps == get_model_spec("qwen2.5-coder-0.5b").decode_tps
    assert large.decode_tps == get_model_spec("qwen2.5-coder-1.5b").decode_tps
    assert (large.decode_tps or 0) < (small.decode_tps or 0)
