"""Beyond one host: latency measured on the devices of a Ray cluster, one long-lived timing actor per
physical device, and large count-only sweeps split into Ray tasks. Optional: ``pip install
'archprofiler[ray]'``; nothing here imports Ray until it is asked for.

``RayCluster`` is the connection (an address, or an embedded local Ray started on first use);
``ClusterDevices`` (in ``.devices``, which imports Ray) routes measurements to the actors.
"""

from .connect import RAY_EXTRA, RayCluster, require_ray

__all__ = ["RAY_EXTRA", "RayCluster", "require_ray"]
