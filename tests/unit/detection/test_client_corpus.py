"""The real-client corpus: what nine clients really send to a chat endpoint, decided as labelled.

``tests/data/client_corpus.jsonl`` reproduces every request shape of Continue, Cline, Roo Code,
Aider, Open WebUI, Zed, Codex CLI, LibreChat and VS Code (Copilot Chat and chat participants on
the language-model API) from their public source: chat turns, titles, tags, follow-ups,
autocomplete sent as chat, edit/apply, agent turns, compaction, commit messages... Each row names
the client, the version read and the source file; many embed a coding question, because that is
where a detector mistakes a client's background request (a sidebar title) for a task. S* is right
only for a genuine, self-contained coding question sent through a client's plain chat.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from proxy.detection import Decision, detect, view_from_body
from proxy.scaling.types import Mode

CORPUS = Path(__file__).parents[2] / "data" / "client_corpus.jsonl"
CLIENTS = {
    "Continue",
    "Cline",
    "Roo Code",
    "Aider",
    "Open WebUI",
    "Zed",
    "Codex CLI",
    "LibreChat",
    "VS Code",
}
# Clients with a plain chat, through which a coding question must still get S*.
PLAIN_CHAT_CLIENTS = {"Continue", "Open WebUI", "Zed", "LibreChat", "VS Code"}
# Work a client does on its own. The ``sstar/<model>`` alias forces S* on everything a client
# sends to that model, titles included, so these must pass through even under ``force``.
BACKGROUND_SHAPES = {
    "title",
    "tags",
    "follow_up",
    "search_query",
    "autocomplete",
    "image_prompt",
    "emoji",
    "merge_responses",
    "tool_choice",
    "compaction",
    "commit_message",
    "prompt_enhance",
    "terminal_command",
    "agent",
    "apply",
}
TASK = "Write a Python function `is_even(n: int) -> bool` that returns True for even n."


def _load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]


def _decide(body: dict[str, Any], mode: Mode = "auto") -> Decision:
    return detect(view_from_body(body, mode=mode))


def _user(text: str, **fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], **fields}


ROWS = _load()
DECISIONS = [(row, _decide(row["body"])) for row in ROWS]


def test_corpus_covers_every_client_and_says_where_each_request_comes_from() -> None:
    assert len(ROWS) >= 80
    assert len({row["id"] for row in ROWS}) == len(ROWS)
    assert {row["client"] for row in ROWS} == CLIENTS
    incomplete = [
        row.get("id")
        for row in ROWS
        if not all(isinstance(row.get(k), str) and row[k] for k in ("id", "client", "shape"))
        or not all(isinstance(row.get(k), str) and row[k] for k in ("client_version", "source"))
        or not isinstance(row.get("apply"), bool)
        or not isinstance(row.get("body"), dict)
    ]
    assert incomplete == []
    for client in CLIENTS:
        shapes = {row["shape"] for row in ROWS if row["client"] == client}
        assert shapes & BACKGROUND_SHAPES, client  # not only chat turns
    assert CORPUS.stat().st_size < 150_000


def test_every_request_is_decided_as_labelled() -> None:
    wrong = [
        (row["id"], row["apply"], d.rule, d.reason)
        for row, d in DECISIONS
        if d.apply != row["apply"]
    ]
    assert wrong == []


def test_coding_questions_through_each_plain_chat_get_s_star() -> None:
    positives = {row["client"] for row in ROWS if row["apply"]}
    assert positives == PLAIN_CHAT_CLIENTS
    for row, d in DECISIONS:
        if row["apply"]:
            assert d.rule == "coding_task", row["id"]
            assert d.shape is not None
            assert d.shape.language == "python", row["id"]


def test_background_work_passes_through_even_when_forced() -> None:
    forced = [
        (row["id"], d.reason)
        for row in ROWS
        if row["shape"] in BACKGROUND_SHAPES and (d := _decide(row["body"], mode="force")).apply
    ]
    assert forced == []
    assert sum(row["shape"] in BACKGROUND_SHAPES for row in ROWS) >= 50


def test_client_corpus_detection_is_fast() -> None:
    views = [view_from_body(row["body"]) for row in ROWS]
    start = time.perf_counter()
    for view in views:
        detect(view)
    per_request_ms = (time.perf_counter() - start) * 1000 / len(views)
    assert per_request_ms < 20  # typically ~1 ms; generous for loaded CI machines


# --- the general rules behind the corpus ------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "passes"),
    [
        ({"max_tokens": 16}, True),  # Continue's chat titles
        ({"max_completion_tokens": 20}, True),
        ({"max_tokens": 4096, "max_completion_tokens": 32}, True),  # the smaller cap counts
        ({"max_tokens": 33}, False),
        ({"max_tokens": True}, False),  # junk is ignored, not read as 1
        ({"max_completion_tokens": "16"}, False),
    ],
)
def test_an_output_cap_too_small_for_a_program_passes_through(
    fields: dict[str, Any], passes: bool
) -> None:
    decision = _decide(_user(TASK, **fields))
    assert (decision.rule == "tiny_output_budget") is passes
    assert decision.apply is not passes


def test_force_cannot_put_a_program_into_a_title_budget() -> None:
    decision = _decide(_user(TASK, max_tokens=16), mode="force")
    assert (decision.apply, decision.rule) == (False, "tiny_output_budget")


@pytest.mark.parametrize(
    "text",
    [
        "Summarise it.\n\nUser: " + TASK + "\nAssistant: def is_even(n): ...",
        "Here is the chat:\n[User]: " + TASK + "\n[Bot]: Done.",
        "# USER\n" + TASK + "\n# ASSISTANT\nDone.\n",
        "Give me a short title for the following request:\n\n" + TASK,
        "Produce a summary of the entire conversation so far.\n\n" + TASK,
    ],
)
def test_requests_about_a_conversation_pass_through_whatever_they_quote(text: str) -> None:
    decision = _decide(_user(text))
    assert (decision.apply, decision.rule) == (False, "background_task")


def test_one_speaker_is_no_transcript() -> None:
    assert _decide(_user("User: " + TASK)).rule == "coding_task"


def test_a_teaching_persona_gets_an_explanation_not_a_program() -> None:
    tutor = "You are a helpful code tutor. Guide the user instead of solving for them."
    body = {"messages": [{"role": "user", "content": tutor}, {"role": "user", "content": TASK}]}
    assert (_decide(body).apply, _decide(body).rule) == (False, "explanation_request")
    assert _decide(body, mode="force").apply  # a judgement: force may override it
