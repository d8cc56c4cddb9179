"""A client for a target by its embload.toml entry (config/targets.TargetSpec): the one way
compare, quality and probe reach a named target outside the load generator."""

from __future__ import annotations

from loadtest.config.targets import TargetSpec
from loadtest.data import builtin_corpus
from loadtest.target.client import EmbeddingsClient
from loadtest.target.preflight import find_route
from loadtest.target.url import parse_target


def client_of(spec: TargetSpec) -> EmbeddingsClient:
    """A client at the target's embeddings route: asked for, when its url is a bare host."""
    target = parse_target(spec.url, spec.dialect)
    client = EmbeddingsClient(target, api_key=spec.api_key, headers=spec.headers)
    if target.probe:
        client.target = find_route(client, target, builtin_corpus()[0].text, spec.model)
    return client
