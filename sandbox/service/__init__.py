"""Sandbox workers as a service: the bubblewrap sandbox behind HTTP, for a proxy on another machine.

``python -m sandbox serve`` (``sstar-sandbox serve``) runs one :class:`~sandbox.BubblewrapSandbox`
(its pool, warm sessions and cgroups, the same isolation as in the proxy) and answers batches of
programs x inputs over HTTP; :class:`sandbox.remote.RemoteSandbox` is the client the proxy uses.

- ``wire.py``: the JSON of a batch and of its results, validated, with the batch caps and the
  worker's maxima for ``Limits``; used by both sides, so they cannot drift apart.
- ``config.py``: ``WorkerConfig`` from the command line and ``SSTAR_SANDBOX_*``; the token rule.
- ``holder.py``: the worker's sandbox: the self-test at start (retried while it fails), readiness,
  and a fresh self-test when the sandbox breaks while serving.
- ``app.py``: the Starlette app: ``GET /health``, ``GET /ready``, ``POST /v1/executions``.
- ``server.py``: uvicorn with a drain on SIGTERM (no new batches, running ones finish, exit 0).

Nothing here imports ``proxy``; importing a module does nothing but define names.
"""
