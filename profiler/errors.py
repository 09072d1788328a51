"""Typed errors of the core. User input never reaches an ``assert``: the edge maps these to 4xx."""

from __future__ import annotations

Loc = tuple[str | int, ...]


def plain(number: int | float) -> str:
    """A number as a person writes it: 1,000 (not 1,000.0), 0.5, 1e+15 only past what reads well."""
    if isinstance(number, float) and number.is_integer() and abs(number) < 1e15:
        number = int(number)
    return f"{number:,}" if isinstance(number, int) else f"{number:g}"


class ProfilerError(Exception):
    """Base of every error the core raises on purpose."""


class SpecError(ProfilerError, ValueError):
    """A spec that cannot be built. Each problem has a ``loc`` (path of the field, as pydantic gives it)."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, loc)) or 'spec'}: {msg}" for loc, msg in problems))

    @classmethod
    def at(cls, loc: Loc, msg: str) -> SpecError:
        return cls([(loc, msg)])

    def __reduce__(self) -> tuple:  # errors cross process boundaries (a counting process) whole
        return type(self), (self.problems,)


class LimitError(ProfilerError):
    """A spec beyond a configured limit, refused before anything is allocated."""

    def __init__(self, limit: str, value: int | float, maximum: int | float, loc: Loc, setting: str) -> None:
        self.limit = limit
        self.setting = setting  # the field of profiler.Limits that sets it
        self.value = value
        self.maximum = maximum
        self.loc = loc
        super().__init__(f"{limit} {plain(value)} exceeds the limit of {plain(maximum)}")

    def __reduce__(self) -> tuple:
        return type(self), (self.limit, self.value, self.maximum, self.loc, self.setting)


class UnknownPresetError(ProfilerError, KeyError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"unknown preset {self.name!r}; known presets: {', '.join(self.known)}"

    def __reduce__(self) -> tuple:
        return type(self), (self.name, self.known)


class DeviceUnavailableError(ProfilerError):
    """Timing asked of a device this host does not have."""

    def __init__(self, device: str, reason: str, available: list[str]) -> None:
        self.device = device
        self.reason = reason
        self.available = available
        super().__init__(f"cannot time on {device!r}: {reason}; the service can time on: {', '.join(available)}")

    def __reduce__(self) -> tuple:
        return type(self), (self.device, self.reason, self.available)


class DeviceBusyError(ProfilerError):
    """A device's queue of measurements is full."""

    def __init__(self, device: str, queued: int, retry_after_s: int) -> None:
        self.device = device
        self.queued = queued
        self.retry_after_s = retry_after_s
        super().__init__(f"{device} already has {queued} measurement(s) queued; retry in about {retry_after_s} s")

    def __reduce__(self) -> tuple:
        return type(self), (self.device, self.queued, self.retry_after_s)


class ClusterUnavailableError(ProfilerError):
    """The Ray cluster cannot be reached (or an embedded one started); the request may be sent again later."""


class MeasurementCancelled(ProfilerError):
    """The measurement was cancelled (a DELETE, a client gone, a wait given up)."""


class MeasurementOutOfMemory(ProfilerError):
    """The device ran out of memory. Raised after the measurement's tensors are freed (and, on CUDA, the
    allocator's cache emptied), so the device is as free for the next request as it was before."""

    def __init__(self, device: str, message: str) -> None:
        self.device = device
        super().__init__(message)

    def __reduce__(self) -> tuple:
        return type(self), (self.device, str(self))


class MeasurementFailed(ProfilerError):
    """A measurement failed for another reason (its message says which), or its timing process died."""
