"""The ``sstar/<model>`` alias: one parser for the server, the router and the model list."""

from __future__ import annotations

from proxy.alias import alias_of, split_alias


def test_split_alias() -> None:
    assert split_alias("sstar/qwen") == ("qwen", True)
    assert split_alias("sstar/org/Model-7B") == ("org/Model-7B", True)
    assert split_alias("qwen") == ("qwen", False)
    assert split_alias("sstar/") == ("sstar/", False)  # no model after the prefix: no alias


def test_alias_of_round_trips() -> None:
    assert split_alias(alias_of("qwen")) == ("qwen", True)
