"""Run the Dockerfile without Docker (no engine on the CI machine): its ENV, WORKDIR, COPY and RUN steps as
written, in a fresh virtual environment standing in for the base image's Python; then its CMD as its USER,
probed with its own HEALTHCHECK command, and a profile written to the store volume as that user.

Meant for a throwaway CI machine, as root: it writes into the Dockerfile's own paths (WORKDIR, /data) and
creates its user (removing one an earlier run created).
"""

from __future__ import annotations

import itertools
import json
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path("/tmp/archprofiler-image-venv")


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    out, pending = [], ""
    for line in dockerfile.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip().removesuffix("\\") + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            keyword, _, rest = pending.strip().partition(" ")
            out.append((keyword.upper(), rest.strip()))
            pending = ""
    return out


def env_pairs(rest: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in shlex.split(rest))


def build_args(argv: list[str]) -> dict[str, str]:
    """``--build-arg NAME=VALUE`` as ``docker build`` takes them."""
    out = {}
    for flag, value in itertools.pairwise(argv):
        if flag == "--build-arg":
            name, _, given = value.partition("=")
            out[name] = given
    return out


def main() -> int:
    if os.geteuid() != 0:
        print("needs root (it creates the Dockerfile's user and paths)", file=sys.stderr)
        return 2
    steps = instructions(ROOT / "Dockerfile")
    given = build_args(sys.argv[1:])
    shutil.rmtree(VENV, ignore_errors=True)
    # The image's user must be able to run this Python: prefer the system one over one under /root.
    base = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    env = {**os.environ, "PATH": f"{VENV}/bin:{os.environ['PATH']}", "VIRTUAL_ENV": str(VENV)}
    env.pop("PYTHONPATH", None)
    workdir, user, cmd, healthcheck = Path("/"), None, None, None
    for keyword, rest in steps:
        print(f"--- {keyword} {rest}", flush=True)
        if keyword == "ENV":
            env.update(env_pairs(rest))
        elif keyword == "ARG":  # its default, unless given as docker build's --build-arg
            name, _, default = rest.partition("=")
            env[name] = given.get(name, shlex.split(default)[0] if default.strip('"') else "")
        elif keyword == "WORKDIR":
            workdir = workdir / rest
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY":
            *sources, dest = shlex.split(rest)
            target = workdir / dest
            for src in sources:
                path = ROOT / src
                if path.is_dir():
                    shutil.copytree(
                        path,
                        target / path.name if dest.endswith("/") else target,
                        dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "node_modules"),
                    )
                else:
                    shutil.copy2(path, target / path.name if dest.endswith("/") else target)
        elif keyword == "RUN":
            _forget_user(rest)
            subprocess.run(["/bin/sh", "-c", rest], check=True, cwd=workdir, env=env)
        elif keyword == "USER":
            user = rest
        elif keyword == "CMD":
            cmd = json.loads(rest)
        elif keyword == "HEALTHCHECK":
            healthcheck = json.loads(rest.split(" CMD ", 1)[1])
    assert cmd and healthcheck and user, "the Dockerfile needs CMD, HEALTHCHECK and USER"
    uid, _, gid = user.partition(":")
    as_user = {
        "user": int(uid),
        "group": int(gid or uid),
        "extra_groups": [],
        "env": {**env, "HOME": pwd.getpwuid(int(uid)).pw_dir},
        "cwd": workdir,
    }
    # As the image is meant to run: listening on every interface, so only with a token (docker run -e ...).
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, **as_user)
    assert refused.returncode == 2 and "PROFILER_API_TOKEN" in refused.stderr, refused.stderr[-2000:]
    print("without a token the image refuses to start, as it should", flush=True)
    token = "ci-token"
    as_user["env"] = {**as_user["env"], "PROFILER_API_TOKEN": token}
    server = subprocess.Popen(cmd, **as_user)
    try:
        deadline = time.monotonic() + 90
        while subprocess.run(healthcheck, capture_output=True, check=False, **as_user).returncode != 0:
            if server.poll() is not None or time.monotonic() > deadline:
                print("HEALTHCHECK never passed", file=sys.stderr)
                return 1
            time.sleep(1)
        print("HEALTHCHECK passed", flush=True)
        port = env["PROFILER_PORT"]
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
        assert "/static/vendor/chart.umd.min.js" in page
        urllib.request.urlopen(f"http://127.0.0.1:{port}/static/vendor/chart.umd.min.js", timeout=10).read()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/profile",
            data=b'{"preset": "mobilenet_v2"}',
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        body = json.load(urllib.request.urlopen(request, timeout=60))
        stored = Path(env["PROFILER_STORE_PATH"])
        assert stored.stat().st_uid == int(uid), "the store must belong to the container's user"
        print(f"dashboard served; profile {body['id']} stored in {stored} by uid {uid}", flush=True)
    finally:
        server.terminate()
        server.wait(20)
    return 0


def _forget_user(run: str) -> None:
    """A user this RUN creates may exist from an earlier run on this machine: remove it first."""
    for word in ("useradd", "groupadd"):
        if word in run:
            name = shlex.split(run.split(word, 1)[1].split("&&")[0])[-1]
            subprocess.run(["userdel", "-r", name], capture_output=True, check=False)
            subprocess.run(["groupdel", name], capture_output=True, check=False)


if __name__ == "__main__":
    sys.exit(main())
