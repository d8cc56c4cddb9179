from __future__ import annotations

import pytest

from loadtest.config.settings import ServeSettings
from loadtest.server.guard import api_keys, exposed_without_key, key_problem


def test_several_keys_and_what_a_refusal_says() -> None:
    keys = api_keys(ServeSettings.model_validate({"api_key": "sk-one, sk-two,"}))
    assert keys == [b"sk-one", b"sk-two"]
    assert key_problem("Bearer sk-two", keys) is None
    assert key_problem("bearer sk-one", keys) is None  # the scheme is case-insensitive
    missing = key_problem(None, keys)
    assert missing is not None and missing.startswith("You didn't provide an API key")
    assert key_problem("Basic sk-one", keys) == missing
    assert key_problem("Bearer ", keys) == missing
    assert key_problem("Bearer sk-three", keys) == "Incorrect API key provided."
    assert key_problem(None, []) is None  # no key set: open


@pytest.mark.parametrize(
    ("host", "key", "warned"),
    [
        ("127.0.0.1", None, False),
        ("::1", None, False),
        ("localhost", None, False),
        ("0.0.0.0", None, True),
        ("::", None, True),
        ("10.1.2.3", None, True),
        ("gpu-box.internal", None, True),
        ("0.0.0.0", "sk-one", False),
    ],
)
def test_a_warning_for_listening_beyond_loopback_without_a_key(
    host: str, key: str | None, warned: bool
) -> None:
    settings = ServeSettings.model_validate({"host": host, "api_key": key})
    assert exposed_without_key(settings) is warned
