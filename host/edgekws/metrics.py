"""Confidence intervals for accuracy figures measured on a few hundred clips.

Why this module exists: edgekws evaluates on 120-250 test clips, where one clip
is 0.4-0.8 points of accuracy. A bare "95.8 %" or "drop 0.4" hides that the
figure is uncertain by several points. Every place that prints or tabulates an
accuracy uses these helpers, so the 95 % interval travels with the figure and
a difference between two models is only called a drop (or a gain) when it lies
outside the interval of the difference.

Intervals:
- one proportion: Wilson score interval (good coverage for small n and for
  accuracies near 0 or 1, unlike the normal "Wald" interval);
- difference of two proportions: Newcombe's hybrid score interval (method 10
  of Newcombe 1998), built from the two Wilson intervals. It treats the two
  accuracies as independent, which is conservative (wider) when both models are
  scored on the same clips;
- two models scored on the *same* clips: McNemar's exact test on the clips where
  exactly one of them is right (:func:`paired_comparison`), far more sensitive
  than comparing two intervals.

Pure functions, standard library only, so the CLI, the reports, the benchmarks
and ``edgekws evaluate`` can all import them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist

CONFIDENCE = 0.95


def _z(confidence: float) -> float:
    """Two-sided normal quantile (1.95996... for 95 %)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval (low, high) for ``successes`` out of ``n``, as fractions in [0, 1].

    n == 0 gives the uninformative (0.0, 1.0).
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    # Exact 0 and 1 at the ends (the formula gives them up to rounding only).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Accuracy:
    """An accuracy with its sample size and Wilson interval (fractions in [0, 1])."""

    correct: int
    n: int
    low: float
    high: float
    confidence: float = CONFIDENCE

    @property
    def value(self) -> float:
        """Point estimate correct / n (0.0 when n == 0)."""
        return self.correct / self.n if self.n else 0.0

    @property
    def half_width_points(self) -> float:
        """Largest distance from the estimate to an interval end, in percentage points."""
        return 100.0 * max(self.value - self.low, self.high - self.value)

    def format(self, digits: int = 1) -> str:
        """``95.8 % [91.2, 98.1] (115/120)``: estimate, 95 % interval and counts."""
        return (f"{100 * self.value:.{digits}f} % [{100 * self.low:.{digits}f}, {100 * self.high:.{digits}f}]"
                f" ({self.correct}/{self.n})")

    def cell(self, digits: int = 1) -> str:
        """Compact table cell ``95.8 [91.2-98.1]`` (percent, 95 % interval)."""
        return f"{100 * self.value:.{digits}f} [{100 * self.low:.{digits}f}-{100 * self.high:.{digits}f}]"

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready form, for reports that keep the interval beside the figure."""
        return {"correct": self.correct, "n": self.n, "accuracy": self.value,
                "ci_low": self.low, "ci_high": self.high, "confidence": self.confidence}


def accuracy(correct: int, n: int, confidence: float = CONFIDENCE) -> Accuracy:
    """Accuracy ``correct``/``n`` with its Wilson interval."""
    low, high = wilson_interval(correct, n, confidence)
    return Accuracy(correct=int(correct), n=int(n), low=low, high=high, confidence=confidence)


def accuracy_from_fraction(fraction: float, n: int, confidence: float = CONFIDENCE) -> Accuracy:
    """Accuracy from a stored fraction and its sample size (rounds fraction * n to whole clips).

    For reports that kept only the fraction and the test-set size; raises when the fraction is
    not a whole number of clips out of n (a sign the n is wrong).
    """
    correct = round(fraction * n)
    if n and abs(correct / n - fraction) > 1e-6:
        raise ValueError(f"accuracy {fraction} is not k/{n} for any whole k")
    return accuracy(correct, n, confidence)


def format_accuracy(fraction: float, n: int | None, digits: int = 1) -> str:
    """A stored accuracy for a console line: with its interval when n is known, else saying it is not."""
    if n:
        try:
            return accuracy_from_fraction(fraction, n).format(digits)
        except ValueError:
            pass
    return f"{100 * fraction:.{digits}f} % (no interval: clip count unknown)"


def format_drop(base: float, other: float, n: int | None, digits: int = 1) -> str:
    """``Drop.format`` for two stored accuracies on the same n clips (a bare difference when n is unknown)."""
    if n:
        try:
            return accuracy_drop(accuracy_from_fraction(base, n), accuracy_from_fraction(other, n)).format(digits)
        except ValueError:
            pass
    return f"drop {100 * (base - other):.{digits}f} pts (no interval: clip count unknown)"


def difference_interval(a: Accuracy, b: Accuracy) -> tuple[float, float]:
    """Newcombe hybrid score interval for a.value - b.value (fractions), from the two Wilson intervals."""
    if a.confidence != b.confidence:
        raise ValueError("both accuracies need the same confidence level")
    d = a.value - b.value
    lo = d - math.sqrt((a.value - a.low) ** 2 + (b.high - b.value) ** 2)
    hi = d + math.sqrt((a.high - a.value) ** 2 + (b.value - b.low) ** 2)
    return max(-1.0, lo), min(1.0, hi)


@dataclass(frozen=True)
class Drop:
    """Accuracy drop from ``base`` to ``other`` (positive = other is worse), with its interval."""

    points: float        # base - other, percentage points
    low_points: float    # 95 % interval of the drop, percentage points
    high_points: float

    @property
    def significant(self) -> bool:
        """True only when the interval excludes zero: only then is it a finding."""
        return self.low_points > 0.0 or self.high_points < 0.0

    def format(self, digits: int = 1) -> str:
        """``drop 2.5 pts [0.3, 4.8]`` when significant, else ``drop 0.4 pts (within the ±3.1 interval)``."""
        if self.significant:
            return f"drop {self.points:.{digits}f} pts [{self.low_points:.{digits}f}, {self.high_points:.{digits}f}]"
        half = max(self.high_points - self.points, self.points - self.low_points)
        return f"drop {self.points:.{digits}f} pts (within the ±{half:.{digits}f} interval, not significant)"


def accuracy_drop(base: Accuracy, other: Accuracy) -> Drop:
    """Drop base -> other with Newcombe's interval; say ``significant`` only when it excludes zero."""
    lo, hi = difference_interval(base, other)
    return Drop(points=100.0 * (base.value - other.value), low_points=100.0 * lo, high_points=100.0 * hi)


@dataclass(frozen=True)
class Paired:
    """Two models on the same clips: the discordant counts and McNemar's exact two-sided p-value."""

    only_a: int  # clips only model a gets right
    only_b: int  # clips only model b gets right
    p_value: float

    def format(self, a: str = "a", b: str = "b") -> str:
        return f"{self.only_a} clips only {a} gets right vs {self.only_b} only {b}; exact McNemar p = {self.p_value:.2g}"


def paired_comparison(correct_a: Iterable[bool], correct_b: Iterable[bool]) -> Paired:
    """McNemar's exact test: a binomial(n, 1/2) test of the n clips where exactly one model is right."""
    pairs = [(bool(x), bool(y)) for x, y in zip(correct_a, correct_b, strict=True)]
    only_a = sum(1 for x, y in pairs if x and not y)
    only_b = sum(1 for x, y in pairs if y and not x)
    n = only_a + only_b
    if n == 0:
        return Paired(0, 0, 1.0)
    tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2.0 ** n
    return Paired(only_a, only_b, float(min(1.0, 2.0 * tail)))


def mcnemar_p(correct_a: Iterable[bool], correct_b: Iterable[bool]) -> float:
    """Two-sided exact McNemar p-value of two models scored on the same clips."""
    return paired_comparison(correct_a, correct_b).p_value
