"""deploy/k8s/base/sandbox-entrypoint.sh: the worker pod's cgroup preparation, run for real.

The script is pointed at a directory laid out like a cgroup v2 root (``SSTAR_CGROUP_ROOT``) and
at a fake ``/proc/self/cgroup`` (``SSTAR_SELF_CGROUP``), never at the machine's own cgroups: a
plain directory cannot refuse a write the way cgroupfs does, so what is proved here is the
script's decisions (move to the leaf, leave alone, always exec the worker), not the kernel's.
The branch that leaves the host's cgroup namespace needs privileges and is not run.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.deploy.manifests import K8S

SCRIPT = K8S / "base" / "sandbox-entrypoint.sh"


def _run(
    root: Path, *command: str, self_cgroup: str = "0::/\n"
) -> subprocess.CompletedProcess[str]:
    proc_self = root.parent / "self-cgroup"
    proc_self.write_text(self_cgroup)
    env = {
        "PATH": "/usr/bin:/bin",
        "SSTAR_CGROUP_ROOT": str(root),
        "SSTAR_SELF_CGROUP": str(proc_self),
    }
    return subprocess.run(
        ["sh", str(SCRIPT), *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )


@pytest.fixture
def v2_root(tmp_path: Path) -> Path:
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpu memory pids\n")
    (root / "cgroup.procs").write_text("101\n202\n")
    return root


def test_the_script_is_valid_posix_shell():
    assert subprocess.run(["sh", "-n", str(SCRIPT)], check=False).returncode == 0


def test_processes_move_to_a_leaf_before_the_worker_starts(v2_root):
    done = _run(v2_root, "printf", "worker %s", "started")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "worker started"  # exec'd with its arguments intact
    # one write per PID (a plain file keeps the last; cgroupfs moves each)
    assert (v2_root / "sandbox-worker" / "cgroup.procs").read_text() == "202\n"
    assert "processes moved" in done.stderr


def test_without_cgroup_v2_the_worker_starts_untouched(v2_root):
    (v2_root / "cgroup.controllers").unlink()
    done = _run(v2_root, "true")
    assert done.returncode == 0
    assert not (v2_root / "sandbox-worker").exists()
    assert "no cgroup v2 hierarchy" in done.stderr


def test_an_unwritable_cgroup_still_starts_the_worker_to_fail_closed(v2_root):
    (v2_root / "sandbox-worker").write_text("")  # mkdir -p now fails, as on a read-only mount
    done = _run(v2_root, "sh", "-c", "exit 7")
    assert done.returncode == 7  # the worker ran (and its self-test would say why on /ready)
    assert "not writable" in done.stderr


def test_the_worker_exit_status_is_the_pods(v2_root):
    assert _run(v2_root, "false").returncode == 1


def test_no_command_is_a_usage_error(v2_root):
    done = _run(v2_root)
    assert done.returncode == 2
    assert "usage" in done.stderr
