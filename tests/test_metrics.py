"""Wilson and Newcombe intervals against published worked examples (Newcombe 1998)."""

from __future__ import annotations

import pytest

from edgekws.metrics import (
    accuracy,
    accuracy_drop,
    accuracy_from_fraction,
    difference_interval,
    wilson_interval,
)


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    (81, 263, 0.2553, 0.3662),   # Newcombe (1998a), Statist. Med. 17:857, table I example
    (15, 148, 0.0624, 0.1605),   # same table
    (0, 20, 0.0, 0.1611),        # same table: zero successes gives an exact 0 lower end
    (1, 29, 0.0061, 0.1718),     # same table
    (5, 10, 0.2366, 0.7634),
])
def test_wilson_matches_published_values(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


def test_wilson_edges_and_bad_input() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(10, 10)[1] == 1.0
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError):
        wilson_interval(1, 10, confidence=1.5)


def test_newcombe_difference_matches_published_values() -> None:
    # Newcombe (1998b), Statist. Med. 17:873, example (a): 56/70 - 48/80, method 10 -> 0.0524 to 0.3339.
    lo, hi = difference_interval(accuracy(56, 70), accuracy(48, 80))
    assert lo == pytest.approx(0.0524, abs=1e-4)
    assert hi == pytest.approx(0.3339, abs=1e-4)


def test_one_clip_drop_on_250_is_not_a_finding() -> None:
    d = accuracy_drop(accuracy(230, 250), accuracy(229, 250))
    assert d.points == pytest.approx(0.4)
    assert not d.significant
    assert "within the" in d.format() and "not significant" in d.format()


def test_large_drop_is_a_finding() -> None:
    d = accuracy_drop(accuracy(230, 250), accuracy(180, 250))
    assert d.significant
    assert d.format().startswith("drop 20.0 pts [")


def test_format_and_fraction_roundtrip() -> None:
    a = accuracy_from_fraction(115 / 120, 120)
    assert (a.correct, a.n) == (115, 120)
    assert a.format() == "95.8 % [90.6, 98.2] (115/120)"
    assert a.cell() == "95.8 [90.6-98.2]"
    with pytest.raises(ValueError):
        accuracy_from_fraction(0.5, 7)


def test_console_formats_say_when_there_is_no_interval() -> None:
    from edgekws.metrics import format_accuracy, format_drop

    assert format_accuracy(115 / 120, 120) == "95.8 % [90.6, 98.2] (115/120)"
    assert format_accuracy(0.9583, None) == "95.8 % (no interval: clip count unknown)"
    assert format_drop(0.96, 0.956, 250).startswith("drop 0.4 pts (within the ±")
    assert format_drop(0.9, 0.5, 100).startswith("drop 40.0 pts [")
    assert "clip count unknown" in format_drop(0.9, 0.8, None)


@pytest.mark.parametrize("only_a,only_b,both,neither", [(63, 26, 490, 61), (10, 0, 5, 5), (7, 9, 0, 3), (0, 0, 4, 1)])
def test_paired_comparison_is_the_exact_mcnemar_test(only_a: int, only_b: int, both: int, neither: int) -> None:
    """Against scipy's exact binomial test on the discordant clips (concordant clips do not count)."""
    from scipy.stats import binomtest

    from edgekws.metrics import mcnemar_p, paired_comparison

    a = [True] * only_a + [False] * only_b + [True] * both + [False] * neither
    b = [False] * only_a + [True] * only_b + [True] * both + [False] * neither
    t = paired_comparison(a, b)
    assert (t.only_a, t.only_b) == (only_a, only_b)
    want = 1.0 if only_a + only_b == 0 else binomtest(only_a, only_a + only_b, 0.5).pvalue
    assert t.p_value == pytest.approx(want, rel=1e-9)
    assert mcnemar_p(b, a) == pytest.approx(t.p_value, rel=1e-12)  # symmetric
    with pytest.raises(ValueError):
        paired_comparison(a, b[:-1])  # the same clips, or it is not a paired test
