"""A store that cannot be written (a file-size limit set on the running server: what a full disk does to SQLite's
writes) answers 503 with Retry-After and the cause, not a bare 500; once writes fit again, the next one succeeds,
and no result acknowledged before is lost."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from profiler import profile
from tests.live_server import free_port, start_server, stop_server

SMALL = {"preset": "mobilenet_v3_small", "resolution": 64}


def test_a_full_store_is_a_503_then_writes_resume(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite3"
    port = free_port()
    # Room for the 4 results that are acknowledged, not for the 3 refused as well: a byte count left counting the
    # failed writes (as one was) would evict an acknowledged result at the next write.
    size = len(json.dumps(profile(SMALL).to_dict()))
    proc = start_server(
        store, port, PROFILER_STORE_MAX_BYTES=str(int(5.5 * size)), PROFILER_STORE_MAX_RESULT_SHARE="0.5"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=300) as http:
            kept = [http.post("/profile", json={**SMALL, "name": f"kept {i}"}).json()["id"] for i in range(3)]
            # No file of the server may grow past what is there now.
            on_disk = sum(p.stat().st_size for p in tmp_path.iterdir())
            resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (on_disk, resource.RLIM_INFINITY))  # soft limit
            refused = [http.post("/profile", json={**SMALL, "name": f"refused {i}", "batch_size": 4}) for i in range(3)]
            for r in refused:
                assert r.status_code == 503, r.text
                assert int(r.headers["retry-after"]) > 0 and "cannot be written" in r.json()["detail"]
            resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            after = http.post("/profile", json={**SMALL, "name": "after"})
            assert after.status_code == 200, after.text
            for rid in [*kept, after.json()["id"]]:
                assert http.get(f"/profiles/{rid}").status_code == 200
            listed = {item["id"] for item in http.get("/profiles", params={"limit": 100}).json()["items"]}
            assert set(kept) | {after.json()["id"]} <= listed
    finally:
        stop_server(proc)


@pytest.fixture
def read_only_view(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(a folder, the same folder bind-mounted read-only): a store written in the first is read-only in the
    second, as on a read-only volume. Needs root's mount (skipped without it)."""
    folder, view = tmp_path / "rw", tmp_path / "ro"
    folder.mkdir()
    view.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) for a read-only bind mount")
    bound = subprocess.run(["mount", "--bind", str(folder), str(view)], capture_output=True)
    if bound.returncode != 0:
        pytest.skip(f"bind mount refused here: {bound.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True, capture_output=True)
        yield folder, view
    finally:
        subprocess.run(["umount", str(view)], capture_output=True)


def test_a_store_on_a_read_only_mount_fails_the_start_with_a_message(read_only_view: tuple[Path, Path]) -> None:
    """An existing store (left with its WAL files by a killed server) opens and reads on a read-only mount; only
    a write shows it cannot keep anything: the server refuses to start and says why."""
    folder, view = read_only_view
    writer = subprocess.run(  # a store with a result, its process killed before it could close the file
        [
            sys.executable,
            "-c",
            "import os, sys; from app.store import ResultStore; s = ResultStore(sys.argv[1]); "
            "s.add('profile', {'name': 'kept'}, summary={'name': 'kept'}); os._exit(0)",
            str(folder / "store.sqlite3"),
        ],
        capture_output=True,
    )
    assert writer.returncode == 0, writer.stderr.decode()
    env = {**os.environ, "PROFILER_STORE_PATH": str(view / "store.sqlite3"), "PROFILER_PORT": str(free_port())}
    started = subprocess.run([sys.executable, "-m", "app"], env=env, capture_output=True, timeout=300)
    assert started.returncode == 2, started.stderr.decode()[-2000:]
    message = started.stderr.decode()
    assert "cannot be written" in message and "readonly" in message and "Traceback" not in message
    assert "PROFILER_STORE_PATH" in message
