"""Statistics for the course's comparative claims: a t-interval over seeds and a verdict in fixed words.

Every comparative sentence of the course ("BN is ahead of the plain net", "no clear difference between
before and after") is printed by :func:`compare`, so that a claim cannot be worded more firmly than
its evidence::

    >>> c = compare(acc_bn, acc_plain, names=("BN", "plain"))              # doctest: +SKIP
    >>> print(c)                                                            # doctest: +SKIP
    BN is ahead of plain by 3.1 ± 1.2 points (10 seeds)

The verdict rule (fixed; ``tests/test_stats.py`` holds it):

* ``d`` = mean of ``a − b`` over seeds (paired) or ``mean(a) − mean(b)`` (unpaired), times ``scale``
  (default 100: accuracies in [0, 1] are reported in percentage *points*); ``h`` = half-width of the
  two-sided ``confidence`` (95 %) Student-t interval of ``d``: paired ``t·sd(a − b)/√n`` with
  n − 1 degrees of freedom, unpaired Welch's ``t·√(s_a²/n_a + s_b²/n_b)`` with Welch–Satterthwaite
  degrees of freedom.
* Only when the interval ``[d − h, d + h]`` excludes 0 (strictly) is one condition named the leader:

  - ``higher_is_better=True`` (accuracies): ``"{leader} is ahead of {other} by {|d|} ± {h} {unit} ({n} seeds)"``
  - ``higher_is_better=False`` (losses, errors): ``"{leader} is lower than {other} by {|d|} ± {h} {unit} ({n} seeds)"``

  The leader is named first whichever argument it was.
* Otherwise: ``"no clear difference between {A} and {B} ({d:+} ± {h} {unit}, {n} seeds)"``, where the
  sign of ``d`` is that of A − B.
* Numbers: ``h`` with two significant digits and ``d`` rounded to the same decimal place
  (``3.14 ± 0.52``, ``12 ± 4.0``); with ``h = 0`` (no spread at all) ``d`` has three significant digits.

A "no clear difference" verdict is not evidence of equality: it says the seeds cannot tell. Report it
with its interval, and prefer more seeds (:func:`course_utils.batched.train_seeds`) to softer words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtrit  # Student t quantile; what scipy.stats.t.ppf calls (no scipy.stats import)

from ._validate import as_real_array, check_in_range

__all__ = ["compare", "Comparison", "wins", "Wins", "format_estimate"]


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare`. Differences are A − B, in ``unit`` (the data times ``scale``).

    Attributes
    ----------
    mean_diff : float
        ``d``: mean of the paired differences, or difference of the means (unpaired).
    half_width : float
        ``h``: half-width of the ``confidence`` t-interval of ``d`` (0 when the data have no spread).
    low, high : float
        ``d − h`` and ``d + h``.
    n : int
        Seeds per condition (for unpaired samples of different sizes, the smaller one; see ``n_a``, ``n_b``).
    paired : bool
    verdict : str
        The one-line verdict in the fixed words of the module docstring; ``str(comparison)``.
    leader : str or None
        The name of the condition ahead (higher, or lower with ``higher_is_better=False``), None when
        the interval contains 0.
    """

    mean_diff: float
    half_width: float
    low: float
    high: float
    n: int
    paired: bool
    verdict: str
    leader: str | None
    names: tuple
    unit: str
    confidence: float
    higher_is_better: bool
    df: float
    n_a: int
    n_b: int

    @property
    def clear(self) -> bool:
        """True when the interval excludes 0 (a leader is named)."""
        return self.leader is not None

    def __str__(self) -> str:
        return self.verdict


def format_estimate(d: float, h: float) -> tuple[str, str]:
    """``(d, h)`` as strings: ``h`` to two significant digits, ``d`` to the same decimal place.

    With ``h == 0`` the estimate ``d`` gets three significant digits and ``h`` is ``"0"``.
    """
    if h == 0 or not math.isfinite(h):
        return f"{d:.3g}", "0" if h == 0 else f"{h:g}"
    decimals = min(max(0, 1 - math.floor(math.log10(abs(h)))), 12)
    return f"{d:.{decimals}f}", f"{h:.{decimals}f}"


def _sample(values, name: str, where: str) -> np.ndarray:
    arr = as_real_array(values, name, where).astype(np.float64, copy=False)
    if arr.ndim != 1:
        if arr.ndim == 0 or arr.size != arr.shape[0]:
            raise ValueError(f"{where}: {name} must be a 1-D array of per-seed values, got shape {arr.shape}")
        arr = arr.ravel()
    if arr.size < 2:
        raise ValueError(f"{where}: {name} needs at least 2 seeds for an interval, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr))
        raise ValueError(
            f"{where}: {name} holds NaN or inf at positions {bad.tolist()} (a diverged run? record "
            "its metric explicitly, e.g. chance accuracy, before comparing)"
        )
    return arr


def _check_names(names, where: str) -> tuple[str, str]:
    if isinstance(names, str) or len(names) != 2 or not all(isinstance(n, str) and n for n in names):
        raise TypeError(f"{where}: names must be a pair of non-empty strings, got {names!r}")
    return tuple(names)


def compare(
    a,
    b,
    *,
    paired: bool = True,
    names=("A", "B"),
    unit: str = "points",
    scale: float = 100.0,
    higher_is_better: bool = True,
    confidence: float = 0.95,
) -> Comparison:
    """Compare a metric of two conditions over seeds: mean difference, t-interval, fixed-word verdict.

    Parameters
    ----------
    a, b : array-like, shape (n,)
        One value per seed (e.g. final test accuracy). ``paired=True`` needs ``a[i]`` and ``b[i]`` from
        the same seed (same initial weights and batch order), so seed-to-seed luck cancels.
    paired : bool, default True
        Paired t-interval of the differences; False: Welch's interval (unequal variances).
    names : (str, str)
        How A and B are called in the verdict.
    unit : str, default "points"
        Unit of the reported numbers (after ``scale``).
    scale : float, default 100
        Multiplies the data before reporting: 100 turns accuracies into percentage points; use
        ``scale=1.0`` with ``unit="nats"`` for losses.
    higher_is_better : bool, default True
        False for losses and error rates: the verdict then says "lower than".
    confidence : float in (0, 1), default 0.95

    Returns
    -------
    Comparison
        ``str(result)`` is the verdict (see the module docstring for the exact words).

    Raises
    ------
    ValueError
        Fewer than 2 seeds, NaN/inf values, different lengths with ``paired=True``, bad ``confidence``.
    """
    where = "compare"
    a = _sample(a, "a", where)
    b = _sample(b, "b", where)
    name_a, name_b = _check_names(names, where)
    if not isinstance(unit, str):
        raise TypeError(f"{where}: unit must be a string, got {type(unit).__name__}")
    if isinstance(scale, bool) or not isinstance(scale, int | float | np.integer | np.floating):
        raise TypeError(f"{where}: scale must be a number, got {type(scale).__name__}")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"{where}: scale must be a finite number > 0, got {scale}")
    confidence = check_in_range(confidence, "confidence", where, 0.0, 1.0)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"{where}: confidence must lie strictly between 0 and 1, got {confidence}")
    quantile = 0.5 + confidence / 2
    if paired:
        if a.shape != b.shape:
            raise ValueError(
                f"{where}: paired=True needs a and b of the same length (one pair per seed), got "
                f"{a.size} and {b.size} (use paired=False for independent samples)"
            )
        diff = (a - b) * scale
        n = n_a = n_b = diff.size
        d = float(diff.mean())
        sd = float(diff.std(ddof=1))
        df = float(n - 1)
        half = float(stdtrit(n - 1, quantile) * sd / np.sqrt(n)) if sd > 0 else 0.0
    else:
        a_s, b_s = a * scale, b * scale
        n_a, n_b = a_s.size, b_s.size
        n = min(n_a, n_b)
        d = float(a_s.mean() - b_s.mean())
        va, vb = a_s.var(ddof=1) / n_a, b_s.var(ddof=1) / n_b
        se = math.sqrt(va + vb)
        if se > 0:
            df = float((va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1)))
            half = float(stdtrit(df, quantile) * se)
        else:
            df, half = float(n_a + n_b - 2), 0.0
    low, high = d - half, d + half
    seeds = f"{n} seeds" if n_a == n_b else f"{n_a} and {n_b} seeds"
    unit_text = f" {unit}" if unit else ""  # unit="" (a ratio, a count) leaves no double space
    if low > 0 or high < 0:
        a_leads = (d > 0) == higher_is_better
        leader, other = (name_a, name_b) if a_leads else (name_b, name_a)
        d_text, h_text = format_estimate(abs(d), half)
        relation = "is ahead of" if higher_is_better else "is lower than"
        verdict = f"{leader} {relation} {other} by {d_text} ± {h_text}{unit_text} ({seeds})"
    else:
        leader = None
        d_text, h_text = format_estimate(d, half)
        if float(d_text) == 0:
            d_text = d_text.lstrip("-")  # no "-0.0"
        if not d_text.startswith("-"):
            d_text = "+" + d_text
        verdict = (
            f"no clear difference between {name_a} and {name_b} ({d_text} ± {h_text}{unit_text}, {seeds})"
        )
    return Comparison(
        mean_diff=d,
        half_width=half,
        low=low,
        high=high,
        n=n,
        paired=bool(paired),
        verdict=verdict,
        leader=leader,
        names=(name_a, name_b),
        unit=unit,
        confidence=confidence,
        higher_is_better=bool(higher_is_better),
        df=df,
        n_a=n_a,
        n_b=n_b,
    )


@dataclass(frozen=True)
class Wins:
    """Seed-by-seed count of :func:`wins`; ``str()`` gives ``"A ahead on k of n seeds (B on m, t ties)"``."""

    a_wins: int
    b_wins: int
    ties: int
    n: int
    names: tuple
    higher_is_better: bool

    def __str__(self) -> str:
        a, b = self.names
        return f"{a} ahead on {self.a_wins} of {self.n} seeds ({b} on {self.b_wins}, {self.ties} ties)"


def wins(a, b, *, names=("A", "B"), higher_is_better: bool = True) -> Wins:
    """On how many seeds A beats B (paired by seed): a plain count to print beside :func:`compare`.

    "Ahead" means a higher value, or a lower one with ``higher_is_better=False``; equal values are ties.
    """
    where = "wins"
    a = _sample(a, "a", where)
    b = _sample(b, "b", where)
    names = _check_names(names, where)
    if a.shape != b.shape:
        raise ValueError(
            f"{where}: a and b must have the same length (one pair per seed), got {a.size} and {b.size}"
        )
    sign = 1.0 if higher_is_better else -1.0
    a_ahead = int(np.sum(sign * (a - b) > 0))
    b_ahead = int(np.sum(sign * (a - b) < 0))
    return Wins(a_ahead, b_ahead, a.size - a_ahead - b_ahead, a.size, names, bool(higher_is_better))
