"""Shape-preserving variants of known inputs, so clustering sees more than the examples.

A small model asked for test inputs often returns the prompt's own examples, which every
candidate in the pool already passes: the programs then form one cluster and no tournament is
played, although they may differ on inputs nobody tried. (HumanEval/20 on the dev split: the
only two inputs were the docstring's, and a program returning the pair in list order instead of
sorted order shared the cluster with the correct one and was selected.)

So, like EvalPlus's type-aware mutation, each known input of a function task is varied without
changing its type or size: every list argument reversed, and rotated by one. The elements
(hence values, lengths and types) stay the same, so an input valid under the problem's
constraints almost always stays valid; what changes is the order, which is where programs
that lean on the examples' order part ways. The variants cost executions only, no model call.
Stdin inputs have no structure we can trust and are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from proxy.scaling.literals import canonical_json
from proxy.scaling.types import CodeTask


def mutate_inputs(inputs: Iterable[str], *, task: CodeTask, limit: int) -> tuple[str, ...]:
    """Up to ``limit`` new inputs derived from ``inputs`` (which are never repeated)."""
    if task.kind != "function" or limit <= 0:
        return ()
    known = list(dict.fromkeys(inputs))
    seen = set(known)
    variants: list[str] = []
    for encoded in known:
        for variant in _variants(encoded):
            if variant not in seen:
                seen.add(variant)
                variants.append(variant)
                if len(variants) == limit:
                    return tuple(variants)
    return tuple(variants)


def _variants(encoded: str) -> Iterator[str]:
    try:
        args = json.loads(encoded)
    except ValueError:
        return
    if not isinstance(args, list):
        return
    for position, arg in enumerate(args):
        if not isinstance(arg, list) or len(arg) < 2:
            continue
        for changed in (arg[::-1], arg[1:] + arg[:1]):
            yield canonical_json([*args[:position], changed, *args[position + 1 :]])
