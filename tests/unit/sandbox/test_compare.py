"""Comparators and the clustering key, rule by rule (SANDBOX.md §5)."""

from __future__ import annotations

import pytest

from sandbox import RunResult, Status, behaviour_key, judge, outputs_match, values_match


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        ("3.0", "3"),
        ("1000", "1_000"),
        ("1000", "1e3"),
        ("inf", "Infinity"),
        ("1 2\r\n3 4\r\n", "1 2\n3 4"),
        ("1 2   \n3 4", "1 2\n3 4"),
        ("1  2", "1 2"),
        ("  hello  \n", "hello"),
        ("nan", "nan"),
        ("", ""),
        ("a\n\nb", "a\n\nb"),
    ],
)
def test_lcb_accepts(actual: str, expected: str) -> None:
    assert outputs_match(actual, expected)


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        ("3.0000000000000001", "3"),
        ("nan", "NaN"),
        ("YES", "yes"),
        ("a  b", "a b"),
        ("1\n2", "1 2"),
        ("1\n2\n3", "1\n2"),
        ("a\nb", "a\n\nb"),
        ("2 1", "1 2"),
        ("1 2", "1 1 2"),
        ("", "5"),
        ("sNaN", "1"),
        ("\ufffd", "1"),
    ],
)
def test_lcb_rejects(actual: str, expected: str) -> None:
    assert not outputs_match(actual, expected)


def test_strict_is_strip_then_equal() -> None:
    assert outputs_match(" 3 \n", "3", mode="strict")
    assert not outputs_match("3.0", "3", mode="strict")
    assert not outputs_match("1  2", "1 2", mode="strict")


def test_tokens_ignores_layout_and_case_with_tolerance() -> None:
    assert outputs_match("1\n2   3", "1 2 3", mode="tokens")
    assert outputs_match("YES", "yes", mode="tokens")
    assert not outputs_match("YES", "yes", mode="tokens", case_sensitive=True)
    assert outputs_match("0.3333333", "0.333333333", mode="tokens")
    assert outputs_match("1000000.5", "1000000", mode="tokens", abs_tol=0, rel_tol=1e-6)
    assert not outputs_match("1.1", "1.0", mode="tokens")
    assert not outputs_match("1 2", "1 2 3", mode="tokens")
    assert not outputs_match("nan", "inf", mode="tokens")


def test_tokens_space_sensitive_keeps_lines() -> None:
    assert not outputs_match("1\n2", "1 2", mode="tokens", space_sensitive=True)
    assert outputs_match("1  2\r\n3\n\n", "1 2\n3", mode="tokens", space_sensitive=True)


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="compare mode"):
        outputs_match("1", "1", mode="apps")


def test_values_match_modes() -> None:
    assert values_match("[1,2]", "[1, 2]")
    assert values_match('{"a":1,"b":[true]}', '{"b": [true], "a": 1}')
    assert not values_match("[1,2]", "[2,1]")
    assert not values_match('{"__repr__":"<X>"}', "5")
    assert not values_match("0.30000000000000004", "0.3")
    assert values_match("0.30000000000000004", "0.3", mode="tokens")
    assert values_match('[1.0000001, {"x": 2}]', '[1, {"x": 2.0000001}]', mode="tokens")
    assert not values_match("true", "1", mode="tokens")
    assert not values_match("not json", "1")


def test_behaviour_key() -> None:
    ok = RunResult(Status.OK, stdout="1 \r\n\n2\n\n\n")
    assert behaviour_key(ok, "stdin") == "OK:1\n\n2"
    assert behaviour_key(RunResult(Status.OK, stdout="  A"), "stdin") == "OK:  A"
    assert behaviour_key(RunResult(Status.TIMEOUT), "stdin") == "TIMEOUT"
    assert (
        behaviour_key(RunResult(Status.OK, stdout="x", truncated=True), "stdin") == "OUTPUT_LIMIT"
    )
    value = RunResult(Status.OK, return_json='{"b": 1, "a": [1, 2]}')
    assert behaviour_key(value, "function") == 'OK:{"a":[1,2],"b":1}'
    assert behaviour_key(RunResult(Status.OK), "function") == "WRONG_ANSWER"


def test_judge() -> None:
    clean = RunResult(Status.OK, stdout="3.0\n")
    assert judge(clean, "3", task_mode="stdin") is Status.OK
    assert judge(clean, "3", task_mode="stdin", compare_mode="strict") is Status.WRONG_ANSWER
    assert judge(clean, None, task_mode="stdin") is Status.OK
    assert judge(RunResult(Status.OK, stdout=""), "3", task_mode="stdin") is Status.WRONG_ANSWER
    assert judge(RunResult(Status.MEMORY_LIMIT), "3", task_mode="stdin") is Status.MEMORY_LIMIT
    truncated = RunResult(Status.OK, stdout="3", truncated=True)
    assert judge(truncated, "3", task_mode="stdin") is Status.OUTPUT_LIMIT
    returned = RunResult(Status.OK, return_json="[3]")
    assert judge(returned, "[3]", task_mode="function") is Status.OK
    assert judge(returned, "[4]", task_mode="function") is Status.WRONG_ANSWER
    assert judge(RunResult(Status.OK), "[3]", task_mode="function") is Status.WRONG_ANSWER
