"""A fork-server whose every run reports the sandbox unclean, for the tests of what follows one."""

from __future__ import annotations

from sandbox.bubblewrap import harness_source

_MAIN = 'if __name__ == "__main__":'


def harness_reporting_unclean() -> str:
    """The harness source with its scratch wipe doing its work but saying it failed."""
    override = "_wipe_all = _wipe\n_wipe = lambda dirs: _wipe_all(dirs) and False\n"
    return harness_source().replace(_MAIN, override + _MAIN)
