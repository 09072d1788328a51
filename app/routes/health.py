from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import torch
from fastapi import APIRouter

from ..schemas import Health

router = APIRouter(tags=["health"])


def _version() -> str:
    try:
        return version("archprofiler")
    except PackageNotFoundError:
        return "unknown"


@router.get("/health", response_model=Health)
def health() -> Health:
    cuda = f"{torch.cuda.device_count()} device(s)" if torch.cuda.is_available() else "cuda not available"
    return Health(status="ok", version=_version(), torch=torch.__version__, cuda=cuda)
