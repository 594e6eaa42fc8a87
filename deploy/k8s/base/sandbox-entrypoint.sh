#!/bin/sh
# Entrypoint of a sandbox worker pod: give the sandbox a cgroup v2 subtree it may manage, then
# exec the worker (its command line is this script's arguments).
#
# The sandbox puts every run in a memory + pids cgroup of its own (sandbox/cgroups.py). Under
# cgroup v2 it enables those controllers at the root of the cgroup it sees, and the kernel
# refuses that (EBUSY) while processes sit in that root, which is where a container starts.
# So every process here moves to a leaf first. When the runtime shares the host's cgroup
# namespace (privileged pods under containerd), the root it sees is the node's: the script then
# takes a cgroup namespace rooted at this container's own cgroup and mounts that view, so the
# sandbox never touches the node's tree. Nothing here fails the pod: when the cgroup is not
# writable the sandbox's self-test says so and the worker stays unready (fail closed).
#
# SSTAR_CGROUP_ROOT and SSTAR_SELF_CGROUP exist for the tests only.
set -eu

root="${SSTAR_CGROUP_ROOT:-/sys/fs/cgroup}"
self="${SSTAR_SELF_CGROUP:-/proc/self/cgroup}"
leaf="$root/sandbox-worker"

say() { echo "sandbox-entrypoint: $*" >&2; }

if [ "$#" -eq 0 ]; then
    say "usage: sandbox-entrypoint.sh COMMAND [ARG...]"
    exit 2
fi

if [ "${SSTAR_CGROUPNS_NEW:-}" = 1 ]; then
    # second pass, inside the new cgroup namespace: mount the namespace's own view
    unset SSTAR_CGROUPNS_NEW
    if ! mount -t cgroup2 cgroup2 "$root"; then
        # never arrange the node's tree: leave the cgroups to the sandbox's own checks
        say "could not mount the namespace's cgroup2 view on $root"
        exec "$@"
    fi
fi

if [ ! -f "$root/cgroup.controllers" ]; then
    say "no cgroup v2 hierarchy at $root; the sandbox checks its cgroups itself"
    exec "$@"
fi

own=$(sed -n 's/^0:://p' "$self")
if [ -n "$own" ] && [ "$own" != "/" ]; then
    if unshare --cgroup --mount true 2>/dev/null; then
        say "host cgroup namespace ($own): taking one rooted at this container"
        SSTAR_CGROUPNS_NEW=1 exec unshare --cgroup --mount sh "$0" "$@"
    fi
    say "host cgroup namespace ($own) and no way to leave it; the sandbox will say why"
    exec "$@"
fi

if mkdir -p "$leaf" 2>/dev/null; then
    # one PID per write: the kernel moves one process at a time; read the list once, before
    # moving (the file changes under a reader)
    # shellcheck disable=SC2013
    for pid in $(cat "$root/cgroup.procs"); do
        echo "$pid" >"$leaf/cgroup.procs" 2>/dev/null || true
    done
    say "processes moved to $leaf; the sandbox may now enable controllers at $root"
else
    say "$root is not writable; the sandbox self-test will fail and /ready will say why"
fi
exec "$@"
