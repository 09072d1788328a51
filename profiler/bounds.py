"""What every worker process of the service does first: end when its parent ends (however the parent ends),
and cap the memory it may take, so that a mistake fails one request and never the host."""

from __future__ import annotations

import os
import resource
import signal
import threading
import time

__all__ = ["bound_child", "data_bytes"]

_SLACK_BYTES = 2**30  # threads' stacks, allocator arenas, the measurement's own bookkeeping


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


def bound_child(parent: int, memory_bytes: int | None) -> None:
    """Die with the parent, within a second, however it dies (a thread watches the parent's pid: the kernel's
    PR_SET_PDEATHSIG would fire when the parent *thread* that started this process ends, and servers start
    processes from pool threads that come and go), and, with ``memory_bytes``, allow the data segment to grow
    by that much (plus a fixed slack) past what it is now: past it, allocations fail (MemoryError, or torch's
    "can't allocate memory"). Ctrl-C reaches the whole process group: the child ignores it and the server stops it
    in order, rather than each child printing a KeyboardInterrupt traceback."""

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)  # the server was killed: nothing here is worth finishing

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()
    now = data_bytes()
    if memory_bytes is not None and now is not None:
        cap = now + memory_bytes + _SLACK_BYTES
        resource.setrlimit(resource.RLIMIT_DATA, (cap, resource.getrlimit(resource.RLIMIT_DATA)[1]))
