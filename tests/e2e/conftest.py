"""Real servers on loopback for end-to-end tests: the bundled one, and one that misbehaves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.http import serving
from tests.support.servers import Misbehaving, bundled_server


@pytest.fixture(scope="session")
def reference_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bundled server (minilm, CPU, its defaults) on a free loopback port; its base URL."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with bundled_server(log, "--max-body-bytes", str(1 << 20)) as (_, url):
        yield url


@pytest.fixture
def misbehaving_server() -> Iterator[str]:
    Misbehaving.counter = 0
    with serving(Misbehaving) as url:
        yield url
