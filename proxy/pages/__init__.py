"""The trace pages: a run's trace as HTML for people (``GET /v1/sstar/runs/{id}`` with
``Accept: text/html``), and the page listing a caller's recent runs.

Pure rendering, no HTTP: ``view.py`` reads a trace document into what the page shows (what
selection saw in ``behaviour.py``; JSON values read defensively by ``reading.py``),
``listing.py`` summarises runs for the runs page, ``highlight.py`` colours Python with Pygments
on the server, ``render.py`` fills the Jinja2 templates in ``templates/``. Pages are
self-contained: one HTML document, inline CSS, no script, no external asset, so they work
offline and under a strict Content-Security-Policy. Who may see a page, and the signed links
that let a browser in, are decided in ``proxy.api.traces``.
"""
