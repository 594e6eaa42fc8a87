"""Reading a server-sent-events body the way a client would, for assertions."""

from __future__ import annotations

import json
from typing import Any


def sse_payloads(text: str) -> list[Any]:
    """The ``data:`` payloads of an SSE body, decoded; ``[DONE]`` kept as the string."""
    out: list[Any] = []
    for block in text.split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out
