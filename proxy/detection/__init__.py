"""Should S* answer this chat request? The detector, behind one small interface.

    decision = detect(view_from_body(body, mode=mode, explicit_tests=bool(tests)))

``detect`` returns a :class:`Decision`: whether S* applies, a stable rule id and a reason (for
``x-sstar-reason`` and logs), and when a task was read its problem text and :class:`TaskShape`
(stdin program or named function, with the signature). Errs toward pass-through: a wrong S* on
an agent's tool loop breaks the client, a missed S* only costs accuracy.

Modules: ``detector`` (the rule order and the decision), ``view`` (the request facts),
``structure`` (guardrails on how the request is built), ``content`` (what the messages say),
``fingerprints`` (known client templates), ``shape``, ``prompt_code`` and ``language`` (what
program is asked for), ``caseless`` (fast case-insensitive patterns). Imports neither FastAPI nor
litellm; only ``proxy.scaling.types`` and ``proxy.fences`` from the rest of the proxy.
"""

from proxy.detection.detector import FORCEABLE_RULES, HARD_RULES, Decision, detect
from proxy.detection.shape import TaskShape
from proxy.detection.view import RequestView, ViewMessage, view_from_body

__all__ = [
    "FORCEABLE_RULES",
    "HARD_RULES",
    "Decision",
    "RequestView",
    "TaskShape",
    "ViewMessage",
    "detect",
    "view_from_body",
]
