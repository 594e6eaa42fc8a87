"""The HTTP layer: the only package that speaks FastAPI, and the only one that sees wire JSON.

The path of a chat request:

1. ``router.py`` (thin routes) receives it; ``deps.py`` parses the body once (raw bytes, dict
   refused with a 400 when hostile by ``jsonbody.py``, strictly typed ``protocol.py`` model) and
   checks the client key (read by ``access.py``, which also decides who reads a trace).
2. ``serving.py`` (``ChatService``) resolves the S* controls (``controls.py``), asks
   ``proxy.detection`` whether S* applies, and then either
3. passes it through (``passthrough.py``: byte-faithful relay or litellm, ``fanout.py`` for
   upstreams that ignore ``n``), or
4. builds the task and parameters (``proxy.tasking``) and answers with S* (``sstar.py``:
   ``SStarService`` shares runs and stores traces; ``answer.py`` writes the ``chat.completion``
   or the SSE stream, with ``sse.py``).

``POST /v1/responses`` takes the same path in ``responses.py`` (``ResponsesService``): a chat
view of the request (``responses_view.py``) is what S* decides on and runs; pass-through relays
the upstream's bytes or translates through litellm; ``responses_answer.py`` and
``responses_sse.py`` write Responses objects and named events.

Around every request: ``handlers.py`` renders every error as OpenAI's envelope, ``limits.py``
caps the body, ``disconnect.py`` cancels work when the client leaves, and every response header
the proxy writes goes through ``headers.py``. For operators: ``metering.py`` counts and times
every request (``x-sstar-overhead-ms``) and serves ``/metrics``, ``cors.py`` answers browsers'
preflights when origins are configured, ``docs.py`` serves ``/docs`` and completes
``/openapi.json``.
"""
