"""A store that cannot be written (a file-size limit set on the running server: what a full disk does to SQLite's
writes) answers 503 with Retry-After and the cause, not a bare 500; once writes fit again, the next one succeeds,
and no result acknowledged before is lost."""

from __future__ import annotations

import json
import resource
from pathlib import Path

import httpx

from profiler import profile
from tests.live_server import free_port, start_server, stop_server

SMALL = {"preset": "mobilenet_v3_small", "resolution": 64}


def test_a_full_store_is_a_503_then_writes_resume(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite3"
    port = free_port()
    # Room for the 4 results that are acknowledged, not for the 3 refused as well: a byte count left counting the
    # failed writes (as one was) would evict an acknowledged result at the next write.
    size = len(json.dumps(profile(SMALL).to_dict()))
    proc = start_server(store, port, PROFILER_STORE_MAX_BYTES=str(int(5.5 * size)))
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
