"""The fork-server that runs *inside* the sandbox (stdlib only; run by ``python3 -I -S -c``).

Why a fork-server: interpreter start and namespace set-up dominate a trivial run (SANDBOX.md §4).
One zygote per sandbox session forks a fresh child per run; the candidate's code only ever executes
in those children, never in the zygote. The zygote starts with only what it needs itself (no
``json``, ``re`` or ``typing``: those imports were most of a session's start), and at ``load``
imports what the program will: the common modules it names, and in function mode the prelude's
(and ``json``, for arguments and return values), so every child finds them imported.

Protocol on the control socket (fd ``argv[1]``), frames of a 4-byte big-endian length + JSON:
  zygote -> supervisor  ``{"hello": true}`` once the interpreter is up;
  supervisor -> zygote  ``{"type": "expect", "mode"}`` optionally, while the session waits for a
                        request: imports what any program of that mode will need;
  zygote -> supervisor  ``{"expected": true}`` once they are imported;
  supervisor -> zygote  ``{"type": "load", "program", "mode", "entry"}`` once per session;
  zygote -> supervisor  ``{"loaded": true}`` once it is compiled and its modules imported;
  supervisor -> zygote  ``{"type": "run", "nonce", "limits"}`` + fds (stdin, stdout, stderr,
                        result) by SCM_RIGHTS; the zygote forks, waits, cleans up and answers
  zygote -> supervisor  ``{"status": <wait status>, "cpu_s", "wall_s", "clean"}``.
Run frames may queue (the supervisor hands the next run over before the current one ends); the
zygote serves them in order, and after a run that left the sandbox unclean it serves nothing more.
The child writes one completion record ``{"nonce", "ok", "return"|"error"}`` on the result fd
only after the program (or the call) returned, so ``os._exit(0)`` before it proves nothing.
Verdicts are decided outside from the wait status, cgroup counters, caps and deadlines.

``argv[2]`` is ``pid1`` when the zygote is PID 1 of its own PID namespace (bubblewrap
``--as-pid-1``): it then kills every other process of the namespace after each run. In ``local``
mode (no namespace) it only kills the run's own process group, never ``kill(-1)``.
"""

from __future__ import annotations

# NOTE: ``_json``, the C half of ``json``: the control frames need its scanner and string encoder,
# and the package's Python layer imports ``re``, a third of a bare session's start.
import _json

# NOTE: ``_signal``, the C half of ``signal`` (it has no stubs): the wrapper's enum conversions
# cost every session's start, and every child's three handler resets dirtied dozens of pages.
import _signal  # type: ignore[import-not-found]

# NOTE: ``_socket``, not ``socket``: the wrapper module (selectors, enum conversions) was a tenth of
# every session's start-up, and the channel needs only recvmsg/sendall.
import _socket
import builtins
import gc
import os
import resource
import struct
import sys
import time

TYPE_CHECKING = False  # NOTE: not ``typing``'s: that import alone cost as much as the interpreter
if TYPE_CHECKING:
    from typing import Any

# NOTE: what programs import most, imported in the zygote at load when the program names them, so
# runs find them imported. Only these: an import runs module code in the zygote, and heavy, rarely
# used modules (dataclasses pulls in inspect) are better left to the few runs that use them.
_PRELOADABLE = frozenset(
    (
        *("bisect", "collections", "copy", "functools", "heapq", "itertools", "json", "math"),
        *("operator", "re", "string", "typing"),
    )
)
_PRELUDE = (
    "from typing import *\n"
    "import collections, heapq, bisect, itertools, functools, math, re, string\n"
    "from collections import deque, defaultdict, Counter, OrderedDict\n"
    "from functools import lru_cache, cache, reduce\nfrom heapq import heappush, heappop\n"
)
_RESULT_FD = 3
_MAX_DEPTH = 200
_MAX_REPR = 1000
_SANDBOX_TMP = "/tmp"  # noqa: S108 - the sandbox's own size-capped tmpfs, not the host's
_SCRATCH_DIRS = (_SANDBOX_TMP, "/dev/shm")  # noqa: S108 - inside the sandbox
_MAX_FDS = 8
_EXCEPTHOOK = sys.__excepthook__  # taken before any candidate code could replace it
_PREBUILT_STREAMS: tuple[Any, Any, Any] | None = None  # the zygote's, see _prebuild_std_streams
_PRELUDE_CODE: Any = None  # see _compiled_prelude
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4


class _FrameSyntax:
    """What ``_json.make_scanner`` reads from a decoder: plain JSON, no hooks."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity, -Infinity; our frames carry none


_scan_frame = _json.make_scanner(_FrameSyntax())  # type: ignore[arg-type]  # NOTE: any decoder-like object
_encode_string = _json.encode_basestring_ascii


class Channel:
    """Length-prefixed JSON frames over a stream socket, collecting any passed fds."""

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.fds: list[int] = []

    def recv(self) -> dict[str, Any] | None:
        while len(self.buf) < 4 or len(self.buf) < 4 + struct.unpack(">I", self.buf[:4])[0]:
            data, ancillary, _, _ = self.sock.recvmsg(1 << 16, _socket.CMSG_LEN(_MAX_FDS * 4))
            for level, kind, payload in ancillary:
                if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                    count = len(payload) // 4
                    self.fds.extend(struct.unpack(f"{count}i", payload[: count * 4]))
            if not data:
                return None
            self.buf += data
        size = struct.unpack(">I", self.buf[:4])[0]
        frame, self.buf = self.buf[4 : 4 + size], self.buf[4 + size :]
        text = frame.decode()
        try:
            message, end = _scan_frame(text, 0)
        except (StopIteration, ValueError):  # no JSON value here; a malformed one
            message, end = None, -1
        if type(message) is not dict or end != len(text):
            raise SystemExit("harness: a control frame is not one JSON object")
        return message

    def take_fds(self, count: int) -> list[int]:
        """The first ``count`` fds received: the current run frame's (the kernel hands a frame's
        fds over with its bytes, and the next run's frame may already be queued behind it)."""
        fds, self.fds = self.fds[:count], self.fds[count:]
        return fds

    def send(self, message: dict[str, Any]) -> None:
        data = json_object(message).encode()
        self.sock.sendall(struct.pack(">I", len(data)) + data)


def to_jsonable(value: object, depth: int = 0) -> object:
    """Plain JSON data for a return value: tuples become lists, anything else a tagged ``repr``."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if depth > _MAX_DEPTH:
        return {"__repr__": "<too deep>"}
    if isinstance(value, bool):
        return bool.__bool__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, list | tuple):
        items = list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value)
        return [to_jsonable(item, depth + 1) for item in items]
    if isinstance(value, dict):
        return {_json_key(k): to_jsonable(v, depth + 1) for k, v in dict.items(value)}
    return {"__repr__": _safe_repr(value)}


def _json_key(key: object) -> str:
    if type(key) is str:
        return key
    if key is None or type(key) in (bool, int, float):
        import json  # NOTE: function mode only; imported in the zygote at load (see prepare)

        return json.dumps(key)
    return _safe_repr(key)


def _safe_repr(value: object) -> str:
    try:
        return repr(value)[:_MAX_REPR]
    except BaseException:
        return "<unrepresentable>"


def canonical_json(value: object) -> str:
    """The canonical serialization compared outside: sorted keys, fixed separators."""
    import json  # NOTE: function mode only; imported in the zygote at load (see prepare)

    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _describe(exc: BaseException) -> str:
    try:
        message = str(exc)
    except BaseException:
        message = "<unprintable>"
    return f"{type(exc).__name__}: {message}"[:_MAX_REPR]


def _json_value(value: object) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return "null"
    if type(value) is str:
        return _encode_string(value)
    if type(value) is int or (type(value) is float and value - value == 0):  # finite
        return repr(value)
    raise TypeError(f"harness: {type(value).__name__} in a frame or record")


def json_object(record: dict[str, Any]) -> str:
    """The text ``json.dumps`` writes for a flat object of strings, numbers, booleans and null.

    NOTE: built by hand from the C string encoder: the json package's Python layer imports ``re``
    (a third of a bare session's start) and dirtied (copy-on-write) some 90 of the zygote's pages
    in every child that wrote its record with it.
    """
    fields = ", ".join(f"{_encode_string(k)}: {_json_value(v)}" for k, v in record.items())
    return "{" + fields + "}"


def _write_record(record: dict[str, Any], fd: int = _RESULT_FD) -> None:
    data = (json_object(record) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:  # noqa: S110 - a broken stdout is judged from the output, not here
            pass


def _finish(nonce: str, outcome: dict[str, Any], code: int) -> None:
    _flush_std()
    _write_record({"nonce": nonce, **outcome})
    os._exit(code)


def _read_stdin() -> bytes:
    chunks = []
    while chunk := os.read(0, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _resolve(namespace: dict[str, Any], entry: str) -> Any:
    owner, _, method = entry.rpartition(".")
    if owner:
        return getattr(namespace[owner](), method)
    if entry not in namespace and "Solution" in namespace:
        return getattr(namespace["Solution"](), entry)
    return namespace[entry]


def prepare(message: dict[str, Any]) -> dict[str, Any]:
    """Compile the program once, in the zygote, for every run, and import the modules its runs
    will (the prelude is compiled once per process, see :func:`_compiled_prelude`).

    Compiling runs none of the candidate's code, and every compile error (syntax, nesting depth,
    the parser's own stack guard) is an exception that each run re-raises, so verdicts are those
    of a child that compiled for itself; but the compiler's allocations would otherwise dirty
    (copy-on-write) a few hundred of the zygote's pages in every child, most of a trivial run.
    The imports are those of :data:`_PRELOADABLE` the code names: a module imported here is one
    every child would otherwise import for itself, once per run.
    """
    prepared = dict(message)
    names: set[str] = set()
    try:
        code = compile(message["program"], "<candidate>", "exec")
    except Exception as exc:  # the candidate's error, reported by each run
        prepared["code_error"] = exc
    else:
        prepared["code"] = code
        names = _names(code)
    _import_for(message["mode"], names)
    return prepared


def _import_for(mode: str, names: set[str]) -> None:
    """Import the preloadable modules among ``names``, and in function mode the prelude's and
    ``json`` (arguments and return values); each is imported once, whoever asks first."""
    if mode == "function":
        names = names | _names(_compiled_prelude()) | {"json"}
    for name in sorted(names & _PRELOADABLE):
        try:  # noqa: SIM105 - a failed import is the run's to report, as it would be anyway
            __import__(name)
        except Exception:  # noqa: S110
            pass


def _compiled_prelude() -> Any:
    """The function-mode prelude, compiled once per process (the zygote's before its hello)."""
    global _PRELUDE_CODE
    if _PRELUDE_CODE is None:
        _PRELUDE_CODE = compile(_PRELUDE, "<prelude>", "exec")
    return _PRELUDE_CODE


def _names(code: Any) -> set[str]:
    """Every global, attribute and module name a code object or any nested one refers to (for a
    dotted module name, its first part): a superset of the modules it imports."""
    names: set[str] = set()
    pending = [code]
    while pending:
        current = pending.pop()
        names.update(name.partition(".")[0] for name in current.co_names)
        pending.extend(const for const in current.co_consts if type(const) is type(code))
    return names


def _code(load: dict[str, Any]) -> Any:
    if "code_error" in load:
        raise load["code_error"]
    if "code" in load:
        return load["code"]
    return compile(load["program"], "<candidate>", "exec")


def _print_exception(exc: BaseException) -> None:
    """The traceback on the run's stderr, as an uncaught exception would print it.

    NOTE: the interpreter's own C hook, not the traceback module: that import (linecache,
    tokenize, textwrap) was a tenth of every session's start, for the same text.
    """
    _EXCEPTHOOK(type(exc), exc, exc.__traceback__)


def run_candidate(load: dict[str, Any], nonce: str) -> None:
    """Child side: run the program (stdin mode) or call the entry point (function mode)."""
    mode = load["mode"]
    sys.argv[:] = ["solution.py"]
    try:
        code = _code(load)
        namespace: dict[str, Any] = {"__builtins__": builtins}
        if mode == "function":
            import json  # NOTE: imported in the zygote at load (see prepare)

            args = json.loads(_read_stdin())
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
            exec(_compiled_prelude(), namespace)
            namespace["__name__"] = "__candidate__"
            exec(code, namespace)
            value = _resolve(namespace, load["entry"])(*args)
            _finish(nonce, {"ok": True, "return": canonical_json(value)}, 0)
        namespace["__name__"] = "__main__"
        exec(code, namespace)
    except SystemExit as exc:
        if mode == "function" or exc.code not in (None, 0):
            _finish(nonce, {"ok": False, "error": f"SystemExit: {exc.code!r}"[:_MAX_REPR]}, 1)
    except BaseException as exc:
        _print_exception(exc)
        _finish(nonce, {"ok": False, "error": _describe(exc)}, 1)
    _finish(nonce, {"ok": True}, 0)


def _limit(which: int, value: int, hard: int | None = None) -> None:
    try:  # noqa: SIM105 - contextlib.suppress is an object per call, in every child
        resource.setrlimit(which, (value, value if hard is None else hard))
    except (ValueError, OSError):
        pass


def _enter_child(fds: list[int], limits: dict[str, Any], workdir: str, contained: bool) -> None:
    """Wire the run's pipes to fds 0-3, drop everything else and apply the backup rlimits."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(_RESULT_FD + 1, 1 << 16)
    if not contained:  # local mode: no PID namespace, so die with the zygote and own a group
        os.setsid()
        _prctl(_PR_SET_PDEATHSIG, _signal.SIGKILL)
    for sig in (_signal.SIGINT, _signal.SIGPIPE, _signal.SIGXFSZ):
        _signal.signal(sig, _signal.SIG_DFL)
    _fresh_std_streams()
    os.chdir(workdir)
    try:  # raw os calls: a text file object here cost more than the rest of the set-up
        adj = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        try:
            os.write(adj, b"1000")
        finally:
            os.close(adj)
    except OSError:
        pass
    cpu = max(1, int(limits["cpu_s"] + 0.999))
    _limit(resource.RLIMIT_CPU, cpu, cpu + 1)  # SIGXCPU at the limit, SIGKILL a second later
    _limit(resource.RLIMIT_FSIZE, int(limits["fsize"]))
    _limit(resource.RLIMIT_NOFILE, int(limits["nofile"]))
    _limit(resource.RLIMIT_CORE, 0)
    if limits.get("as_bytes"):
        _limit(resource.RLIMIT_AS, int(limits["as_bytes"]))


def _fresh_std_streams() -> None:
    """Text streams on the run's fds 0-2, as a freshly started interpreter would have them."""
    sys.stdin, sys.stdout, sys.stderr = _PREBUILT_STREAMS or _open_std_streams()


def _open_std_streams() -> tuple[Any, Any, Any]:
    return (
        open(0, encoding="utf-8", closefd=False),
        open(1, "w", encoding="utf-8", closefd=False),
        open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1),
    )


def _prebuild_std_streams() -> tuple[Any, Any, Any]:
    """The runs' text streams, built once in the zygote while fds 0-2 are a pipe.

    Every property a stream caches when built (not seekable, not a tty, the pipe's block size)
    is then that of a run's own pipes, and each child gets the objects unused, by fork, once its
    pipes are on fds 0-2; building them in every child dirtied a hundred of the zygote's pages.
    The zygote's own fds 0-2 are restored before anything else happens.
    """
    saved = [os.dup(fd) for fd in range(3)]
    read_end, write_end = os.pipe()
    try:
        for fd, end in enumerate((read_end, write_end, write_end)):
            os.dup2(end, fd)
        return _open_std_streams()
    finally:
        for fd, copy in enumerate(saved):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(read_end)
        os.close(write_end)


def _wipe(dirs: tuple[str, ...]) -> bool:
    """Empty every writable scratch place so that no state survives into the next run."""
    clean = True
    for base in dirs:
        try:
            entries = list(os.scandir(base))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            try:
                if not entry.is_dir(follow_symlinks=False):
                    os.unlink(entry.path)
                    continue
                try:  # the common case: the run's own work directory, left empty
                    os.rmdir(entry.path)
                except OSError:
                    _remove_tree(entry.path)
            except OSError:
                clean = False
    return clean


def _remove_tree(path: str) -> None:
    # NOTE: imported here, once per session that needs it: shutil (with bz2, lzma, fnmatch) was
    # a noticeable part of every session's start, for runs that mostly leave nothing behind.
    import shutil

    def force(func: Any, failed: str, _exc: Any) -> None:
        """A candidate may ``chmod 000`` its directories; the owner can always undo that."""
        os.chmod(os.path.dirname(failed), 0o700)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, 0o700)
            shutil.rmtree(failed)
        else:
            func(failed)

    shutil.rmtree(path, onerror=force)


def serve_run(
    load: dict[str, Any], message: dict[str, Any], fds: list[int], scratch: str, contained: bool
) -> dict[str, Any]:
    """Fork one child for one run, wait for it, kill its leftovers and wipe the scratch space."""
    workdir = os.path.join(scratch, "run")
    os.mkdir(workdir, 0o700)
    forked = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            _enter_child(fds, message["limits"], workdir, contained)
            run_candidate(load, message["nonce"])
        finally:
            os._exit(70)
    for fd in fds:
        os.close(fd)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - forked
    _kill_leftovers(pid, contained)
    clean = _wipe(_SCRATCH_DIRS if contained else (scratch,))
    cpu = usage.ru_utime + usage.ru_stime
    return {"status": status, "cpu_s": cpu, "wall_s": wall, "clean": clean}


def _kill_leftovers(pid: int, contained: bool) -> None:
    if contained:
        try:  # noqa: SIM105 - no contextlib in the zygote: one more import per session
            os.kill(-1, _signal.SIGKILL)
        except ProcessLookupError:  # nothing else left in the namespace
            pass
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                return
    try:  # noqa: SIM105 - see above
        os.killpg(pid, _signal.SIGKILL)
    except OSError:
        pass


def _prctl(option: int, value: int) -> int:
    """prctl(2); its result (0, or -1 on failure, or the value a ``PR_GET_*`` asks for).

    NOTE: through ``_ctypes``, not ``ctypes``: the package's Python layer was a twentieth of
    every session's start, for one call.
    """
    import _ctypes

    class _Int(_ctypes._SimpleCData):  # type: ignore[type-arg]  # not subscriptable at run time
        _type_ = "i"

    class _Function(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL
        _restype_ = _Int

    program = _ctypes.dlopen(None)  # type: ignore[arg-type]  # NOTE: NULL: the running program
    function = _Function(_ctypes.dlsym(program, "prctl"))
    return int(function(option, value, 0, 0, 0))


def main() -> None:
    """Warm up, announce readiness, then serve runs until the supervisor closes the socket."""
    contained = sys.argv[2] == "pid1"
    if contained and os.getpid() != 1:
        raise SystemExit("harness: pid1 mode outside a PID namespace")
    scratch = _SANDBOX_TMP if contained else os.getcwd()
    # NOTE: not dumpable (inherited by every child): no /proc/<pid>/mem or pidfd_getfd between
    # sandbox processes, so a candidate cannot reach into the zygote or its control socket.
    if _prctl(_PR_SET_DUMPABLE, 0) != 0:
        raise SystemExit("harness: cannot make the zygote non-dumpable")
    # NOTE: as PID 1 only signals with a handler reach us from inside; Python's SIGINT handler
    # would let a candidate crash the zygote and turn its own run into a SANDBOX_ERROR.
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    global _PREBUILT_STREAMS  # NOTE: set once, before the first fork
    _PREBUILT_STREAMS = _prebuild_std_streams()
    # NOTE: before the hello, off the request's path: the first compile in a process also faults
    # in the compiler's code pages, 2 ms of the load's wait for even a one-line program.
    _compiled_prelude()
    gc.freeze()
    channel = Channel(_socket.socket(fileno=int(sys.argv[1])))
    load: dict[str, Any] = {}
    channel.send({"hello": True})
    while (message := channel.recv()) is not None:
        if message["type"] == "expect":
            _import_for(message["mode"], set())
            channel.send({"expected": True})
            continue
        if message["type"] == "load":
            load = prepare(message)
            gc.freeze()  # NOTE: children's collections then never touch (copy) the zygote's pages
            channel.send({"loaded": True})
            continue
        fds = channel.take_fds(4)
        if len(fds) != 4:
            raise SystemExit(f"harness: run frame with {len(fds)} fds")
        report = serve_run(load, message, fds, scratch, contained)
        channel.send(report)
        if not report["clean"]:  # NOTE: a queued run must not start in what this one left
            return


if __name__ == "__main__":
    main()
