"""The latency engine: statistics, stopping rules, clocks, per-layer isolation, device workers."""

from __future__ import annotations

import statistics
import threading
import time
import weakref

import pytest
import torch
from torch import nn

from profiler import (
    DeviceBusyError,
    DeviceUnavailableError,
    DeviceWorkers,
    LatencyOptions,
    LimitError,
    Limits,
    MeasurementCancelled,
    MeasurementOutOfMemory,
    build_model,
    latency_measurement,
    measure_latency,
    parse_spec,
    profile,
)
from profiler.latency import Progress, median_ci, summarize

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="cuda not available")


class Sleep(nn.Module):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(self.seconds)
        return x


def test_summary_statistics() -> None:
    samples = [float(v) for v in range(1, 101)]
    stats = summarize(samples, "converged")
    assert stats.median == statistics.median(samples) == 50.5
    assert stats.mean == 50.5 and stats.min == 1.0 and stats.repeats == 100
    assert stats.p10 == pytest.approx(statistics.quantiles(samples, n=10, method="inclusive")[0])
    assert stats.p90 == pytest.approx(statistics.quantiles(samples, n=10, method="inclusive")[-1])
    assert stats.std == pytest.approx(statistics.stdev(samples))
    assert stats.cv == pytest.approx(statistics.stdev(samples) / 50.5)
    # Order-statistic CI of the median for n = 100 at 95%: the 40th and 61st values (standard tables).
    assert stats.ci95 == (40.0, 61.0)


def test_median_ci_always_brackets_the_median() -> None:
    for n in range(2, 200):
        s = sorted(float(i * i % 17) for i in range(n))
        lo, hi = median_ci(s)
        assert lo <= statistics.median(s) <= hi


def test_cpu_clock_times_the_whole_forward() -> None:
    result = measure_latency(Sleep(0.002), (1, 3, 4, 4), LatencyOptions(warmup=1, budget_s=1.0, min_repeats=5))
    assert result.end_to_end.min >= 2.0  # the forward sleeps 2 ms: no sample can be shorter
    assert result.end_to_end.repeats >= 5
    assert result.to_dict()["method"].startswith("time.perf_counter_ns")


def test_stopping_rules() -> None:
    easy = measure_latency(Sleep(0.0005), (1, 1), LatencyOptions(warmup=1, target_ci=0.5, min_repeats=5))
    assert easy.end_to_end.stop == "converged"
    assert easy.end_to_end.repeats == 5
    capped = measure_latency(
        Sleep(0.0005), (1, 1), LatencyOptions(warmup=1, target_ci=1e-9, max_repeats=12, min_repeats=5)
    )
    assert (capped.end_to_end.stop, capped.end_to_end.repeats) == ("max_repeats", 12)
    tight = measure_latency(Sleep(0.01), (1, 1), LatencyOptions(warmup=1, target_ci=1e-9, budget_s=0.3))
    assert tight.end_to_end.stop == "budget"
    # Chunks never outgrow the budget: 10 ms calls cannot fit more than 30 in 0.3 s (sleep only overruns).
    assert tight.end_to_end.repeats <= 31


def test_threads_are_stated_and_restored() -> None:
    before = torch.get_num_threads()
    result = measure_latency(nn.Conv2d(3, 8, 3), (1, 3, 16, 16), LatencyOptions(threads=1, warmup=1, budget_s=0.5))
    assert result.threads == 1
    assert torch.get_num_threads() == before


def test_per_layer_times_every_leaf_alone() -> None:
    spec = parse_spec({"preset": "mobilenet_v3_small", "resolution": 64})
    model = build_model(spec)
    result = measure_latency(model, (1, 3, 64, 64), LatencyOptions(per_layer=True, warmup=1, budget_s=3))
    leaves = [r.name for r in profile(spec).counts.rows]
    assert [layer.name for layer in result.layers] == leaves
    per_layer = result.to_dict()["per_layer"]
    assert per_layer["sum_of_medians_ms"] == pytest.approx(sum(layer.stats.median for layer in result.layers))
    assert "timed alone" in per_layer["method"]
    assert all(not m._forward_pre_hooks and not m._forward_hooks for m in model.modules())


def test_cancel_stops_a_measurement() -> None:
    progress = Progress()
    progress.cancelled.set()
    with pytest.raises(MeasurementCancelled):
        measure_latency(Sleep(0.001), (1, 1), LatencyOptions(warmup=0), progress)


class Greedy(nn.Module):
    """Asks the host allocator for 32 TiB: a real allocation failure, refused at once."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.empty(2**45, dtype=torch.uint8)[0]


def test_out_of_memory_is_a_clear_error_that_keeps_nothing_alive() -> None:
    model = nn.Sequential(nn.Linear(4, 4), Greedy())
    alive = weakref.ref(model[0].weight)
    message = r"out of memory on cpu timing batch 1 .*lower latency.batch_size"
    with pytest.raises(MeasurementOutOfMemory, match=message) as kept:
        measure_latency(model, (1, 4), LatencyOptions(warmup=1))
    del model
    assert alive() is None  # the error, kept (as a job's future keeps it), holds no tensor of the measurement
    assert kept.value.device == "cpu"
    result = measure_latency(nn.Linear(4, 4), (1, 4), LatencyOptions(warmup=1, budget_s=0.5))
    assert result.end_to_end.median > 0  # and the next measurement runs


def test_other_runtime_errors_are_not_called_out_of_memory() -> None:
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("shapes do not match")

    with pytest.raises(RuntimeError, match="shapes do not match"):
        measure_latency(Broken(), (1, 4), LatencyOptions(warmup=1))


def test_devices_this_host_lacks_are_refused_by_name() -> None:
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailableError, match=r"cuda not available.*can time on: cpu"):
            latency_measurement(profile({"preset": "resnet18"}), LatencyOptions(device="cuda"))
    with pytest.raises(DeviceUnavailableError, match="can time on"):
        latency_measurement(profile({"preset": "resnet18"}), LatencyOptions(device="tpu"))


def test_timing_memory_limit_is_checked_before_building() -> None:
    report = profile({"preset": "resnet50", "resolution": 2048}, batch_size=1)
    with pytest.raises(LimitError) as err:
        latency_measurement(report, LatencyOptions(batch_size=256), Limits(max_timing_bytes=2**30))
    assert err.value.setting == "max_timing_bytes"


def test_one_measurement_per_device_and_a_bounded_queue() -> None:
    workers = DeviceWorkers(queue_size=1)
    gate = threading.Event()
    running = []

    def blocking(progress: Progress) -> str:
        running.append(threading.get_ident())
        gate.wait(10)
        return "ok"

    first = workers.submit("cpu", blocking)
    second = workers.submit("cpu", blocking)
    with pytest.raises(DeviceBusyError) as err:
        workers.submit("cpu", blocking)
    assert err.value.retry_after_s >= 1
    time.sleep(0.1)
    assert len(running) == 1 and second.state == "queued"  # never two on one device
    second.cancel()
    gate.set()
    assert first.future.result(timeout=10) == "ok"
    assert second.state == "cancelled"
    third = workers.submit("cpu", lambda p: "again")  # the cancelled one freed its place
    assert third.future.result(timeout=10) == "again"
    workers.shutdown()


@cuda
@pytest.mark.parametrize("graph", [False, True])
def test_cuda_events(graph: bool) -> None:
    spec = parse_spec({"preset": "mobilenet_v2"})
    opts = LatencyOptions(
        device="cuda", cuda_graph=graph, per_layer=True, budget_s=10, dtype="float16", channels_last=True
    )
    result = measure_latency(build_model(spec), (1, 3, 224, 224), opts)
    assert result.device.startswith("cuda") and result.end_to_end.median > 0
    assert "CUDA events" in result.to_dict()["method"]
    assert len(result.layers) == len(profile(spec).counts.rows)
