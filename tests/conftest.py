"""Tests marked `gpu` run only where NVML sees a GPU; elsewhere they are skipped with the reason."""

from __future__ import annotations

import functools

import pytest

from loadtest.gpu import GpuUnavailable, NvmlReader


@functools.cache
def no_gpu_reason() -> str | None:
    """Why this machine has no GPU for NVML to read; None where it has one."""
    try:
        NvmlReader().close()
    except GpuUnavailable as exc:
        return str(exc)
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("gpu") is not None and (reason := no_gpu_reason()):
        pytest.skip(f"needs an NVIDIA GPU: {reason}")
