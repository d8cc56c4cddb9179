"""`embload trace show`: a trace's figures, gathered a line at a time.

Memory stays the same for a thousand lines or a hundred million: the rate over time is counted
in at most 120 bins (a bin's width doubles, its neighbours merged, whenever they would pass
120), lengths and inputs in histograms, the gaps between arrivals in running sums. Counts,
means, maxima and the gaps' CV are exact; a quantile is exact below 4,096 and within 0.8%
above (a histogram of 64 bins per doubling there).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from pydantic import Field

from loadtest.core.model import Model
from loadtest.core.trace import TraceRequest

_MAX_BINS = 120
_FIRST_BIN_S = 2.0**-10  # about a millisecond: a short trace still gets its bins
_EXACT = 4096  # values below this have a bin each
_SUB = 64  # bins per doubling above
_EXACT_BITS = _EXACT.bit_length() - 1
_SUB_BITS = _SUB.bit_length() - 1
QUANTILES_NOTE = "quantiles: exact below 4,096, within 0.8% above"


class Spread(Model):
    """A count's figures over the requests (or their inputs)."""

    count: int = Field(description="requests or inputs counted")
    mean: float
    p50: float
    p99: float
    max: int


class TraceStats(Model):
    """What a trace offers: how many requests, how fast and how bursty, and of what."""

    requests: int
    span_s: float = Field(description="from the first request's time to the last's")
    first_s: float = Field(description="the first request's time from the trace's start")
    mean_rate_rps: float | None = Field(
        description="arrivals per second between the first request and the last"
    )
    bin_s: float = Field(description="the width of each bin of rate_rps, from the first request")
    rate_rps: list[float] = Field(
        description="arrivals per second in each bin; the last over the part of it the trace "
        "covers, and left out where that is under half a bin"
    )
    peak_rate_rps: float | None = Field(description="the busiest bin's rate")
    gap_cv: float | None = Field(
        description="burstiness: the inter-arrival gaps' std over their mean; 0 evenly spaced, "
        "1 poisson, above 1 bursty"
    )
    inputs_per_request: Spread | None
    input_tokens: Spread | None = Field(description="each input's length, where lines give tokens")
    input_chars: Spread | None = Field(description="each text's length, where lines give texts")
    categories: dict[str, int] = Field(description="requests by category; none: not given")
    note: str = QUANTILES_NOTE


class _Histogram:
    """Whole numbers counted in bins: one per value below _EXACT, _SUB per doubling above."""

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.n = self.total = self.max = 0

    def add(self, value: int) -> None:
        self.n += 1
        self.total += value
        self.max = max(self.max, value)
        if value < _EXACT:
            self.counts[value] += 1
            return
        bits = value.bit_length() - 1  # value is in [2**bits, 2**(bits+1))
        sub = (value >> (bits - _SUB_BITS)) - _SUB
        self.counts[_EXACT + (bits - _EXACT_BITS) * _SUB + sub] += 1

    @staticmethod
    def _middle(index: int) -> float:
        if index < _EXACT:
            return float(index)
        bits, sub = divmod(index - _EXACT, _SUB)
        width = 2.0 ** (bits + _EXACT_BITS - _SUB_BITS)
        return (_SUB + sub + 0.5) * width

    def quantile(self, q: float) -> float:
        """The value q of the way up (nearest rank)."""
        rank = max(1, math.ceil(q * self.n))
        if rank >= self.n:
            return float(self.max)
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                return min(self._middle(index), float(self.max))
        return float(self.max)

    def spread(self) -> Spread | None:
        if not self.n:
            return None
        return Spread(
            count=self.n,
            mean=self.total / self.n,
            p50=self.quantile(0.5),
            p99=self.quantile(0.99),
            max=self.max,
        )


class TraceAccumulator:
    """A trace's figures, a request at a time, in the trace's order."""

    def __init__(self) -> None:
        self.requests = 0
        self._first_s = self._last_s = 0.0
        self._bin_s = _FIRST_BIN_S
        self._bins: list[int] = []
        self._gaps = 0  # Welford's running mean and sum of squares of the gaps
        self._gap_mean = self._gap_m2 = 0.0
        self._inputs, self._tokens, self._chars = _Histogram(), _Histogram(), _Histogram()
        self._categories: Counter[str] = Counter()

    def add(self, request: TraceRequest) -> None:
        t = request.t_s
        if self.requests:
            self._gap(t - self._last_s)
        else:
            self._first_s = t
        self.requests += 1
        self._last_s = t
        self._count(t - self._first_s)
        self._inputs.add(request.inputs)
        for n in request.tokens or ():
            self._tokens.add(n)
        for text in request.texts or ():
            self._chars.add(len(text))
        self._categories[request.category or "none"] += 1

    def _gap(self, gap_s: float) -> None:
        self._gaps += 1
        delta = gap_s - self._gap_mean
        self._gap_mean += delta / self._gaps
        self._gap_m2 += delta * (gap_s - self._gap_mean)

    def _count(self, t_s: float) -> None:
        index = int(t_s / self._bin_s)
        while index >= _MAX_BINS:  # twice as wide, neighbours merged
            self._bins = [sum(self._bins[i : i + 2]) for i in range(0, len(self._bins), 2)]
            self._bin_s *= 2
            index = int(t_s / self._bin_s)
        if index >= len(self._bins):
            self._bins.extend([0] * (index + 1 - len(self._bins)))
        self._bins[index] += 1

    def stats(self) -> TraceStats:
        span_s = self._last_s - self._first_s
        gap_cv = None
        if self._gaps >= 2 and self._gap_mean > 0:
            gap_cv = math.sqrt(self._gap_m2 / self._gaps) / self._gap_mean
        rates = [n / self._bin_s for n in self._bins]
        covered_s = span_s - (len(rates) - 1) * self._bin_s  # the last bin's, to the last request
        if len(rates) > 1 and covered_s < self._bin_s / 2:
            rates.pop()  # too little of a bin to say a rate: noise, or a drop that is not there
        elif len(rates) > 1:  # arrivals after the bin's start, to the last: (n - 1) in the span
            rates[-1] = (self._bins[-1] - 1) / covered_s
        return TraceStats(
            requests=self.requests,
            span_s=span_s,
            first_s=self._first_s,
            mean_rate_rps=(self.requests - 1) / span_s if span_s > 0 else None,
            bin_s=self._bin_s,
            rate_rps=rates,
            peak_rate_rps=max(rates) if rates else None,
            gap_cv=gap_cv,
            inputs_per_request=self._inputs.spread(),
            input_tokens=self._tokens.spread(),
            input_chars=self._chars.spread(),
            categories=dict(self._categories.most_common()),
        )


def trace_stats(requests: Iterable[TraceRequest]) -> TraceStats:
    accumulator = TraceAccumulator()
    for request in requests:
        accumulator.add(request)
    return accumulator.stats()
