"""Sandbox limits for tests: small enough that hostile containers stop within seconds."""

from __future__ import annotations

from worker.runner.base import MIB, RunLimits

#: Small limits so hostile containers are stopped within seconds.
TEST_LIMITS = RunLimits(
    wall_seconds=5,
    memory_bytes=64 * MIB,
    pids=64,
    cpus=1.0,
    output_bytes=4 * MIB,
    tmp_bytes=4 * MIB,
    log_head_bytes=2048,
    log_tail_bytes=2048,
)
