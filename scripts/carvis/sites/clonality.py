"""Clonality of sites: the maximum-likelihood allele fraction of a site's fragments with its 95%
likelihood-ratio interval, cells carrying it, and whether that is every (tumour) cell (``clonal``).

Purity is applied here once (:func:`cell_fraction`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carvis.reads.coverage import autosomal_depth, mean_read_length

#: A site is clonal when the 95% interval of its cell fraction reaches 1 - this (and the estimate is
#: at least ``clonal_min_fraction``).
CLONAL_TOLERANCE = 0.1
#: Allele fractions at which a site's log-likelihood is evaluated before refinement.
_GRID = np.linspace(0.0, 1.0, 2001)
#: Log-likelihood drop bounding a 95% likelihood-ratio interval (chi-square, 1 df, 0.95 quantile / 2).
LR_DROP = 1.9207
#: Golden-section step.
GOLDEN = (math.sqrt(5) - 1) / 2


@dataclass(frozen=True)
class AlleleCounts:
    """Fragments of one site, for its allele fraction q (the share of alleles carrying the insertion).

    Each of the ``junctions`` seen junctions gets fragments at the rate n q, the reference allele at
    n (1 - q): with counted ``spanning`` fragments, the ``junction`` fragments are binomial given the
    total, with p = k q / (k q + 1 - q); with modelled ones (screened reads) ``covering`` = T, the
    fragments of both alleles expected to cover the window, and the junction fragments are Poisson(k T q).
    Long reads reach an insertion allele over more starts than they span the reference window, so their
    k is that ratio (:func:`carvis.sites.structure.reach_ratio`), not a count of junctions.
    """

    junction: int
    junctions: float
    spanning: int | None = None
    covering: float | None = None

    def loglik(self, q: np.ndarray) -> np.ndarray:
        k = self.junctions
        if self.covering is None:
            # p and 1 - p over one total: with a fractional k, 1 - p as such is below 0 at q = 1 (rounding)
            total = k * q + (1 - q)
            p, not_p = k * q / total, (1 - q) / total
            both: np.ndarray = _xlogy(self.junction, p) + _xlogy(self.spanning or 0, not_p)
            return both
        mean = k * self.covering * q
        modelled: np.ndarray = _xlogy(self.junction, mean) - mean
        return modelled


def _xlogy(x: float, y: np.ndarray) -> np.ndarray:
    """x log y, 0 where x is 0 (and -inf where only y is)."""
    if x == 0:
        return np.zeros_like(y)
    with np.errstate(divide="ignore"):
        product: np.ndarray = x * np.log(y)
    return product


def allele_fraction(counts: list[AlleleCounts]) -> tuple[float, float, float]:
    """Maximum-likelihood allele fraction shared by the sites of ``counts``, and its 95% interval.

    The interval holds every q whose log-likelihood is within chi2(1, 0.95) / 2 of the maximum
    (likelihood ratio); it is found on a grid and refined by bisection, as is the maximum.
    """

    def ll(q: float) -> float:
        return float(sum(c.loglik(np.array([q]))[0] for c in counts))

    values = np.asarray(sum(c.loglik(_GRID) for c in counts))
    best = int(np.argmax(values))
    lo, hi = _GRID[max(best - 1, 0)], _GRID[min(best + 1, len(_GRID) - 1)]
    for _ in range(40):  # golden-section search on the bracket around the grid maximum
        a, b = hi - GOLDEN * (hi - lo), lo + GOLDEN * (hi - lo)
        lo, hi = (lo, b) if ll(a) >= ll(b) else (a, hi)
    q = float((lo + hi) / 2)
    floor = max(ll(q), float(values[best])) - LR_DROP
    inside = np.flatnonzero(values >= floor)
    low = _bisect(ll, floor, float(_GRID[inside[0] - 1]), float(_GRID[inside[0]])) if inside[0] else 0.0
    last = len(_GRID) - 1
    high = (
        _bisect(ll, floor, float(_GRID[inside[-1] + 1]), float(_GRID[inside[-1]]))
        if inside[-1] < last
        else 1.0
    )
    return q, min(low, q), max(high, q)


def _bisect(ll: Callable[[float], float], floor: float, outside: float, inside: float) -> float:
    """The q between ``outside`` (ll below floor) and ``inside`` (above) where ll crosses the floor."""
    for _ in range(40):
        mid = (outside + inside) / 2
        outside, inside = (outside, mid) if ll(mid) >= floor else (mid, inside)
    return inside


def cell_fraction(allele_fraction: float | None, purity: float | None) -> float | None:
    """Fraction of (tumour) cells carrying a heterozygous insertion, capped at 1."""
    if allele_fraction is None:
        return None
    cells = 2 * allele_fraction
    if purity:
        cells /= purity
    return min(1.0, cells)


def is_clonal(fraction: float, high: float, min_fraction: float) -> bool:
    """Is the cell fraction at least ``min_fraction`` and consistent with every (tumour) cell?

    Consistent: the upper end of its 95% interval reaches 1 - CLONAL_TOLERANCE.
    """
    return fraction >= min_fraction and high >= 1 - CLONAL_TOLERANCE


def covering_fragments(coverage_tsv: str | Path, evidence_qc: dict[str, int], window: int) -> float:
    """Fragments of both alleles expected to cover ``window`` bases at one point (T).

    Fragment starts per base (autosomal depth / (2 x read length); / read length for single-end reads,
    whose fragment is the read) times the starts that cover the window (fragment length - window + 1).
    """
    depth = autosomal_depth(coverage_tsv, set())
    read_length = mean_read_length(coverage_tsv, set())
    fragment = evidence_qc.get("mean_fragment_length", 0)
    starts = depth / (2 * read_length) if fragment else depth / read_length
    return starts * max(0.0, (fragment or read_length) - window + 1)
