"""The Ray deployment's files agree with the code: the compose file's settings are the service's, its build
argument is the Dockerfile's, and the extra it installs is the package's."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from app.settings import ENV_PREFIX, Settings

yaml = pytest.importorskip("yaml")  # comes with Ray

ROOT = Path(__file__).resolve().parents[2]


def test_the_compose_file_uses_settings_the_service_has() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.ray.yml").read_text())
    head, worker = compose["services"]["head"], compose["services"]["gpu-worker"]
    fields = {f"{ENV_PREFIX}{name}".upper() for name in Settings.model_fields}
    for name in head["environment"]:
        assert name in fields or name == "RAY_ADDRESS", name
    assert head["environment"]["PROFILER_BACKEND"] in ("ray",)
    assert "ray start --head" in " ".join(head["command"]) and "python -m app" in " ".join(head["command"])
    assert "cpu_bench" in " ".join(head["command"])  # the resource the service looks for by default
    assert Settings.model_fields["ray_cpu_resource"].default == "cpu_bench"
    assert worker["command"][:2] == ["ray", "start"] and "--address=head:6379" in worker["command"]
    extras = head["build"]["args"]["EXTRAS"].strip("[]").split(",")
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ARG EXTRAS=" in dockerfile and '"./${EXTRAS}"' in dockerfile
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "ray" in extras and set(extras) <= set(declared)  # the package's extras
    assert any(dep.startswith("ray") for dep in declared["ray"])
