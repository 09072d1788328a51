"""The connection to Ray: checked when the service starts, made on first use, once per process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

from ..errors import ClusterUnavailableError

__all__ = ["NAMESPACE", "RAY_EXTRA", "RayCluster", "require_ray"]

RAY_EXTRA = "pip install 'archprofiler[ray]'"
NAMESPACE = "archprofiler"  # the timing actors' names live here, shared by every server of the cluster
T = TypeVar("T")

_connecting = threading.Lock()


def require_ray() -> ModuleType:
    """Ray, or an error that says how to get it."""
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError(
            f"PROFILER_BACKEND=ray needs Ray, which is not installed: {RAY_EXTRA} (or set PROFILER_BACKEND=local)"
        ) from exc
    return ray


class RayCluster:
    """The cluster at ``address`` (``RAY_ADDRESS``: ``<head>:6379``), or, without one, an embedded local Ray
    started on first use, whose only node is this host, its CPU a timing device (``cpu_resource``) as a CPU
    benchmark host's is."""

    def __init__(self, address: str | None = None, cpu_resource: str = "cpu_bench") -> None:
        require_ray()  # at the service's start, not at its first measurement
        self.address = address
        self.cpu_resource = cpu_resource
        self._connected = False  # by this object (a test's or a notebook's own connection is theirs to end)

    def ray(self) -> ModuleType:
        """Ray, connected."""
        ray = require_ray()
        with _connecting:
            if not ray.is_initialized():
                try:
                    if self.address:
                        ray.init(address=self.address, namespace=NAMESPACE, log_to_driver=False)
                    else:
                        ray.init(
                            namespace=NAMESPACE,
                            resources={self.cpu_resource: 1},
                            include_dashboard=False,
                            log_to_driver=False,
                        )
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    where = f"the Ray cluster at {self.address} (RAY_ADDRESS)" if self.address else "an embedded Ray"
                    raise ClusterUnavailableError(
                        f"cannot reach {where}: {exc}. On the head's own host RAY_ADDRESS=auto finds it; elsewhere "
                        "use <head-ip>:6379 as `ray start --head` printed it"
                    ) from None
                self._connected = True
        return ray

    def nodes(self) -> list[dict[str, Any]]:
        """The live nodes, as Ray describes them (``NodeID``, ``NodeManagerHostname``, ``Resources``, ...)."""
        return [node for node in self.ray().nodes() if node.get("Alive")]

    def this_node(self) -> str:
        """The id of the node this process runs on."""
        return str(self.ray().get_runtime_context().get_node_id())

    def free_cpus(self) -> int:
        """CPUs no task or actor holds now: a split count runs only where there are some."""
        return int(self.ray().available_resources().get("CPU", 0))

    def map(self, fn: Callable[..., T], shared: Any, arg_lists: list[tuple[Any, ...]]) -> list[T]:
        """``fn(shared, *args)`` for each of ``arg_lists`` as Ray tasks (one CPU each), results in order;
        ``shared`` is sent to the object store once, not once per task."""
        ray = self.ray()
        task = ray.remote(num_cpus=1, max_retries=1)(fn)
        ref = ray.put(shared)
        return list(ray.get([task.remote(ref, *args) for args in arg_lists]))

    def shutdown(self) -> None:
        ray = require_ray()
        with _connecting:
            if self._connected and ray.is_initialized():
                ray.shutdown()
            self._connected = False
