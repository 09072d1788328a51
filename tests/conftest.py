import os
import random
import tempfile
from collections import Counter
from typing import Any

import pytest

# The app's default store is a file under the working directory; tests keep theirs in a throwaway folder (one per
# process: each pytest-xdist worker has its own).
os.environ.setdefault("PROFILER_STORE_PATH", os.path.join(tempfile.mkdtemp(prefix="profiler-tests-"), "store.sqlite3"))

# Modules whose tests share nothing costly (no fixture of module scope: each builds its own models) and take seconds
# each: spread over the workers test by test. Every other module runs whole on one worker (see below).
SPREAD = {
    "tests/profiler/count/test_counting.py",
    "tests/profiler/count/test_memory.py",
    "tests/profiler/latency/test_runtimes.py",
    "tests/profiler/latency/test_timing.py",
    "tests/profiler/model/test_blocks.py",
    "tests/profiler/model/test_codegen.py",
    "tests/profiler/spec/test_presets.py",
    "tests/profiler/spec/test_timm_presets.py",
    "tests/profiler/test_cli.py",
    "tests/profiler/test_sweep.py",
}


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20261123)


def pytest_configure(config: pytest.Config) -> None:
    """A pytest-xdist worker's own torch ops (the reference models, fvcore's traces) on its share of the cores: two
    workers of two threads each on two cores ran them about 1.5-2x slower than with one thread each. Servers and
    timing processes the tests start are other processes, with torch's own default."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject's addopts): a worker per core, at least two (much of the suite waits on servers and
    child processes), at most eight (each worker holds torch and its own servers)."""
    return min(max(os.cpu_count() or 1, 2), 8)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadscope`` (pyproject's addopts), with this suite's scopes: a module runs whole on one worker, so
    that what its tests share (a started app, a live server, a Ray cluster, a browser: fixtures of module scope)
    is made once; the modules in SPREAD go test by test to whichever worker is free. Scopes with the most tests
    start first."""
    if config.getvalue("dist") != "loadscope":
        return None  # another --dist given on the command line: pytest-xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class ModulesUnlessSpread(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return nodeid if module in SPREAD else module

    return ModulesUnlessSpread(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """pytest 9.2 builds an item's id from its function and parametrize()'s ids only: schemathesis's items (the
    fuzz: one per API operation, each named ``test_api[POST /profile]``) all get the id ``test_api``, and
    pytest-xdist, which sends tests to its workers by id, would run one of them. Each gets the id its name says."""
    ids = Counter(item.nodeid for item in items)
    for item in items:
        node_id = getattr(item, "_id", None)
        if ids[item.nodeid] > 1 and node_id is not None and node_id.params is None and item.name.endswith("]"):
            item._id = node_id.with_params(item.name[item.name.index("[") + 1 : -1])
    if os.environ.get("PYTEST_XDIST_WORKER") and len({item.nodeid for item in items}) != len(items):
        raise pytest.UsageError(f"tests with the same id: {[i for i, n in ids.items() if n > 1]}")
