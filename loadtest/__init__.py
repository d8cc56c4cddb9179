"""embload: load-testing and latency profiling for text-embedding endpoints."""

from __future__ import annotations

__version__ = "0.1.0"
