"""The service's worker processes: how they start (``child_context``), and what each does first: end when its
parent ends (however the parent ends), and cap the memory it may take, so that a mistake fails one request and
never the host."""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import threading
import time

__all__ = ["bound_child", "child_context", "data_bytes"]

_SLACK_BYTES = 2**30  # threads' stacks, allocator arenas, the measurement's own bookkeeping


def child_context() -> multiprocessing.context.ForkServerContext | multiprocessing.context.SpawnContext:
    """Where counting and timing processes come from: forked from a server process that imported torch and the
    core once (multiprocessing's forkserver), so that a new one starts in a tenth of a second rather than
    importing torch again for seconds. The forkserver is a fresh interpreter (never the server forked): no
    thread, lock or CUDA state of the server's is copied. Where there is no forkserver: spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["profiler"])
    return context


def data_bytes() -> int | None:
    """This process's data segment now (VmData: heap and private anonymous mappings), or None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal: only whether the pid exists (PermissionError: it does, as another user's)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def bound_child(parent: int, memory_bytes: int | None) -> None:
    """Die with the parent (the server's pid), within a second, however it dies (a thread watches: the kernel's
    PR_SET_PDEATHSIG would fire when the parent *thread* that started this process ends, and servers start
    processes from pool threads that come and go). A child of ``child_context``'s forkserver has the forkserver
    for its parent, which exits when the server does: either going ends the child. And, with ``memory_bytes``,
    allow the data segment to grow by that much (plus a fixed slack) past what it is now: past it, allocations
    fail (MemoryError, or torch's "can't allocate memory"). Ctrl-C reaches the whole process group: the child
    ignores it and the server stops it in order, rather than each child printing a KeyboardInterrupt traceback."""

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    started_under = os.getppid()  # the server, or the forkserver

    def watch() -> None:
        while os.getppid() == started_under and _alive(parent):
            time.sleep(1)
        os._exit(0)  # the server was killed: nothing here is worth finishing

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()
    now = data_bytes()
    if memory_bytes is not None and now is not None:
        cap = now + memory_bytes + _SLACK_BYTES
        resource.setrlimit(resource.RLIMIT_DATA, (cap, resource.getrlimit(resource.RLIMIT_DATA)[1]))
