"""Sandbox infrastructure errors. A candidate's own failure is never an exception but a ``Status``.

SandboxError                 anything wrong with the sandbox itself
├── SandboxUnavailableError  the backend cannot run here (missing bwrap, self-test failed, ...)
└── SandboxCrashedError      the backend broke while running (launcher, cgroup, harness protocol)
"""


class SandboxError(Exception):
    """The sandbox infrastructure failed; never counted for or against a candidate."""


class SandboxUnavailableError(SandboxError):
    """The backend cannot execute code on this machine; callers must fail closed."""


class SandboxCrashedError(SandboxError):
    """The backend failed while executing a request."""
