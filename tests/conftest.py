"""Tests marked `gpu` run only where NVML sees a GPU; elsewhere they are skipped with the reason.
And the one-at-a-time server as a fixture; the helpers live in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.gpu import no_gpu_reason
from tests.support.http import OneAtATime, serving


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("gpu") is not None and (reason := no_gpu_reason()):
        pytest.skip(f"needs an NVIDIA GPU: {reason}")


@pytest.fixture
def one_at_a_time() -> Iterator[str]:
    """The one-at-a-time server on a free loopback port: its base URL (…/v1)."""
    with serving(OneAtATime) as host:
        yield f"{host}/v1"
