"""Whatever answers model calls: the engine's ``Upstream`` seam (``base.py``) and its litellm
implementation (``litellm_client.py``, the only module that imports litellm), the byte-faithful
pass-through relay (``relay.py``), model routing (``routing.py``), one retry policy
(``retry.py``) and the translation of litellm's errors (``litellm_errors.py``)."""
