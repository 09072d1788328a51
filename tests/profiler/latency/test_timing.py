"""The latency engine: statistics, stopping rules, clocks, per-layer isolation, device workers."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
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
    MeasurementFailed,
    MeasurementOutOfMemory,
    build_model,
    latency_measurement,
    measure_latency,
    parse_spec,
    profile,
)
from profiler.latency import Progress, Stats, median_ci, repeat_until, summarize
from profiler.latency.process import TimingProcess
from profiler.latency.quality import Contention, ContentionProbe, verdict
from profiler.latency.roofline import LayerCost, Roofs, roofline

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


class Samples:
    """A stand-in for a clock: hands out the samples it was given, and a time that moves as the test says."""

    def __init__(self, values: list[float], ms_per_sample: float = 1.0) -> None:
        self.values = iter(values)
        self.ms_per_sample = ms_per_sample
        self.now = 0.0
        self.chunks: list[int] = []

    def sample(self, count: int) -> list[float]:
        self.chunks.append(count)
        self.now += count * self.ms_per_sample / 1e3
        return [next(self.values) for _ in range(count)]

    def clock(self) -> float:
        return self.now


def test_stopping_rule_converges_once_the_ci_is_tight_enough() -> None:
    # Five identical samples: the CI of the median has width 0, within any target, at min_repeats exactly.
    samples = Samples([2.0] * 100)
    stats = repeat_until(samples.sample, LatencyOptions(min_repeats=5, target_ci=0.01), 10.0, Progress(), samples.clock)
    assert (stats.stop, stats.repeats, stats.median) == ("converged", 5, 2.0)
    # Spread samples (1..100 in turn) never reach a 1e-9 target: the repeat cap stops it.
    samples = Samples([float(1 + i % 100) for i in range(1000)])
    opts = LatencyOptions(min_repeats=5, target_ci=1e-9, max_repeats=12)
    stats = repeat_until(samples.sample, opts, 10.0, Progress(), samples.clock)
    assert (stats.stop, stats.repeats) == ("max_repeats", 12)


def test_stopping_rule_stops_at_the_budget_and_chunks_never_outgrow_it() -> None:
    # Calls of 1/64 s (exact in binary) and a 0.25 s budget: 16 calls fit, and the chunks are sized to fit.
    samples = Samples([15.625 + i % 7 for i in range(10_000)], ms_per_sample=15.625)
    opts = LatencyOptions(min_repeats=5, target_ci=1e-9)
    stats = repeat_until(samples.sample, opts, 0.25, Progress(), samples.clock)
    assert stats.stop == "budget"
    assert stats.repeats == sum(samples.chunks) == 16
    assert samples.chunks[0] == 1  # the first call says how long a call takes


def test_stopping_rule_takes_two_samples_even_past_the_budget() -> None:
    samples = Samples([50.0] * 10, ms_per_sample=1000.0)  # each call overruns the whole budget
    stats = repeat_until(samples.sample, LatencyOptions(min_repeats=5), 0.1, Progress(), samples.clock)
    assert (stats.stop, stats.repeats) == ("budget", 2)


def test_stopping_rule_checks_cancellation_before_each_chunk() -> None:
    progress = Progress()
    samples = Samples([1.0, 2.0, 3.0] * 100)

    def cancel_after_first(count: int) -> list[float]:
        progress.cancelled.set()
        return samples.sample(count)

    with pytest.raises(MeasurementCancelled):
        repeat_until(cancel_after_first, LatencyOptions(min_repeats=50), 10.0, progress, samples.clock)
    assert samples.chunks == [1]


def test_threads_are_stated_and_restored() -> None:
    ambient = torch.get_num_threads()
    before = 3  # not the measurement's 1, whatever this process runs with (a pytest-xdist worker: tests/conftest.py)
    torch.set_num_threads(before)
    try:
        result = measure_latency(nn.Conv2d(3, 8, 3), (1, 3, 16, 16), LatencyOptions(threads=1, warmup=1, budget_s=0.5))
        assert result.threads == 1
        assert torch.get_num_threads() == before
    finally:
        torch.set_num_threads(ambient)


def test_per_layer_times_every_leaf_alone() -> None:
    spec = parse_spec({"preset": "mobilenet_v3_small", "resolution": 64})
    model = build_model(spec)
    opts = LatencyOptions(per_layer=True, per_layer_method="isolated", warmup=1, budget_s=3)
    result = measure_latency(model, (1, 3, 64, 64), opts)
    leaves = [r.name for r in profile(spec).counts.rows]
    assert [layer.name for layer in result.layers] == leaves
    per_layer = result.to_dict()["per_layer"]
    assert per_layer["sum_of_medians_ms"] == pytest.approx(sum(layer.stats.median for layer in result.layers))
    assert per_layer["method"] == "isolated" and "timed alone" in per_layer["how"]
    assert all(not m._forward_pre_hooks and not m._forward_hooks for m in model.modules())


def test_in_context_per_layer_has_every_leaf_and_op_in_execution_order() -> None:
    spec = parse_spec({"preset": "mobilenet_v2", "resolution": 64})
    report = profile(spec)
    measurement = latency_measurement(report, LatencyOptions(per_layer=True, warmup=1, budget_s=3))
    result = measurement(Progress())
    names = [layer.name for layer in result.layers]
    # Leaves as counted, and the skip adds of the blocks that have one, each right after its block's leaves.
    assert [n for n in names if "(" not in n] == [r.name for r in report.counts.rows]
    assert [n for n in names if "(" in n] == list(report.counts.op_elements)
    assert names.index("features.3 (add)") == names.index("features.3.bn3") + 1
    per_layer = result.to_dict()["per_layer"]
    assert per_layer["method"] == "in_context" and "perf_counter_ns" in per_layer["how"]
    assert per_layer["probe_cost"]["per_node_us"] >= 0
    assert per_layer["sum_of_medians_ms"] == pytest.approx(sum(layer.stats.median for layer in result.layers))
    # Over typical forwards (between the quartiles of each kind's totals), where means add up.
    typical = per_layer["sum_in_typical_forwards_ms"]
    assert typical > 0 and per_layer["sum_over_end_to_end"] == pytest.approx(
        typical / per_layer["end_to_end_typical_ms"]
    )
    assert result.end_to_end.p10 <= per_layer["end_to_end_typical_ms"] <= result.end_to_end.p90
    for row in per_layer["layers"]:
        assert row["bound"] in {"compute", "memory", "overhead"}, row
        assert row["bytes"] > 0 and row["achieved_bytes_per_s"] > 0
    conv = next(row for row in per_layer["layers"] if row["name"] == "features.2.conv_pw")
    counted = next(r for r in report.counts.rows if r.name == "features.2.conv_pw")
    # Bytes at float32: input and output activations and the weights, each once.
    assert conv["bytes"] == 4 * (math.prod(counted.input_shape) + counted.activations + counted.params)
    assert conv["flops"] == counted.flops and conv["intensity"] == counted.flops / conv["bytes"]


def test_roofline_bound_follows_the_roofs() -> None:
    roofs = Roofs({"float32": 1e12}, 1e11, "made for the test")  # ridge at 10 FLOP/byte
    compute = roofline(LayerCost(flops=10**9, bytes=10**6), 2e-3, roofs, "float32")  # 1000 FLOP/B, 1 ms roof
    assert compute["bound"] == "compute" and compute["intensity"] == 1000
    assert compute["achieved_flops_per_s"] == pytest.approx(10**9 / 2e-3)
    memory = roofline(LayerCost(flops=10**6, bytes=10**8), 2e-3, roofs, "float32")  # 0.01 FLOP/B, 1 ms roof
    assert memory["bound"] == "memory" and memory["achieved_bytes_per_s"] == pytest.approx(10**8 / 2e-3)
    overhead = roofline(LayerCost(flops=10**6, bytes=10**6), 1e-3, roofs, "float32")  # 10 us roof, 1 ms taken
    assert overhead["bound"] == "overhead"
    assert roofline(LayerCost(10, 10), 1e-3, Roofs({"float32": None}, 1e11, "x"), "float32")["bound"] is None


def _stats(samples: list[float], stop: str) -> Stats:
    return summarize(samples, stop)


def test_verdict_stable_and_each_reason_for_noisy() -> None:
    opts = LatencyOptions(target_ci=0.02, min_repeats=10)
    quiet = Contention(other_cores=0.05, cores=2, cores_in_use=2)
    assert verdict(_stats([10.0] * 20, "converged"), opts, quiet) == {
        "verdict": "stable",
        "reasons": [],
        "contention": quiet.to_dict(),
    }
    spread = verdict(_stats([1.0, 30.0] * 10, "budget"), opts, quiet)
    assert spread["verdict"] == "noisy" and any("CV" in r for r in spread["reasons"])
    assert any("95% CI" in r for r in spread["reasons"])
    few = verdict(_stats([1073.0, 1075.0], "budget"), opts, quiet)
    assert any("after 2 repeats (10 wanted)" in r for r in few["reasons"])
    busy = verdict(_stats([10.0] * 20, "converged"), opts, Contention(other_cores=1.9, cores=2, cores_in_use=2))
    assert busy["verdict"] == "noisy" and "other processes took 1.9 cores" in busy["reasons"][0]
    spare = Contention(other_cores=1.0, cores=4, cores_in_use=2)  # busy, but on cores the measurement left free
    assert verdict(_stats([10.0] * 20, "converged"), opts, spare)["verdict"] == "stable"


def test_contention_probe_sees_a_busy_loop_in_another_process() -> None:
    probe = ContentionProbe(cores_in_use=1)
    busy = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time() + 1\nwhile time.time() < t: pass"])
    busy.wait(120)
    contention = probe.read()
    if contention is None:
        pytest.skip("no /proc/stat on this host")
    assert contention.other_cores > 0.2  # the loop's CPU second, over the wall time it took


class StepsSeen(nn.Module):
    """Records, at each forward, how many steps the measurement's progress says are done."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress
        self.seen: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(self.progress.done_steps)
        return x


def test_progress_moves_during_warm_up() -> None:
    progress = Progress()
    model = StepsSeen(progress)
    measure_latency(model, (1, 1), LatencyOptions(warmup=5, budget_s=10, min_repeats=2), progress)
    assert progress.total_steps == 5 + 1
    assert model.seen[:5] == [0, 1, 2, 3, 4]  # one step per warm-up forward, before any sample
    assert progress.done_steps == progress.total_steps


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
    started = threading.Event()
    running = []

    def blocking(progress: Progress) -> str:
        running.append(threading.get_ident())
        started.set()
        gate.wait(120)
        return "ok"

    first = workers.submit("cpu", blocking)
    second = workers.submit("cpu", blocking)
    with pytest.raises(DeviceBusyError) as err:
        workers.submit("cpu", blocking)
    assert err.value.retry_after_s >= 1
    assert started.wait(120)
    assert len(running) == 1 and second.state == "queued"  # never two on one device
    second.cancel()
    gate.set()
    assert first.future.result(timeout=120) == "ok"
    assert second.state == "cancelled"
    third = workers.submit("cpu", lambda p: "again")  # the cancelled one freed its place
    assert third.future.result(timeout=120) == "again"
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


def test_a_job_reads_cancelling_until_it_has_stopped_and_its_clock_stops_when_it_ends() -> None:
    workers = DeviceWorkers(queue_size=1)
    gate, started = threading.Event(), threading.Event()

    def stops_at_its_next_check(progress: Progress) -> str:
        started.set()
        gate.wait(120)
        progress.check()
        return "not cancelled"

    job = workers.submit("cpu", stops_at_its_next_check)
    assert started.wait(120)
    job.cancel()
    assert job.state == "cancelling"  # asked, not stopped yet
    gate.set()
    with pytest.raises(MeasurementCancelled):
        job.future.result(timeout=120)
    assert job.state == "cancelled"
    done = workers.submit("cpu", lambda p: "ok")
    assert done.future.result(timeout=120) == "ok"
    elapsed = done.status()["elapsed_s"]
    time.sleep(0.05)
    assert done.status()["elapsed_s"] == elapsed  # stopped when the job ended
    workers.shutdown()


class Stuck:
    """A measurement stuck in one long call (a forward of hours), deaf to cancellation; picklable."""

    budget_s = 0.5

    def __call__(self, progress: Progress) -> None:
        time.sleep(3600)


def test_a_measurement_past_its_budget_is_killed_and_the_device_works_after() -> None:
    timing = TimingProcess("cpu", grace_s=0.5)
    try:
        with pytest.raises(MeasurementFailed, match=r"overran its budget of 0\.5 s"):
            timing.run(Stuck(), Progress(), Stuck.budget_s)
        assert timing.process is None  # killed; started again on the next run
        timing.grace_s = 10.0  # the next one is a real measurement: a busy host's grace (warm-up, roofs) for it
        spec = parse_spec({"preset": "mobilenet_v3_small", "resolution": 32})
        measurement = latency_measurement(profile(spec), LatencyOptions(warmup=1, budget_s=0.5))
        assert timing.run(measurement, Progress(), measurement.budget_s).end_to_end.median > 0
    finally:
        timing.stop()


def test_cancelling_a_stuck_measurement_kills_it_within_about_a_second() -> None:
    timing = TimingProcess("cpu")
    progress = Progress()
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            timing.run(Stuck(), progress)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 300
    while (timing.process is None or not timing._began.value) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the child has begun the measurement
    progress.cancelled.set()
    thread.join(300)
    assert isinstance(outcome[0], MeasurementCancelled) and "stopped" in str(outcome[0])
    assert timing.process is None
    timing.stop()


def test_a_timing_process_dies_with_its_parent() -> None:
    script = (
        "import sys, threading, time\n"
        "from profiler.latency.process import TimingProcess\n"
        "from profiler.latency import Progress\n"
        "from tests.profiler.latency.test_timing import Stuck\n"
        "t = TimingProcess('cpu')\n"
        "threading.Thread(target=t.run, args=(Stuck(), Progress()), daemon=True).start()\n"
        "while t.process is None or not t._began.value: time.sleep(0.05)\n"
        "print(t.process.pid, flush=True)\n"
        "time.sleep(3600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.kill()  # as SIGKILL or the OOM killer would: no clean-up runs in the parent
    parent.wait(60)
    deadline = time.monotonic() + 60
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"  # a zombie has ended; only its parent's wait is missing
    except FileNotFoundError:
        return False


def test_a_measurement_over_its_memory_cap_fails_alone() -> None:
    # 1.6 GB of input and 4.3 GB of output, in a process allowed 1 MB more than it has (plus the fixed slack).
    spec = {"in_channels": 3, "resolution": 8192, "classifier": None, "stages": [{"block": "conv", "c": 8, "k": 1}]}
    report = profile(spec, batch_size=2)
    measurement = latency_measurement(report, LatencyOptions(batch_size=2, budget_s=5), Limits(max_timing_bytes=2**60))
    timing = TimingProcess("cpu", memory_bytes=10**6)
    try:
        with pytest.raises(MeasurementOutOfMemory, match="out of memory on cpu"):
            timing.run(measurement, Progress(), measurement.budget_s)
        small = latency_measurement(
            profile({"preset": "mobilenet_v3_small", "resolution": 32}), LatencyOptions(budget_s=0.5)
        )
        assert timing.run(small, Progress(), small.budget_s).end_to_end.median > 0
    finally:
        timing.stop()
