"""The devices of a Ray cluster, each with its timing actor, and the routing of a request's device names.

Found from the cluster's nodes: one device per GPU a node offers (``num_gpus=1`` each, never a fraction: a
shared GPU times two models at once), and one CPU device on each node that carries the CPU benchmark resource
(``ray start --resources='{"cpu_bench": 1}'``), whose actor holds every CPU of its node, so that no Ray task
runs beside a CPU measurement. Each device's id is ``<node>/cpu`` or ``<node>/cuda:<i>``, ``<node>`` the
first 8 hex digits of its Ray node id.

A request names a device of the server's own host as before (``cpu``, ``cuda:N``: the cluster's device on this
node when it has one, else this host's timing process), a cluster device by id, or a kind (``kind:H100``,
``kind:cpu_bench``, ``kind:gpu``), which the least busy matching device takes. The queue of each device is
this server's (``DeviceWorkers``); the actor runs one measurement at a time whoever sends it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.exceptions import RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from ..errors import DeviceUnavailableError
from ..latency.devices import describe_devices
from ..latency.workers import DeviceWorkers, Runner
from .actor import ActorTiming, actor_class
from .connect import RayCluster

__all__ = ["ClusterDevice", "ClusterDevices"]

REFRESH_S = 10.0  # how stale the list of nodes may be when a request names a kind
STARTUP_S = 60.0  # how long GET /devices waits for new actors to describe themselves (torch's import, roofs)


@dataclass
class ClusterDevice:
    id: str  # <node>/cpu, <node>/cuda:<i>
    node_id: str
    address: str
    host: str
    accelerator_type: str | None  # Ray's label of the node's GPUs ("H100"), from its resources
    runner: ActorTiming
    info: dict[str, Any] | None = None  # the actor's describe(), once it has started
    asked: Any = field(default=None, repr=False)  # its describe() on the way

    @property
    def local(self) -> str:
        return self.runner.local

    @property
    def name(self) -> str | None:
        return (self.info or {}).get("name") or self.accelerator_type

    def matches(self, kind: str, cpu_resource: str) -> bool:
        """``kind:<kind>``: any GPU (gpu, cuda) or CPU device (cpu, or the benchmark resource's name), Ray's
        accelerator type, or a part of the device's name (case aside)."""
        kind = kind.lower()
        if self.local == "cpu":
            return kind in ("cpu", cpu_resource.lower()) or kind in (self.name or "").lower()
        return kind in ("gpu", "cuda", (self.accelerator_type or "").lower()) or kind in (self.name or "").lower()


class ClusterDevices(DeviceWorkers):
    """``DeviceWorkers`` whose devices are the cluster's: each runs on its actor. A name of this host's own
    device that the cluster lacks keeps its timing process here."""

    def __init__(
        self,
        cluster: RayCluster,
        queue_size: int = 4,
        *,
        memory_bytes: int | None = None,
        cpu_threads: int | None = None,
    ) -> None:
        super().__init__(queue_size, isolated=True, memory_bytes=memory_bytes)
        self.cluster = cluster
        self.cpu_threads = cpu_threads  # default: the node's CPUs
        self.devices: dict[str, ClusterDevice] = {}
        self.failures: dict[str, str] = {}  # devices whose actor could not start, and why
        self._refreshed = 0.0
        self._discovering = threading.Lock()

    # ---- discovery --------------------------------------------------------------------------------------

    def refresh(self, max_age_s: float = 0.0) -> None:
        """Find the cluster's devices again (at most every ``max_age_s``); start actors for new ones."""
        with self._discovering:
            if self.devices and time.monotonic() - self._refreshed < max_age_s:
                return
            found: dict[str, ClusterDevice] = {}
            for node in self.cluster.nodes():
                for device in self._node_devices(node):
                    found[device.id] = self.devices.get(device.id) or device
            self.devices = found  # a node that left takes its devices with it
            self._refreshed = time.monotonic()
            for device in found.values():
                if device.info is None and device.asked is None:
                    device.asked = device.runner.actor.describe.remote()

    def _node_devices(self, node: dict[str, Any]) -> list[ClusterDevice]:
        resources: dict[str, float] = node.get("Resources", {})
        node_id = str(node["NodeID"])
        accelerator = next((k.split(":", 1)[1] for k in resources if k.startswith("accelerator_type:")), None)
        cpus = int(resources.get("CPU", 0))
        gpus = int(resources.get("GPU", 0))
        locals_ = [f"cuda:{i}" for i in range(gpus)]
        if resources.get(self.cluster.cpu_resource):
            locals_.append("cpu")
        out = []
        for local in locals_:
            device_id = f"{node_id[:8]}/{local}"
            if device_id in self.devices:
                out.append(self.devices[device_id])
                continue
            if local == "cpu":  # every CPU of its node, so that no task runs beside a measurement
                options: dict[str, Any] = {"num_cpus": cpus, "resources": {self.cluster.cpu_resource: 1}}
                threads = self.cpu_threads or max(cpus, 1)
            else:
                options = {"num_cpus": 0, "num_gpus": 1}
                threads = self.cpu_threads or max(cpus // max(gpus, 1), 1)
            connect = _connector(local, node_id, threads, options)
            runner = ActorTiming(device_id, connect, host=node.get("NodeManagerHostname"))
            out.append(
                ClusterDevice(
                    id=device_id,
                    node_id=node_id,
                    address=str(node.get("NodeManagerAddress", "")),
                    host=str(node.get("NodeManagerHostname", "")),
                    accelerator_type=None if local == "cpu" else accelerator,
                    runner=runner,
                )
            )
        return out

    def _described(self, wait_s: float) -> None:
        """Collect the describe() of actors that have started, waiting up to ``wait_s`` for the others."""
        pending = {d.asked: d for d in self.devices.values() if d.asked is not None}
        if not pending:
            return
        ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=wait_s)
        for ref in ready:
            device = pending[ref]
            try:
                device.info = ray.get(ref)
            except RayError as exc:  # it could not start; asked again at the next refresh
                device.runner.forget()
                device.asked = None
                self.failures[device.id] = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                continue
            device.asked = None
            self.failures.pop(device.id, None)

    # ---- routing ----------------------------------------------------------------------------------------

    def _runner(self, device: str) -> Runner | None:
        found = self.devices.get(device)
        return found.runner if found is not None else super()._runner(device)

    def names(self) -> list[str]:
        return [*self.devices, *(f"kind:{k}" for k in self.kinds())]

    def kinds(self) -> list[str]:
        kinds = {"cpu_bench" if d.local == "cpu" else d.accelerator_type or "gpu" for d in self.devices.values()}
        return sorted(kinds)

    def pick(self, name: str) -> str:
        if name.startswith("kind:"):
            return min(self.expand(name), key=self.waiting)  # the least busy; the first of equals
        if "/" in name:
            if name not in self.devices:
                self.refresh()
            if name not in self.devices:
                raise DeviceUnavailableError(name, "the cluster has no such device", self._available())
            return name
        here = self._this_node(name)
        return here if here is not None else super().pick(name)

    def expand(self, name: str) -> list[str]:
        if not name.startswith("kind:"):
            return [self.pick(name)]
        kind = name.removeprefix("kind:")
        self.refresh(REFRESH_S)
        self._described(0.0)
        matching = [d.id for d in self.devices.values() if d.matches(kind, self.cluster.cpu_resource)]
        if not matching:
            raise DeviceUnavailableError(name, f"no device of kind {kind!r} in the cluster", self._available())
        return matching

    def _this_node(self, name: str) -> str | None:
        """``cpu`` / ``cuda`` / ``cuda:N`` on the server's own node, as the cluster names it (None: not in it)."""
        self.refresh(REFRESH_S)
        node = self.cluster.this_node()[:8]
        local = "cuda:0" if name == "cuda" else name
        device_id = f"{node}/{local}"
        return device_id if device_id in self.devices else None

    def _available(self) -> list[str]:
        return [*self.devices, *(f"kind:{k}" for k in self.kinds())]

    # ---- what GET /devices shows ------------------------------------------------------------------------

    def describe(self) -> list[dict[str, Any]]:
        self.refresh(REFRESH_S)
        self._described(STARTUP_S)
        this_node = self.cluster.this_node()[:8]
        out = []
        for device in self.devices.values():
            info = device.info or {}
            entry: dict[str, Any] = {
                "device": device.id,
                "node": device.node_id,
                "host": device.host,
                "address": device.address,
                "kind": device.name,
                "accelerator_type": device.accelerator_type,
                "memory_bytes": info.get("memory_bytes"),
                "threads": info.get("threads"),
                "state": "ready" if device.info is not None else "starting",
                **{k: v for k, v in info.items() if k not in ("host", "name", "memory_bytes", "threads")},
            }
            if device.id.startswith(this_node + "/"):
                entry["also"] = device.local  # what a request on this host may call it
            if device.id in self.failures:
                entry["state"] = "failed to start"
                entry["error"] = self.failures[device.id]
            out.append(self._with_state(entry))
        covered = {d.local for d in self.devices.values() if d.id.startswith(this_node + "/")}
        out += [self._with_state(d) for d in describe_devices() if d["device"] not in covered]
        return out


def _connector(local: str, node_id: str, threads: int, options: dict[str, Any]) -> Any:
    """How to reach the device's actor: found by name (another server of the cluster may have started it) or
    started on its node, restarted by Ray whenever it dies."""

    def connect() -> Any:
        return (
            actor_class()
            .options(
                name=f"timing:{node_id}:{local}",
                get_if_exists=True,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
                max_restarts=-1,
                max_task_retries=0,  # a measurement is never run twice: the one that was running fails
                **options,
            )
            .remote(local, threads)
        )

    return connect
