"""Where a target's embeddings live: the URL a user gives (an OpenAI-style base URL, a route,
or a bare host to ask), as a Target; and the one way a URL is shown or written (`redact`)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from loadtest.core.dialects import DEFAULT_PREFIX, SPECS, Dialect, route_dialect
from loadtest.core.errors import UsageError


@dataclass(frozen=True, slots=True)
class Target:
    """Where a target's embeddings live: the bare host (Locust's --host), the prefix its other
    routes share (`/v1`: `/v1/models`), its embeddings route and the dialect spoken there."""

    host: str  # scheme://host:port
    prefix: str  # "/v1", "" (no prefix), "/api" (ollama)
    dialect: Dialect = "openai"
    probe: bool = False  # a bare http://h:p: the route is found by asking (EmbeddingsClient.find)

    @property
    def base_url(self) -> str:
        return self.host + self.prefix

    @property
    def embeddings_path(self) -> str:
        return self.prefix + SPECS[self.dialect].route

    @property
    def url(self) -> str:
        """The embeddings route's URL: what an explicit --target names."""
        return self.host + self.embeddings_path


def redact(url: str) -> str:
    """`url` as written or shown anywhere: without the user:password a URL may carry."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def parse_target(url: str, dialect: Dialect | None = None) -> Target:
    """A target URL as users give it. `http://h:p/v1` (the openai SDK's base_url) and
    `http://h:p/v1/embeddings` are the same route; `http://h:p/` means no prefix; a path that
    ends in a dialect's route (`/embed`, `/api/embed`, `/v2/embed`) speaks that dialect. A bare
    `http://h:p` is `/v1/embeddings` until `EmbeddingsClient.find` asks the server, unless
    `dialect` says which. An explicit path is kept as given."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"target {url!r} is not an http(s) URL like http://127.0.0.1:30000/v1")
    host = f"{parts.scheme}://{parts.netloc}"
    if not parts.path:
        if dialect is None:
            return Target(host, DEFAULT_PREFIX["openai"], "openai", probe=True)
        return Target(host, DEFAULT_PREFIX[dialect], dialect)
    path = parts.path.rstrip("/")
    named = route_dialect(path)
    if named is not None:
        prefix, spoken = named
        if dialect is not None and SPECS[dialect].route != SPECS[spoken].route:
            raise UsageError(
                f"target {url!r} names a {spoken} route but --dialect is {dialect}: "
                "drop one, or give the server's base URL"
            )
        return Target(host, prefix, dialect or spoken)  # /embeddings is Infinity's if asked
    return Target(host, path, dialect or "openai")
