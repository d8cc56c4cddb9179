"""`embload trace synth`: traces of a shape of load over time, each a rate function of time.

- constant: evenly spaced arrivals at `rate_rps`; poisson: exponential gaps (CV 1); gamma: gaps
  of shape `burstiness` and mean 1/rate, as core/arrivals.py draws them (CV 1/sqrt(shape)).
- ramp: a poisson process whose rate goes linearly from `rate_rps` to `rate_to_rps`.
- spikes: `rate_rps`, with `spike_x` times it for `spike_s` seconds every `spike_every_s`
  seconds, the first spike at `spike_every_s` (the trace opens at the base rate).
- daily: a day of 24 hours compressed into the duration, from midnight. The rate is
  `rate_rps` (the peak) times f(hour): f is 0.1 at 04:00 (the night's low), rises along a half
  cosine through the morning to 1 at 14:00, and falls along a half cosine through the evening
  and the night back to 0.1 at 04:00 (smooth at both turns); its mean is 0.55 of the peak.

Ramp, spikes and daily are non-homogeneous poisson processes drawn by thinning: candidates at
the highest rate, each kept with probability rate(t) / highest.

What each request sends follows a mix: a scenario's (its inputs per request; a category drawn
evenly from its categories, as `peak` draws its strata; each input's length drawn evenly
between its min and max chars, in tokens by core/trace.py's CHARS_PER_TOKEN) or given inputs.
Everything is drawn from the seed, a chunk at a time: a trace of millions of lines streams.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from loadtest.core.payloads import Scenario
from loadtest.core.trace import TraceRequest, chars_per_token

ShapeName = Literal["constant", "poisson", "gamma", "ramp", "spikes", "daily"]
SHAPES: tuple[ShapeName, ...] = ("constant", "poisson", "gamma", "ramp", "spikes", "daily")
_STREAM = 0x7ACE5  # keeps a synthesized trace's random streams apart from other uses of a seed
_CHUNK = 4096
_NIGHT, _NOON = 4.0, 14.0  # daily: the low's and the peak's hour
_FLOOR = 0.1  # daily: the night's rate, a fraction of the peak


@dataclass(frozen=True, slots=True)
class Shape:
    """A shape of load over `duration_s`; the fields a shape does not use are left alone."""

    name: ShapeName
    rate_rps: float
    duration_s: float
    rate_to_rps: float | None = None  # ramp: the rate at the end
    burstiness: float = 1.0  # gamma: the gaps' shape
    spike_x: float = 5.0
    spike_every_s: float = 60.0
    spike_s: float = 5.0

    def __post_init__(self) -> None:
        if self.rate_rps <= 0 or self.duration_s <= 0 or self.burstiness <= 0:
            raise ValueError("a trace's rate, duration and burstiness are positive")
        if self.name == "ramp" and (self.rate_to_rps is None or self.rate_to_rps < 0):
            raise ValueError("a ramp needs the rate it ends at (--rate-to), 0 or more")
        if self.name == "spikes" and not (
            self.spike_x >= 1 and 0 < self.spike_s < self.spike_every_s
        ):
            raise ValueError("spikes: --spike-x at least 1, --spike-s within --spike-every")

    def rate_at(self, t_s: float) -> float:
        """Arrivals per second due at `t_s` seconds from the start."""
        if self.name == "ramp":
            end = self.rate_to_rps if self.rate_to_rps is not None else self.rate_rps
            return self.rate_rps + (end - self.rate_rps) * min(t_s / self.duration_s, 1.0)
        if self.name == "spikes":
            into = t_s % self.spike_every_s
            spiking = t_s >= self.spike_every_s and into < self.spike_s
            return self.rate_rps * (self.spike_x if spiking else 1.0)
        if self.name == "daily":
            return self.rate_rps * daily_fraction(24.0 * t_s / self.duration_s)
        return self.rate_rps

    @property
    def peak_rps(self) -> float:
        if self.name == "ramp":
            return max(self.rate_rps, self.rate_to_rps or 0.0)
        return self.rate_rps * (self.spike_x if self.name == "spikes" else 1.0)


def daily_fraction(hour: float) -> float:
    """The daily shape's rate at `hour` (0-24, from midnight), a fraction of its peak."""
    h = (hour - _NIGHT) % 24.0  # hours since the night's low
    rising = _NOON - _NIGHT
    if h <= rising:
        up = (1 - math.cos(math.pi * h / rising)) / 2
    else:
        up = (1 + math.cos(math.pi * (h - rising) / (24.0 - rising))) / 2
    return _FLOOR + (1 - _FLOOR) * up


@dataclass(frozen=True, slots=True)
class Mix:
    """What each request sends: inputs drawn evenly from `inputs`, a category from
    `categories`, each input's length evenly between min_chars and max_chars (as tokens)."""

    inputs: tuple[int, ...]
    categories: tuple[str, ...]
    min_chars: int
    max_chars: int

    def __post_init__(self) -> None:
        if not self.inputs or min(self.inputs) < 1 or not self.categories:
            raise ValueError("a mix needs inputs of 1 or more and a category")
        if not 1 <= self.min_chars <= self.max_chars:
            raise ValueError("a mix's lengths run from 1 char up")


def scenario_mix(scenario: Scenario, inputs: Sequence[int] = ()) -> Mix:
    """A scenario's requests as a mix; `inputs`: the choices that replace its inputs_per_request."""
    return Mix(
        tuple(inputs) or (scenario.inputs_per_request,),
        scenario.categories,
        scenario.min_chars,
        scenario.max_chars,
    )


def _times(shape: Shape, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Arrival times before the end, a chunk at a time."""
    last, k = 0.0, 0
    while True:
        if shape.name == "constant":
            due = (k + np.arange(_CHUNK)) / shape.rate_rps
            k += _CHUNK
        elif shape.name == "gamma":
            scale = 1.0 / (shape.rate_rps * shape.burstiness)
            due = last + np.cumsum(rng.gamma(shape.burstiness, scale, _CHUNK))
        else:  # poisson, or the candidates thinned to a varying rate
            due = last + np.cumsum(rng.exponential(1.0 / shape.peak_rps, _CHUNK))
        last = float(due[-1])
        if shape.name in ("ramp", "spikes", "daily"):
            keep = rng.uniform(size=due.size) * shape.peak_rps
            due = due[keep < np.array([shape.rate_at(t) for t in due])]
        yield due[due < shape.duration_s]
        if last >= shape.duration_s:
            return


def synthesize(shape: Shape, mix: Mix, seed: int) -> Iterator[TraceRequest]:
    """The trace's requests in order, lines numbered from 1, drawn from `seed`."""
    times_rng = np.random.default_rng([_STREAM, seed, 0])
    mix_rng = np.random.default_rng([_STREAM, seed, 1])  # the times never move the texts' draws
    low = {c: mix.min_chars / chars_per_token(c) for c in mix.categories}
    high = {c: mix.max_chars / chars_per_token(c) for c in mix.categories}
    line = 0
    for due in _times(shape, times_rng):
        counts = mix_rng.choice(np.array(mix.inputs), due.size)
        categories = mix_rng.integers(len(mix.categories), size=due.size)
        spread = mix_rng.uniform(size=int(counts.sum()))
        at = 0
        for t, n, c in zip(due.tolist(), counts.tolist(), categories.tolist(), strict=True):
            category = mix.categories[c]
            lo, hi = low[category], high[category]
            tokens = tuple(max(1, round(lo + (hi - lo) * u)) for u in spread[at : at + n])
            at += n
            line += 1
            yield TraceRequest(line, t, None, tokens, category)
