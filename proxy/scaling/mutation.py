"""Type-aware variants of known inputs, so clustering sees more than the examples.

A small model asked for test inputs often returns the prompt's own examples, which every
candidate in the pool already passes: the programs then form one cluster and no tournament is
played, although they may differ on inputs nobody tried.

So, like EvalPlus's type-aware mutation, each known input of a function task is varied one
change at a time, small enough that an input valid under the problem's constraints usually stays
valid: lists and strings reversed, lists rotated by one (order is where programs that lean on the
examples' order part ways); the values of same-typed scalar arguments rotated among their
positions (``f(7, 5, 2)`` as ``f(2, 7, 5)`` exposes a program that only checks ``x + y == z``);
lists and strings without their last element or cut to their first (a one-letter string exposes
a prime test that calls 1 prime); integers one more and one less. The variants cost executions
only, no model call. Stdin inputs have no structure we can trust and are left alone. What they
changed on the dev split is in bench/README.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from itertools import zip_longest

from proxy.scaling.literals import canonical_json
from proxy.scaling.types import CodeTask


def clustering_inputs(
    task: CodeTask, synthesized: tuple[str, ...], *, limit: int
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The inputs selection executes every program on, and which of them are variants.

    The synthesized inputs (else the public ones), then up to ``limit`` variants of the public
    and synthesized inputs together.
    """
    public = tuple(t.input for t in task.public_tests)
    mutated = mutate_inputs((*public, *synthesized), task=task, limit=limit)
    return tuple(dict.fromkeys((*(synthesized or public), *mutated))), mutated


def mutate_inputs(inputs: Iterable[str], *, task: CodeTask, limit: int) -> tuple[str, ...]:
    """Up to ``limit`` new inputs derived from ``inputs`` (which are never repeated).

    Every kind of variant gets its turn before any kind gets a second one, so a short limit
    still tries each kind of change.
    """
    if task.kind != "function" or limit <= 0:
        return ()
    known = list(dict.fromkeys(inputs))
    by_kind = [[v for args in _arguments(known) for v in kind(args)] for kind in _KINDS]
    seen = set(known)
    variants: list[str] = []
    for round_ in zip_longest(*by_kind):
        for variant in round_:
            if variant is not None and variant not in seen:
                seen.add(variant)
                variants.append(variant)
                if len(variants) == limit:
                    return tuple(variants)
    return tuple(variants)


def _arguments(known: Iterable[str]) -> Iterator[list[object]]:
    for encoded in known:
        try:
            args = json.loads(encoded)
        except ValueError:
            continue
        if isinstance(args, list):
            yield args


def _replace(args: list[object], position: int, value: object) -> str:
    return canonical_json([*args[:position], value, *args[position + 1 :]])


def _reordered(args: list[object]) -> Iterator[str]:
    """Every list argument reversed and rotated by one; every string argument reversed."""
    for position, arg in enumerate(args):
        if isinstance(arg, list) and len(arg) >= 2:
            yield _replace(args, position, arg[::-1])
            yield _replace(args, position, arg[1:] + arg[:1])
        elif isinstance(arg, str) and len(arg) >= 2:
            yield _replace(args, position, arg[::-1])


def _rotated_arguments(args: list[object]) -> Iterator[str]:
    """The values of same-typed scalar arguments rotated among their positions."""
    for kind in (int, float, str):
        positions = [i for i, a in enumerate(args) if type(a) is kind]
        if len(positions) >= 2:
            values = [args[i] for i in positions]
            rotated = list(args)
            for position, value in zip(positions, values[-1:] + values[:-1], strict=True):
                rotated[position] = value
            yield canonical_json(rotated)


def _shortened(args: list[object]) -> Iterator[str]:
    """Every list or string argument without its last element, and cut to its first."""
    for position, arg in enumerate(args):
        if isinstance(arg, list | str) and len(arg) >= 2:
            yield _replace(args, position, arg[:-1])
            yield _replace(args, position, arg[:1])


def _nudged(args: list[object]) -> Iterator[str]:
    """Every integer argument one more and one less."""
    for position, arg in enumerate(args):
        if type(arg) is int:
            yield _replace(args, position, arg + 1)
            yield _replace(args, position, arg - 1)


_KINDS: tuple[Callable[[list[object]], Iterator[str]], ...] = (
    _reordered,
    _rotated_arguments,
    _shortened,
    _nudged,
)
