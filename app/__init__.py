"""The web edge of the profiling service: schemas, routes, settings. Logic lives in ``profiler``."""
