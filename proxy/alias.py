"""The ``sstar/<model>`` alias: a model name that asks for S* (for clients that cannot send
headers, such as Cursor or Copilot BYOK). Listed in ``/v1/models``; stripped before any upstream
sees the name. The one place that says what is an alias.
"""

from __future__ import annotations

ALIAS_PREFIX = "sstar/"


def split_alias(model: str) -> tuple[str, bool]:
    """``"sstar/m"`` -> ``("m", True)``; any other name (``"sstar/"`` too) -> ``(name, False)``."""
    if model.startswith(ALIAS_PREFIX) and len(model) > len(ALIAS_PREFIX):
        return model[len(ALIAS_PREFIX) :], True
    return model, False


def alias_of(model: str) -> str:
    """The alias that asks for S* on ``model``."""
    return ALIAS_PREFIX + model
