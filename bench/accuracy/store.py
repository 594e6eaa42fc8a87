"""Resumable benchmark results: one JSON file, rewritten atomically after every finished pair.

A long run can stop at any moment and continue: a rerun under the same name skips every
(suite, task, mode) that already has a result without an error, and retries those that erred.
The file records the settings that change results (model, N, R, ...); resuming with different
ones is refused, because mixing them would make the table lie.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

FORMAT = 1


@dataclass(frozen=True, slots=True)
class Record:
    """The outcome of one task in one mode."""

    suite: str
    task_id: str
    mode: str
    passed: bool
    oracle_passed: bool
    candidates: int = 0
    candidates_passed: int = 0
    selected: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0
    applied: bool | None = None
    reason: str | None = None
    run_id: str | None = None
    error: str | None = None
    derived_from: str | None = None  # the mode whose run this record was read from (paired)
    stages: dict[str, bool] | None = None  # S* stage -> finished as planned (from the trace)
    early_stop: bool = False
    plan: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.suite, self.task_id, self.mode)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Record:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class ConfigMismatchError(Exception):
    """The results file was made with other settings; pick another ``--name``."""


class ResultStore:
    """The results file at ``path`` for a run whose result-changing settings are ``config``."""

    def __init__(self, path: Path, config: Mapping[str, Any]) -> None:
        self.path = path
        self.config = dict(config)
        self._records: dict[tuple[str, str, str], Record] = {}
        if path.exists():
            self._load()

    def _load(self) -> None:
        data = json.loads(self.path.read_text())
        saved = data.get("config", {})
        differing = sorted(k for k in self.config if k in saved and saved[k] != self.config[k])
        if differing:
            detail = ", ".join(f"{k}: {saved[k]!r} != {self.config[k]!r}" for k in differing)
            raise ConfigMismatchError(
                f"{self.path} was made with other settings ({detail}); use another --name"
            )
        for item in data.get("records", []):
            record = Record.from_json(item)
            self._records[record.key] = record

    def done(self, suite: str, task_id: str, mode: str) -> bool:
        """Whether this pair already has a result without an error."""
        record = self._records.get((suite, task_id, mode))
        return record is not None and record.error is None

    def add(self, record: Record) -> None:
        """Keep ``record`` (replacing an earlier one for its pair) and save the file."""
        self._records[record.key] = record
        self._save()

    @property
    def records(self) -> list[Record]:
        return list(self._records.values())

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "format": FORMAT,
            "config": self.config,
            "records": [asdict(r) for r in self._records.values()],
        }
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(body, indent=1) + "\n")
        os.replace(partial, self.path)  # atomic: an interrupted save never corrupts results


def pending(
    store: ResultStore, pairs: Iterable[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    """The (suite, task_id, mode) pairs that still need running."""
    return [pair for pair in pairs if not store.done(*pair)]
