"""A Python client of the profiling service, over httpx (blocking and asyncio).

from profiler_client import ProfilerClient

with ProfilerClient("http://gpu-host:8000") as client:
    report = client.profile({"preset": "mobilenet_v2", "width_multiplier": 0.75})
    job = client.submit_profile({"preset": "resnet50"}, latency={"devices": ["cuda"]})
    timed = client.wait(job["id"], progress=lambda s: print(s["state"]))
"""

from .client import DEFAULT_URL, AsyncProfilerClient, JobStatus, ProfilerClient, ResultPage, profile_body
from .errors import (
    BadRequest,
    JobCancelled,
    JobFailed,
    NotFound,
    PayloadTooLarge,
    ProfilerClientError,
    ProtocolError,
    ServerError,
    ServerUnavailable,
    ServerUnreachable,
    SpecRejected,
    Unauthorized,
    WaitTimeout,
)

__all__ = [
    "DEFAULT_URL",
    "AsyncProfilerClient",
    "BadRequest",
    "JobCancelled",
    "JobFailed",
    "JobStatus",
    "NotFound",
    "PayloadTooLarge",
    "ProfilerClient",
    "ProfilerClientError",
    "ProtocolError",
    "ResultPage",
    "ServerError",
    "ServerUnavailable",
    "ServerUnreachable",
    "SpecRejected",
    "Unauthorized",
    "WaitTimeout",
    "profile_body",
]
