"""Serving the app: uvicorn with the limits a shared deployment needs, and graceful shutdown.

- ``config.py``: ``ServerLimits`` (from ``Settings``) and ``ServerConfig``, uvicorn's config
  carrying them (and the same header cap for h11, should anyone select it).
- ``protocol.py``: ``BoundedHttpToolsProtocol``, uvicorn's httptools protocol with a cap on the
  request line and headers (431 before they are buffered), header and body read deadlines
  (408), and idle fresh connections closed.
- ``server.py``: ``ProxyServer``, uvicorn's server that drains on SIGTERM (in-flight requests
  get ``drain_timeout_s``, then ``proxy.api.drain`` ends them) and exits normally (status 0) so
  the embedded model and the sandboxes are stopped; ``build_server`` assembles it all.

``sstar-proxy serve`` and the tests' in-thread servers both go through ``build_server``.
"""
