"""Is each configured CAR vector in the tumour DNA, at what copy number (VCN), and which one is it?

Inputs per sample: ``samtools coverage`` of the BAM (autosomal depth and read length), ``samtools
depth -a -Q 0 -r`` on each vector contig (contig, 1-based position, depth; absent positions count
as 0) and the BAM itself (fragments are counted with pysam on the vector contigs only). Only
vector-unique bases count (:func:`counted_intervals`): the footprint (see carvis.reference.mask) plus the
LTRs' unmasked bases; reads in homologous regions (EF1a promoter, CD28/CD3z/4-1BB/CD8A cDNA) or
shared with another configured vector never count, so with several vectors each footprint is that
construct's specific part.

Statistics. ``n`` = depth summed over the counted bases / mean aligned read length (reads over
them). VCN per diploid genome = 2 x their mean depth / autosomal depth. Its 95% interval is
quasi-Poisson: the exact (Garwood) interval on n / phi, times phi. Fragments arrive as a Poisson
process but each brings its reads together (two mates, x_i read lengths of footprint bases), so n
is compound Poisson with variance sum(x_i^2): phi is the larger of sum(x_i^2) / sum(x_i) (about 2
for pairs) and the dispersion of n across footprint windows (Pearson chi-square / degrees of
freedom), which also catches uneven coverage; phi >= 1.
Detection: the counted fragments (read pairs with at least ``MIN_OVERLAP`` aligned bases in the
footprint, duplicates excluded) against a Poisson background of ``background_rate`` copies (plus
the plasmid's share when the backbone is covered): p < 0.001, VCN above the plasmid's share >
min_vcn, reads spread over the footprint and at least ``min_positions`` distinct fragment starts
(one stack of reads is not a provirus).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

from carvis.core.errors import InputError
from carvis.core.intervals import Interval, IntervalSet, merge, subtract
from carvis.core.io import write_tsv
from carvis.core.numeric import bisect_root
from carvis.core.tables import TRANSGENE
from carvis.reads.coverage import autosomal_depth, mean_read_length, read_depth
from carvis.reference.mask import MaskRow, masked_bp
from carvis.reference.vectors import VectorModel

#: One-sided Poisson p-value below which reads are significantly above the background.
ALPHA_SIGNAL = 0.001
#: P(reads <= n | VCN = min_vcn) below which a VCN of min_vcn is excluded.
ALPHA_ABSENT = 0.05
#: Aligned bases a read needs inside the footprint for its fragment to count.
MIN_OVERLAP = 20
#: Footprint window (bp) over which the dispersion of the read count is measured.
WINDOW = 500
#: LTR bases left out at both ends of the LTR sequence (host junctions: reads align there only in part).
LTR_MARGIN = 30
_SKIP_FLAGS = 0x4 | 0x100 | 0x200 | 0x400 | 0x800  # unmapped, secondary, QC fail, duplicate, supplementary


def counted_intervals(
    model: VectorModel, footprint: Mapping[str, list[Interval]], mask_rows: Iterable[MaskRow]
) -> list[Interval]:
    """The provirus bases counted for detection and VCN: both LTRs' counted bases, then the footprint.

    The two LTRs of a provirus are identical, so a read inside one maps at MAPQ 0 to either copy (the
    aligner picks the one that pairs with the mate). Each LTR base exists once in each copy, so the
    depth summed over the same base of both copies is two copies' depth, and the LTRs count like the
    footprint as long as both copies count the same bases: none masked in either copy (homologous to
    the genome or another vector), and none of the LTR_MARGIN bases at either end of the LTR
    sequence (the 5' LTR's start and the 3' LTR's end border the host, where reads crossing the
    junction align only in part, and their reads may sit in either copy). The two copies come first,
    side by side, so that the windows of :func:`dispersion` hold both together.
    """
    contig = model.provirus_contig
    masked = [(s, e) for c, s, e, _ in mask_rows if c == contig]
    length = model.ltr_length
    starts = [s - 1 for s, _ in model.ltr_ranges()]
    folded = merge((s - o, e - o) for o in starts for s, e in masked if s < o + length and e > o)
    kept = subtract([(LTR_MARGIN, length - LTR_MARGIN)], folded)
    return [(o + s, o + e) for o in starts for s, e in kept] + merge(footprint.get(contig, []))


def poisson_cdf(k: int, lam: float) -> float:
    """P(X <= k) for X ~ Poisson(lam)."""
    if k < 0:
        return 0.0
    if lam <= 0:
        return 1.0
    ks = np.arange(k + 1)
    log_fact = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, k + 1)))))
    logp = ks * math.log(lam) - lam - log_fact
    top = float(logp.max())
    return min(1.0, math.exp(top) * float(np.exp(logp - top).sum()))


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam)."""
    return max(0.0, 1.0 - poisson_cdf(k - 1, lam))


def poisson_interval(n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson mean given one count ``n``."""
    tail = (1 - level) / 2
    hi_bound = n + 20 * math.sqrt(n + 1) + 20
    low = 0.0 if n == 0 else bisect_root(lambda lam: poisson_sf(n, lam) - tail, 0.0, hi_bound)
    high = bisect_root(lambda lam: tail - poisson_cdf(n, lam), 0.0, hi_bound)
    return low, high


@dataclass(frozen=True)
class Fragments:
    """Read pairs over a footprint: how many, how many reads, their distinct start positions and
    each fragment's aligned footprint bases."""

    fragments: int
    reads: int
    positions: int
    bases: tuple[int, ...] = ()

    def relative_sd(self) -> float:
        """Relative sampling sd of the counted bases: sqrt(sum x^2) / sum x (fragments are Poisson)."""
        total = sum(self.bases)
        return math.sqrt(sum(x * x for x in self.bases)) / total if total else math.inf


def count_fragments(bam: str | Path, contig: str, intervals: Sequence[Interval]) -> Fragments:
    """Fragments with a primary, non-duplicate read of >= MIN_OVERLAP aligned bases in the intervals
    (single reads: the primary or a supplementary alignment)."""
    footprint = IntervalSet(intervals)
    starts: dict[str, int] = {}
    bases: dict[str, int] = {}
    reads = 0
    with pysam.AlignmentFile(str(bam)) as sam:
        if contig not in sam.references:
            raise InputError(
                bam, f"contig {contig} is missing", "align to the combined reference of this run"
            )
        seen: set[tuple[str, bool]] = set()
        for start, end in footprint.intervals:
            for read in sam.fetch(contig, start, end):
                key = (read.query_name or "", read.is_read1)
                # a single (long) read's vector part is often its supplementary alignment: counted once
                skip = _SKIP_FLAGS if read.is_paired else _SKIP_FLAGS & ~0x800
                if read.flag & skip or key in seen:
                    continue
                seen.add(key)
                overlap = sum(footprint.overlap(s, e) for s, e in read.get_blocks())
                if overlap < MIN_OVERLAP:
                    continue
                reads += 1
                bases[key[0]] = bases.get(key[0], 0) + overlap
                first = read.reference_start
                if read.is_paired and not read.mate_is_unmapped and read.next_reference_name == contig:
                    first = min(first, read.next_reference_start)
                starts[key[0]] = min(first, starts.get(key[0], first))
    return Fragments(len(starts), reads, len(set(starts.values())), tuple(bases.values()))


def dispersion(values: np.ndarray, read_len: float, window: int = WINDOW) -> float:
    """Quasi-Poisson dispersion (>= 1) of the read count across footprint windows of ``window`` bp.

    ``values`` is the per-base depth over the footprint (intervals concatenated); the last
    window is merged into the one before when shorter than half a window.
    """
    edges = list(range(0, values.size, window))
    if len(edges) > 1 and values.size - edges[-1] < window / 2:
        edges.pop()
    if len(edges) < 2:
        return 1.0
    counts = np.add.reduceat(values, edges) / read_len
    sizes = np.diff([*edges, values.size])
    expected = counts.sum() * sizes / values.size
    if counts.sum() <= 0:
        return 1.0
    chi2 = float((((counts - expected) ** 2) / expected).sum())
    return max(1.0, chi2 / (len(edges) - 1))


def fragment_dispersion(bases: Sequence[int], read_len: float) -> float:
    """Variance / mean of the read count n = sum(x_i) with x_i = a fragment's footprint bases / read_len.

    Fragments are Poisson, so Var(n) = sum(x_i^2); a pair whose mates both lie in the footprint
    counts two reads at once (about 2), a read clipped at a footprint edge less than one.
    """
    total = float(sum(bases))
    return float(sum(b * b for b in bases)) / total / read_len if total else 1.0


@dataclass(frozen=True)
class Evidence:
    """What the decision rule looks at."""

    vcn: float
    signal_vcn: float  # VCN above the plasmid's share (= vcn without contamination)
    p_signal: float  # P(fragments >= observed | background [+ plasmid])
    p_min_vcn: float  # P(reads <= n | VCN = min_vcn [+ plasmid])
    covered: float
    expected_covered: float  # 1 - exp(-depth): what evenly spread reads would cover
    footprint_bp: int
    contamination: bool
    fragments: int = 0
    positions: int = 0


@dataclass(frozen=True)
class TransgeneParams:
    """The config's ``transgene`` section and the sample's purity (None: unknown).

    ``min_footprint_covered`` is the fraction of the footprint that must be covered, relative to the
    fraction 1 - exp(-depth) that evenly spread reads cover at the observed depth (a stack of reads fails
    at any depth, a low but real signal passes); see :func:`decide` for the rest of the rule.
    """

    purity: float | None = None
    min_vcn: float = 0.02
    background_rate: float = 0.0005
    min_footprint_covered: float = 0.2
    min_positions: int = 3


def decide(ev: Evidence, params: TransgeneParams) -> tuple[str, str]:
    """(detected, reason) from the evidence; the rule is spelled out in the reasons."""
    min_vcn, min_positions = params.min_vcn, params.min_positions
    plasmid = ""
    if ev.contamination:
        plasmid = (
            "; plasmid contamination: backbone (ori/AmpR/promoter) reads beyond the provirus, "
            f"VCN above the plasmid's share {ev.signal_vcn:.3g}"
        )
    if ev.footprint_bp == 0:
        return (
            "indeterminate",
            "the whole provirus is masked or LTR: no vector-unique bases to count" + plasmid,
        )
    if ev.p_signal >= ALPHA_SIGNAL or ev.signal_vcn <= min_vcn:
        return _no_or_indeterminate(ev, min_vcn, plasmid)
    if ev.covered < params.min_footprint_covered * ev.expected_covered or ev.positions < min_positions:
        return "indeterminate", (
            f"VCN {ev.vcn:.3g} but reads cover only {ev.covered:.1%} of the footprint "
            f"(expected {ev.expected_covered:.1%} if spread out) from {ev.positions} distinct start "
            f"position(s) (at least {min_positions} needed): a stack of reads, not a provirus" + plasmid
        )
    return "yes", (
        f"VCN {ev.vcn:.3g} > {min_vcn}: {ev.fragments} fragments from {ev.positions} distinct positions "
        f"spread over {ev.covered:.1%} of the footprint, above background (p={ev.p_signal:.2g})" + plasmid
    )


def _no_or_indeterminate(ev: Evidence, min_vcn: float, plasmid: str) -> tuple[str, str]:
    """No significant signal above background (+ plasmid), or signal at most min_vcn."""
    if ev.contamination:
        return "indeterminate", (
            f"vector reads are explained by plasmid contamination: VCN {ev.vcn:.3g}, of which "
            f"{ev.signal_vcn:.3g} above the plasmid's share (p={ev.p_signal:.2g}){plasmid}"
        )
    if ev.p_signal < ALPHA_SIGNAL:
        return "indeterminate", (
            f"reads above background (p={ev.p_signal:.2g}) but VCN {ev.vcn:.3g} <= {min_vcn} "
            "(trace: e.g. infiltrating CAR T cells or cross-contamination)"
        )
    if ev.p_min_vcn < ALPHA_ABSENT:
        return "no", (
            f"{ev.fragments} footprint fragments, compatible with background (p={ev.p_signal:.2g}), and a "
            f"VCN of {min_vcn} is excluded (p={ev.p_min_vcn:.2g})"
        )
    return "indeterminate", (
        f"no signal above background, but the depth is too low to exclude a VCN of {min_vcn} "
        f"(p={ev.p_min_vcn:.2g})"
    )


def _values(depth: np.ndarray, intervals: Iterable[Interval]) -> np.ndarray:
    parts = [depth[s:e] for s, e in intervals]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def gather_evidence(
    vec: np.ndarray,
    bb: np.ndarray | None,
    aut: float,
    read_len: float,
    params: TransgeneParams,
    fragments: Fragments | None = None,
) -> Evidence:
    """Fragments and reads over the footprints against background, min_vcn and the plasmid's share.

    Without ``fragments`` (no BAM) reads stand in for fragments.
    """
    min_vcn, background_rate = params.min_vcn, params.background_rate
    per_copy = aut / 2  # depth of one copy per diploid genome

    def reads(values: np.ndarray) -> int:
        return round(float(values.sum()) / read_len)

    contamination = False
    plasmid_depth = 0.0
    if bb is not None:
        contamination = poisson_sf(reads(bb), background_rate * per_copy * bb.size / read_len) < ALPHA_SIGNAL
        plasmid_depth = float(bb.mean()) if contamination else 0.0
    vector_depth = float(vec.mean()) if vec.size else 0.0
    n, units = reads(vec), vec.size / read_len  # reads, and reads per unit of depth
    frags = fragments or Fragments(n, n, n)
    mates = frags.reads / frags.fragments if frags.fragments else 1.0
    return Evidence(
        vcn=vector_depth / per_copy,
        signal_vcn=max(0.0, vector_depth - plasmid_depth) / per_copy,
        p_signal=poisson_sf(frags.fragments, (background_rate * per_copy + plasmid_depth) * units / mates),
        p_min_vcn=poisson_cdf(n, (min_vcn * per_copy + plasmid_depth) * units),
        covered=float((vec > 0).mean()) if vec.size else 0.0,
        expected_covered=1 - math.exp(-vector_depth),
        footprint_bp=int(vec.size),
        contamination=contamination,
        fragments=frags.fragments,
        positions=frags.positions,
    )


def vcn_interval(
    vec: np.ndarray, read_len: float, aut: float, phi: float
) -> tuple[float | None, float | None]:
    """95% quasi-Poisson interval of the VCN: phi x Garwood(n / phi) reads, rescaled to copies."""
    if not vec.size:
        return None, None
    low, high = poisson_interval(round(float(vec.sum()) / read_len / phi))
    scale = 2 * read_len * phi / vec.size / aut
    return low * scale, high * scale


@dataclass(frozen=True)
class TransgeneFiles:
    """One sample's inputs: ``samtools coverage`` of the BAM (autosomal depth, read length), ``samtools
    depth`` of the vector contigs, and the indexed BAM for the fragment counts (None: reads stand in)."""

    coverage: str | Path
    depth: str | Path
    bam: str | Path | None = None


def call_transgene(
    sample: str,
    model: VectorModel,
    footprint: Mapping[str, list[Interval]],
    mask_rows: Sequence[MaskRow],
    files: TransgeneFiles,
    params: TransgeneParams = TransgeneParams(),
) -> dict[str, object]:
    """One TRANSGENE row for one sample and vector.

    ``footprint``: contig -> 0-based half-open intervals (carvis.core.intervals.read_bed of the
    footprint BED); ``mask_rows``: carvis.reference.mask.read_mask of the homology mask; the counted bases
    are :func:`counted_intervals`.
    Plasmid contamination: backbone-footprint reads significantly above background; its depth
    is then the plasmid's share of the provirus footprint depth.
    Detected ``yes``: fragments significantly above background (+ plasmid), VCN above the
    plasmid's share > min_vcn, spread out, from >= min_positions distinct starts; ``no``:
    compatible with background and enough depth to exclude a VCN of min_vcn; otherwise
    ``indeterminate``.
    """
    coverage_tsv, bam, purity = files.coverage, files.bam, params.purity
    contigs = model.contigs()
    aut = autosomal_depth(coverage_tsv, set(contigs))
    if aut <= 0:
        raise InputError(coverage_tsv, "autosomal depth is 0", "check that the sample BAM holds genome reads")
    read_len = mean_read_length(coverage_tsv, set(contigs))
    depth = read_depth(files.depth, {c: len(s) for c, s in contigs.items()})
    vec_iv = counted_intervals(model, footprint, mask_rows)
    vec = _values(depth[model.provirus_contig], vec_iv)
    bb_contig = model.backbone_contig
    bb_iv = footprint.get(bb_contig, []) if bb_contig else []
    bb = _values(depth[bb_contig], bb_iv) if bb_contig and bb_iv else None
    frags = count_fragments(bam, model.provirus_contig, vec_iv) if bam is not None else None
    ev = gather_evidence(vec, bb, aut, read_len, params, frags)
    detected, reason = decide(ev, params)
    phi = max(dispersion(vec, read_len), fragment_dispersion(frags.bases, read_len) if frags else 1.0)
    low, high = vcn_interval(vec, read_len, aut, phi)
    bb_frags = (
        count_fragments(bam, bb_contig, bb_iv) if bam is not None and bb_contig and bb is not None else None
    )
    return {
        "sample": sample,
        "vector": model.name,
        "detected": detected,
        "vcn": ev.vcn,
        "vcn_low": low,
        "vcn_high": high,
        "vcn_per_tumour_cell": ev.vcn / purity if purity else None,
        "vector_depth": float(vec.mean()) if vec.size else 0.0,
        "autosomal_depth": aut,
        "footprint_bp": ev.footprint_bp,
        "masked_bp": masked_bp(model, mask_rows),
        "footprint_covered": ev.covered,
        "backbone_depth": None if bb is None else float(bb.mean()),
        "plasmid_contamination": None if bb is None else ("yes" if ev.contamination else "no"),
        "reason": reason,
        "fragments": ev.fragments,
        "distinct_positions": ev.positions,
        "p_background": ev.p_signal,
        "vcn_dispersion": phi,
        "vcn_low_per_tumour_cell": low / purity if purity and low is not None else None,
        "vcn_high_per_tumour_cell": high / purity if purity and high is not None else None,
        "backbone_fragments": None if bb_frags is None else bb_frags.fragments,
        "identity": None,
    }


def assign_identity(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Fill ``identity``: best (the detected vector with the highest VCN), also_present (another
    detected vector), uncertain (indeterminate) or absent; with several vectors the reason says why."""
    present = sorted(
        (r for r in rows if r["detected"] == "yes"),
        key=lambda r: -float(r["vcn"]),  # type: ignore[arg-type]
    )
    best = present[0] if present else None
    for row in rows:
        if row is best:
            row["identity"] = "best"
        elif row["detected"] == "yes":
            row["identity"] = "also_present"
        else:
            row["identity"] = "uncertain" if row["detected"] == "indeterminate" else "absent"
    if len(rows) > 1:
        others = ", ".join(f"{r['vector']} {r['detected']} (VCN {float(r['vcn']):.3g})" for r in rows)  # type: ignore[arg-type]
        for row in rows:
            row["reason"] = (
                f"{row['reason']}; construct identity {row['identity']} "
                f"(construct-specific regions: {others})"
            )
    return rows


def call_vectors(
    sample: str,
    models: Sequence[VectorModel],
    footprint: Mapping[str, list[Interval]],
    mask_rows: Sequence[MaskRow],
    files: TransgeneFiles,
    params: TransgeneParams = TransgeneParams(),
) -> list[dict[str, object]]:
    """One row per vector (the sample's configured vector first, :func:`call_transgene`), with construct
    identity."""
    return assign_identity([call_transgene(sample, m, footprint, mask_rows, files, params) for m in models])


def write_transgene(rows: Iterable[Mapping[str, object]], out_tsv: str | Path) -> None:
    """Write TRANSGENE rows (atomically)."""
    write_tsv(out_tsv, TRANSGENE, rows)
