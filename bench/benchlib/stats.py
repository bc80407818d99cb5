"""stats.py - the numbers a benchmark reports: medians and their spread.

summary(values) gives the median, the quartiles (inclusive method, so they
lie within the data) and min/max. A ratio is judged by the median of the
per-pair ratios, never by a ratio of means: one slow outlier on either side
then cannot decide the verdict, and pairing cancels slow drifts of the
machine (other work, thermal state) that hit both sides of a pair alike.
"""
import statistics
from dataclasses import dataclass


@dataclass
class Summary:
    n: int
    median: float
    q1: float
    q3: float
    min: float
    max: float


def summary(values):
    values = list(values)
    if not values:
        raise ValueError("no samples")
    if len(values) == 1:
        v = values[0]
        return Summary(1, v, v, v, v, v)
    q1, _q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return Summary(len(values), statistics.median(values), q1, q3, min(values), max(values))


@dataclass
class Verdict:
    passed: bool
    inconclusive: bool   # the target lies inside the interquartile range
    text: str            # "PASS", "MISS", with "(within noise)" when inconclusive


def judge(s, target, lower_is_better=True):
    """Compare the median of summary s with target: a ratio that must be at
    most target (lower_is_better) or at least target."""
    passed = s.median <= target if lower_is_better else s.median >= target
    inconclusive = s.q1 <= target <= s.q3
    text = "PASS" if passed else "MISS"
    if inconclusive:
        text += " (within noise)"
    return Verdict(passed, inconclusive, text)
