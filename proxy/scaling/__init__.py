"""The S* engine: sample N programs, debug them on the examples, select one by execution.

    result = await ScalingEngine(upstream, sandbox).run(task, params, observer=recorder)

Which module holds which stage (SSTAR.md §2):

- ``engine.py`` sequences the stages and builds the ``ScalingResult``; it reads like the paper.
- ``sampling.py`` (stage 1): N candidates, one ``n=N`` call or N calls, the greedy first one.
- ``debugging.py`` (stage 2): public tests in the sandbox, feedback rounds, best revision kept.
- ``synthesis.py``, ``mutation.py`` (stage 3): model-written test inputs; type-aware variants.
- ``selection.py`` (stage 3): public filter, dedupe, execute, ``clustering.py``, then
  ``tournament.py`` (distinguishing inputs and the execution-grounded judge); every mode.
- ``prompts/``: each prompt next to the parser of its reply.
- ``context.py``: what a stage works with (budget, upstream, executor, task, params, retry policy)
  and the one helper that makes a sub-call, retries it and degrades on a fault. ``budget.py``:
  deadline, token cap, ledger, and how the deadline is shared. ``breaker.py``: the run stops
  calling an upstream that refuses or fails. ``execution.py``: running programs in the sandbox.
- ``programs.py``: programs in model answers. ``literals.py``: literals as canonical JSON.
- ``types.py``: the values in and out. ``trace.py``: the run as a JSON document.
- ``observer.py``: what the cheaper selection modes would have picked, for whoever watches.
- ``replay.py``: what benchmarks may use to replay a recorded run.

The path of a request: ``proxy.api`` receives it, ``proxy.detection`` decides S* applies,
``proxy.tasking`` builds the ``CodeTask`` and ``ScalingParams``, ``proxy.runs`` shares the run,
and this package runs it against the two seams, ``proxy.upstream.base.Upstream`` and the
``sandbox`` package (plus ``proxy.upstream.retry``, the one retry policy). It imports neither
FastAPI nor litellm nor the API layer.
"""
