"""Resumable results: finished pairs are skipped, erred ones retried, settings pinned."""

from __future__ import annotations

import json

import pytest

from bench.accuracy.store import ConfigMismatchError, Record, ResultStore, pending

CONFIG = {"model": "m", "samples": 8, "rounds": 2}


def _record(task_id: str, mode: str, **changes: object) -> Record:
    fields: dict[str, object] = {"passed": True, "oracle_passed": True}
    fields.update(prompt_tokens=3, completion_tokens=4)
    fields.update(changes)
    return Record("humaneval", task_id, mode, **fields)  # type: ignore[arg-type]


def test_saved_records_survive_a_restart_and_finished_pairs_are_skipped(tmp_path):
    path = tmp_path / "run.json"
    store = ResultStore(path, CONFIG)
    store.add(_record("HumanEval/0", "plain"))
    store.add(_record("HumanEval/0", "adaptive", error="ReadTimeout"))
    assert not path.with_name("run.json.partial").exists()

    again = ResultStore(path, CONFIG)
    assert again.records == store.records
    assert again.records[0].tokens == 7
    pairs = [("humaneval", "HumanEval/0", m) for m in ("plain", "adaptive", "majority")]
    assert pending(again, pairs) == pairs[1:]  # the erred pair is retried

    again.add(_record("HumanEval/0", "adaptive"))
    assert len(again.records) == 2  # replaced, not duplicated
    assert pending(ResultStore(path, CONFIG), pairs) == pairs[2:]


def test_resuming_with_other_settings_is_refused(tmp_path):
    path = tmp_path / "run.json"
    ResultStore(path, CONFIG).add(_record("HumanEval/0", "plain"))
    with pytest.raises(ConfigMismatchError, match="samples"):
        ResultStore(path, {**CONFIG, "samples": 16})


def test_file_format_is_plain_json_and_ignores_unknown_fields(tmp_path):
    path = tmp_path / "run.json"
    ResultStore(path, CONFIG).add(_record("HumanEval/2", "public"))
    data = json.loads(path.read_text())
    assert data["config"] == CONFIG
    data["records"][0]["added_later"] = 1
    path.write_text(json.dumps(data))
    assert ResultStore(path, CONFIG).records[0].task_id == "HumanEval/2"
