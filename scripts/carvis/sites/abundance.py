"""LM-PCR sites and their abundance: from the aligned host parts of trimmed LM-PCR reads.

A trimmed read 1 starts at the host base next to the LTR end (:mod:`carvis.reads.lmpcr`), so its
aligned 5' end is the junction; its mate's 5' end is the shear point. Reads of one junction (within
``wobble`` bases, for a base or two of soft clip) make a site. Reads on the vector contigs (the primer
annealed to the other LTR copy) and reads below ``min_mapq`` make none.

**Abundance.** PCR copies one molecule many times, so reads do not count cells. A molecule is told
apart by its shear point (the fragment length) and, when the linker carries one, its UMI:

- with UMIs, the estimated cells are the distinct UMIs (UMIs one base apart merged into the more
  frequent one), with an exact Poisson interval;
- without, the distinct fragment lengths saturate in large clones (two cells sheared at the same
  base give one length). As in sonicLength (Berry et al. 2012), the molecules of a site at length
  ``l`` are Poisson with mean ``theta * phi_l``; a length is seen when at least one was there, so the
  distinct lengths ``d`` have expectation ``sum_l (1 - exp(-theta phi_l))``. ``phi`` (the length
  distribution) and every site's ``theta`` are fitted together by EM; the interval inverts the
  normal approximation of ``d`` (``theta`` whose mean +- 1.96 sd meets ``d``).

``relative_abundance`` = estimated cells / all estimated cells of the run (or specimen).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from carvis.core.numeric import bisect_root
from carvis.reads.lmpcr import umi_of
from carvis.reference.vectors import contig_owner

_EM_ROUNDS = 30


@dataclass
class JunctionReads:
    """Reads of one junction in one run."""

    chrom: str
    strand: str  # + : host runs to higher coordinates from the junction
    junction: int
    lengths: Counter[int] = field(default_factory=Counter)
    umis: Counter[str] = field(default_factory=Counter)
    molecules: set[tuple[int, str]] = field(default_factory=set)
    mapq: list[int] = field(default_factory=list)

    @property
    def reads(self) -> int:
        return sum(self.lengths.values())


@dataclass
class ReadQc:
    reads: int = 0
    vector: int = 0
    low_mapq: int = 0
    clipped: int = 0
    unmapped: int = 0
    used: int = 0


def _fragment_length(read: pysam.AlignedSegment) -> int:
    if read.mate_is_unmapped or read.next_reference_id != read.reference_id or not read.template_length:
        return read.query_length
    return abs(read.template_length)


def read_junctions(
    bam: str | Path, min_mapq: int = 20, max_clip: int = 2, wobble: int = 2
) -> tuple[list[JunctionReads], ReadQc]:
    """Junctions of one run's aligned, trimmed reads (read 1 = the LTR side)."""
    qc, found = ReadQc(), dict[tuple[str, str, int], JunctionReads]()
    with pysam.AlignmentFile(str(bam)) as handle:
        for read in handle:
            if read.is_secondary or read.is_supplementary or not read.is_read1:
                continue
            qc.reads += 1
            if read.is_unmapped or read.reference_name is None:
                qc.unmapped += 1
                continue
            if contig_owner(read.reference_name) is not None:
                qc.vector += 1
                continue
            if read.mapping_quality < min_mapq:
                qc.low_mapq += 1
                continue
            start, end = read.query_alignment_start, read.query_alignment_end
            clip = (read.query_length - end) if read.is_reverse else start
            if clip > max_clip:
                qc.clipped += 1
                continue
            strand = "-" if read.is_reverse else "+"
            assert read.reference_end is not None
            at = read.reference_end + clip if read.is_reverse else read.reference_start + 1 - clip
            key = (read.reference_name, strand, at)
            site = found.setdefault(key, JunctionReads(read.reference_name, strand, at))
            length, umi = _fragment_length(read), umi_of(read.query_name or "")
            site.lengths[length] += 1
            site.umis[umi] += 1
            site.molecules.add((length, umi))
            site.mapq.append(read.mapping_quality)
            qc.used += 1
    return _merge_wobble(list(found.values()), wobble), qc


def _merge_wobble(sites: list[JunctionReads], wobble: int) -> list[JunctionReads]:
    """Fold junctions within ``wobble`` bases into the one with the most reads (same contig, strand)."""
    kept: list[JunctionReads] = []
    for site in sorted(sites, key=lambda s: (-s.reads, s.chrom, s.junction)):
        home = next(
            (
                k
                for k in kept
                if k.chrom == site.chrom
                and k.strand == site.strand
                and abs(k.junction - site.junction) <= wobble
            ),
            None,
        )
        if home is None:
            kept.append(site)
            continue
        home.lengths.update(site.lengths)
        home.umis.update(site.umis)
        home.molecules |= site.molecules
        home.mapq.extend(site.mapq)
    return sorted(kept, key=lambda s: (s.chrom, s.junction, s.strand))


def distinct_umis(umis: Counter[str]) -> int:
    """UMIs after merging each into a more frequent one a single base away."""
    kept: list[str] = []
    for umi, _ in sorted(umis.items(), key=lambda kv: (-kv[1], kv[0])):
        if not any(sum(a != b for a, b in zip(umi, k, strict=False)) <= 1 for k in kept):
            kept.append(umi)
    return len(kept)


# --------------------------------------------------------------------------- the shear-point estimator


def _smooth(weights: np.ndarray, bandwidth: float) -> np.ndarray:
    """Gaussian kernel smoothing over neighbouring lengths (phi is smooth in the length)."""
    if bandwidth <= 0 or len(weights) < 3:
        return weights
    half = int(3 * bandwidth)
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / bandwidth) ** 2)
    smoothed = np.convolve(weights, kernel, mode="same")
    return np.asarray(smoothed / smoothed.sum())


def fit_shear(lengths_per_site: Sequence[Iterable[int]], bandwidth: float = 8.0) -> tuple[np.ndarray, int]:
    """EM fit of phi (the length distribution over lengths min..max, smoothed) from the distinct
    lengths of every site; returns phi and the shortest length (phi's index 0)."""
    seen_lengths = [sorted(set(s)) for s in lengths_per_site]
    every = [n for s in seen_lengths for n in s]
    if not every:
        return np.ones(0), 0
    first = min(every)
    seen = np.zeros((len(seen_lengths), max(every) - first + 1))
    for row, lengths in enumerate(seen_lengths):
        seen[row, np.array(lengths) - first] = 1.0
    phi = _smooth(seen.sum(axis=0) / seen.sum(), bandwidth)
    for _ in range(_EM_ROUNDS):
        theta = np.array([min(solve_theta(int(d), phi), 1e6) for d in seen.sum(axis=1)])
        mean = np.outer(theta, phi)
        expected = np.where(seen > 0, mean / -np.expm1(-np.maximum(mean, 1e-12)), 0.0)
        phi = _smooth(expected.sum(axis=0) / expected.sum(), bandwidth)
    return phi, first


def _expected(theta: float, phi: np.ndarray) -> tuple[float, float]:
    p = -np.expm1(-theta * phi)
    return float(p.sum()), float(math.sqrt(max((p * (1 - p)).sum(), 1e-12)))


def solve_theta(distinct: int, phi: np.ndarray, z: float = 0.0) -> float:
    """theta whose expected distinct lengths (+ z sd) equal ``distinct``; inf when out of reach."""
    if distinct <= 0:
        return 0.0
    ceiling = 1e7
    if _expected(ceiling, phi)[0] + z * _expected(ceiling, phi)[1] < distinct:
        return math.inf
    return bisect_root(
        lambda t: sum(a * b for a, b in zip(_expected(t, phi), (1.0, z), strict=True)) - distinct,
        0.0,
        ceiling,
    )


@dataclass(frozen=True)
class Abundance:
    estimator: str  # umi | shear_points
    cells: float
    low: float
    high: float


def _poisson_cdf(k: int, lam: float) -> float:
    if lam <= 0:
        return 1.0
    log_terms = [i * math.log(lam) - lam - math.lgamma(i + 1) for i in range(k + 1)]
    top = max(log_terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in log_terms))


def poisson_interval(count: int) -> tuple[float, float]:
    """Exact (Garwood) 95% interval of a Poisson count."""
    ceiling = 2.0 * count + 50.0
    low = 0.0 if count == 0 else bisect_root(lambda lam: 0.975 - _poisson_cdf(count - 1, lam), 0.0, ceiling)
    return low, bisect_root(lambda lam: 0.025 - _poisson_cdf(count, lam), 0.0, ceiling)


def estimate(sites: Sequence[JunctionReads], with_umi: bool) -> list[Abundance]:
    """Estimated cells (molecules) per site with their 95% interval."""
    if with_umi:
        out = []
        for site in sites:
            n = distinct_umis(site.umis)
            out.append(Abundance("umi", float(n), *poisson_interval(n)))
        return out
    phi, _ = fit_shear([list(s.lengths) for s in sites])
    result = []
    for site in sites:
        d = len(site.lengths)
        cells = solve_theta(d, phi)
        low, high = solve_theta(d, phi, 1.96), solve_theta(d, phi, -1.96)
        result.append(Abundance("shear_points", cells, min(low, cells), high))
    return result
