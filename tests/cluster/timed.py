"""What the cluster tests send to timing actors instead of a model: a measurement that reports where and when
it ran, as Ray and the OS tell it (not as the code under test does)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import ray
import torch


@dataclass(frozen=True)
class Where:
    """Sleeps ``seconds`` in steps (checking for a cancel between them), then says where it ran."""

    seconds: float = 0.3
    budget_s: float = 60.0

    def __call__(self, progress: Any) -> dict[str, Any]:
        start = time.time()
        steps = max(1, int(self.seconds / 0.05))
        progress.total_steps = steps
        for i in range(steps):
            progress.check()
            time.sleep(self.seconds / steps)
            progress.done_steps = i + 1
        return {
            "node": ray.get_runtime_context().get_node_id(),
            "gpu_ids": [str(g) for g in ray.get_gpu_ids()],
            "pid": os.getpid(),
            "threads": torch.get_num_threads(),
            "start": start,
            "end": time.time(),
        }
