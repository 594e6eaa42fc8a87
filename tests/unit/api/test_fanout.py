"""The pure parts of ``n`` fan-out: what was asked, what is missing, how answers merge."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from proxy.api.fanout import (
    FANOUT_CONCURRENCY,
    choices_asked,
    complete_choices,
    decode_answer,
    merge_answers,
    missing_choices,
    single_choice_bodies,
)
from proxy.errors import InvalidRequestError


def test_choices_asked_ignores_malformed_n_and_embeddings() -> None:
    assert choices_asked("chat/completions", {"n": 3}) == 3
    assert choices_asked("completions", {"n": 2}) == 2
    assert choices_asked("chat/completions", {}) == 1
    assert choices_asked("chat/completions", {"n": True}) == 1
    assert choices_asked("chat/completions", {"n": "3"}) == 1
    assert choices_asked("chat/completions", {"n": 0}) == 1
    assert choices_asked("embeddings", {"n": 3}) == 1


def test_missing_choices_count_distinct_indices() -> None:
    assert missing_choices({"choices": [{"index": 0}, {"index": 0}]}, 3) == 2
    assert missing_choices({"choices": [{"index": 0}, {"index": 1}]}, 2) == 0
    assert missing_choices({"choices": "odd"}, 2) == 0
    assert missing_choices({"choices": []}, 2) == 0  # nothing suggests n was ignored
    assert decode_answer(b"not json") is None
    assert decode_answer(b'{"data": []}') is None
    assert decode_answer(b'{"choices": []}') == {"choices": []}


def test_single_choice_bodies_offset_the_seed_only_when_there_is_one() -> None:
    assert single_choice_bodies({"n": 3, "seed": 9}, 2) == [
        {"n": 1, "seed": 10},
        {"n": 1, "seed": 11},
    ]
    assert single_choice_bodies({"n": 2, "seed": None}, 1) == [{"n": 1, "seed": None}]


def test_merge_renumbers_after_the_upstream_choices_and_sums_usage() -> None:
    first = {
        "id": "a",
        "choices": [{"index": 0, "text": "x"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6, "extra": {}},
    }
    extras: list[dict[str, Any]] = [
        {"id": "b", "choices": [{"index": 0, "text": "y"}], "usage": {"prompt_tokens": 5,
         "completion_tokens": 2, "total_tokens": 7}},
        {"id": "c", "choices": [{"index": 0, "text": "z"}]},  # no usage reported
    ]  # fmt: skip
    merged = merge_answers(first, extras)
    assert merged["id"] == "a"
    assert [(c["index"], c["text"]) for c in merged["choices"]] == [(0, "x"), (1, "y"), (2, "z")]
    assert merged["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 3,
        "total_tokens": 13,
        "extra": {},
    }
    assert "usage" not in merge_answers({"choices": []}, extras)


async def test_fan_out_is_capped_and_runs_few_calls_at_a_time() -> None:
    in_flight = peak = 0

    async def ask_one(body: dict[str, Any]) -> dict[str, Any]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return {"choices": [{"index": 0, "text": str(body["seed"])}]}

    first = {"choices": [{"index": 0, "text": "first"}]}
    merged, note = await complete_choices(first, {"seed": 0}, 11, ask_one, max_calls=10)
    assert len(merged["choices"]) == 11
    assert note == "10 call(s) added 10 choice(s)"
    assert peak == FANOUT_CONCURRENCY
    with pytest.raises(InvalidRequestError) as caught:
        await complete_choices(first, {}, 12, ask_one, max_calls=10)
    assert caught.value.param == "n"
    assert "ask for n <= 11" in caught.value.message
    assert peak == FANOUT_CONCURRENCY  # refused before any call


async def test_an_answer_without_choices_is_not_completed() -> None:
    async def ask_one(body: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("no call expected")

    empty: dict[str, Any] = {"choices": []}
    assert await complete_choices(empty, {}, 3, ask_one, max_calls=10) == (empty, None)
