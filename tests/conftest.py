"""Tests marked `gpu` run only where NVML sees a GPU; elsewhere they are skipped with the reason."""

from __future__ import annotations

import functools

import pytest

from loadtest.gpu import GpuUnavailable, NvmlReader


@functools.cache
def _no_gpu_reason() -> str | None:
    try:
        NvmlReader().close()
    except GpuUnavailable as exc:
        return str(exc)
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("gpu") is not None and (reason := _no_gpu_reason()):
        pytest.skip(f"needs an NVIDIA GPU: {reason}")
