"""Distributions and bootstrap confidence intervals for benchmark samples (pure).

``summary`` gives min/median/p90/p99/max; ``compare`` gives the difference and the
ratio of medians of two samples with a bootstrap 95% interval, so a target is judged
by the interval ("met" only when the whole interval is on the right side).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile of already sorted values, q in [0, 100]."""
    if not sorted_values:
        return math.nan
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    frac = pos - lo
    return float(sorted_values[lo] * (1 - frac) + sorted_values[hi] * frac)


@dataclass(frozen=True)
class Summary:
    n: int
    min: float
    p50: float
    p90: float
    p99: float
    max: float
    mean: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def summary(values: Sequence[float]) -> Summary:
    s = sorted(values)
    if not s:
        nan = math.nan
        return Summary(0, nan, nan, nan, nan, nan, nan)
    return Summary(len(s), s[0], percentile(s, 50), percentile(s, 90), percentile(s, 99), s[-1], sum(s) / len(s))


def median(values: Sequence[float]) -> float:
    return percentile(sorted(values), 50)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def below(self, limit: float) -> bool:
        """The whole interval is under ``limit``: a target 'under limit' is met."""
        return self.high < limit

    def above(self, limit: float) -> bool:
        return self.low > limit


@dataclass(frozen=True)
class Comparison:
    """Candidate vs baseline: difference and ratio of medians, with 95% intervals."""

    difference: Interval  # median(candidate) - median(baseline)
    ratio: Interval  # median(candidate) / median(baseline)

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {"difference": self.difference.as_dict(), "ratio": self.ratio.as_dict()}


def compare(
    candidate: Sequence[float], baseline: Sequence[float], *, resamples: int = 2000, seed: int = 1
) -> Comparison:
    """Bootstrap (percentile method) of the median difference and ratio."""
    if not candidate or not baseline:
        nan = Interval(math.nan, math.nan, math.nan)
        return Comparison(nan, nan)
    rng = random.Random(seed)
    diffs: list[float] = []
    ratios: list[float] = []
    for _ in range(resamples):
        a = median([rng.choice(candidate) for _ in candidate])
        b = median([rng.choice(baseline) for _ in baseline])
        diffs.append(a - b)
        ratios.append(a / b if b else math.inf)
    diffs.sort()
    ratios.sort()
    m_a, m_b = median(candidate), median(baseline)
    return Comparison(
        Interval(m_a - m_b, percentile(diffs, 2.5), percentile(diffs, 97.5)),
        Interval(m_a / m_b if m_b else math.inf, percentile(ratios, 2.5), percentile(ratios, 97.5)),
    )


def judge_below(interval: Interval, limit: float, what: str) -> dict[str, Any]:
    """The one verdict rule for a target "under ``limit``", as a target dict for
    ``fmt.verdict``: met when the whole 95% interval is under it, missed (by how much the
    interval's low end is over it) when the whole interval is over it, otherwise (or with
    no samples) not shown."""
    empty = math.isnan(interval.low) or math.isnan(interval.high)
    met = not empty and interval.below(limit)
    missed = not empty and interval.above(limit)
    return {
        "what": what,
        "met": met,
        "undecided": not met and not missed,
        "by_ms": None if empty else interval.low - limit,
    }


def split_self(values: Sequence[float]) -> tuple[list[float], list[float]]:
    """The A-A noise floor: alternate samples of one series compared with each other."""
    return list(values[0::2]), list(values[1::2])


def bootstrap_percentile(values: Sequence[float], q: float, *, resamples: int = 2000, seed: int = 1) -> Interval:
    """A percentile of ``values`` with a bootstrap (percentile method) 95% interval."""
    if not values:
        return Interval(math.nan, math.nan, math.nan)
    rng = random.Random(seed)
    estimates = sorted(percentile(sorted(rng.choice(values) for _ in values), q) for _ in range(resamples))
    return Interval(percentile(sorted(values), q), percentile(estimates, 2.5), percentile(estimates, 97.5))


def compare_strata(
    candidate: Mapping[str, Sequence[float]],
    baseline: Mapping[str, Sequence[float]],
    *,
    resamples: int = 2000,
    seed: int = 1,
) -> Interval:
    """Median difference within each stratum, averaged over the strata, with a bootstrap
    95% interval that resamples within each stratum.

    For samples that fall in known groups with different centres (a failover's direction:
    the backup's skew time depends on its priority), so the gap between the groups adds
    no noise to the comparison. Strata missing on either side are left out.
    """
    keys = sorted(k for k in candidate if candidate[k] and baseline.get(k))
    if not keys:
        return Interval(math.nan, math.nan, math.nan)
    rng = random.Random(seed)

    def diff(pick: Callable[[Sequence[float]], list[float]]) -> float:
        return sum(median(pick(candidate[k])) - median(pick(baseline[k])) for k in keys) / len(keys)

    estimate = diff(list)
    boot = sorted(diff(lambda xs: [rng.choice(xs) for _ in xs]) for _ in range(resamples))
    return Interval(estimate, percentile(boot, 2.5), percentile(boot, 97.5))
