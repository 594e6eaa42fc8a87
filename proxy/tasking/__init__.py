"""From a chat request the detector chose for S* to what the engine runs: a task and its knobs.

    task = build_task(body, decision, model=base_model, tests=explicit_tests)
    params = build_params(settings.scaling_defaults(), overrides, body)

``task.py`` builds the ``CodeTask`` (conversation, kind, signature, public tests: the client's
explicit ones, else the prompt's examples read by ``examples.py`` and ``function_examples.py``);
``params.py`` builds the ``ScalingParams``, applying the request's S* controls once. The API
layer only parses the controls and writes answers; the engine only runs. Imports neither
FastAPI nor litellm.
"""

from proxy.tasking.params import FORWARDED_SAMPLING, Overrides, build_params
from proxy.tasking.task import ExplicitTest, build_task, conversation, explicit_public_tests

__all__ = [
    "FORWARDED_SAMPLING",
    "ExplicitTest",
    "Overrides",
    "build_params",
    "build_task",
    "conversation",
    "explicit_public_tests",
]
