"""Operations endpoints: readiness (``/readyz``) and Prometheus metrics (``/metrics``).

Kept free of web imports at package level: the worker imports
:mod:`backend.ops.instruments` to observe durations, and must not pull in FastAPI.
"""
