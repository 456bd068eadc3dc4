"""Is the CAR vector in the tumour DNA, and at what copy number (VCN)?

Inputs per sample: ``samtools coverage`` of the BAM (autosomal depth and read length) and
``samtools depth -a -Q 0 -b vector_contigs.bed`` (contig, 1-based position, depth; positions
absent from the file count as depth 0). Only the vector-unique footprint (see carvis.mask) is
counted: reads in homologous regions (EF1a promoter, CD28/CD3z/4-1BB/CD8A cDNA), in the LTRs or
shared with another vector never count.

Statistics. Depth summed over the footprint divided by the mean aligned read length (from
``samtools coverage``) gives ``n``, the number of reads over the footprint, modelled as
Poisson. VCN per diploid genome = 2 x footprint depth / autosomal depth; its 95% interval is the
exact (Garwood) Poisson interval on ``n`` scaled the same way (counting noise only: uneven
coverage and the autosomal depth's own error are ignored). Signal is "significantly above
background" when P(X >= n) < 0.001 for X ~ Poisson(reads expected at VCN = background_rate,
plus the plasmid's share when the backbone is covered).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carvis.errors import InputError
from carvis.intervals import Interval
from carvis.io import write_tsv
from carvis.tables import TRANSGENE
from carvis.vectors import VectorModel, contig_owner

#: One-sided Poisson p-value below which reads are significantly above the background.
ALPHA_SIGNAL = 0.001
#: P(reads <= n | VCN = min_vcn) below which a VCN of min_vcn is excluded.
ALPHA_ABSENT = 0.05
_SEX_MITO = {"X", "Y", "M", "MT", "W", "Z"}
_NOT_PRIMARY = re.compile(r"_alt|_random|_decoy|_fix|^un|ebv|decoy|^hla[-_]|^(ki|gl|jh|kn|kz)\d", re.I)
_COVERAGE_COLUMNS = ("#rname", "startpos", "endpos", "numreads", "meandepth")


@dataclass(frozen=True)
class ContigCoverage:
    """One row of ``samtools coverage``."""

    name: str
    length: int
    reads: int
    mean_depth: float


def read_coverage(path: str | Path) -> list[ContigCoverage]:
    """Parse ``samtools coverage`` output (header line starting ``#rname``)."""
    rows = []
    with open(path) as handle:
        header = handle.readline().rstrip("\n").split("\t")
        missing = [c for c in _COVERAGE_COLUMNS if c not in header]
        if missing:
            raise InputError(
                path,
                f"not samtools coverage output (missing {', '.join(missing)})",
                "run samtools coverage",
                1,
            )
        col = {name: header.index(name) for name in _COVERAGE_COLUMNS}
        for number, line in enumerate(handle, 2):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            try:
                rows.append(
                    ContigCoverage(
                        fields[col["#rname"]],
                        int(fields[col["endpos"]]) - int(fields[col["startpos"]]) + 1,
                        int(fields[col["numreads"]]),
                        float(fields[col["meandepth"]]),
                    )
                )
            except (IndexError, ValueError) as exc:
                raise InputError(
                    path, f"malformed coverage row ({exc})", "rerun samtools coverage", number
                ) from exc
    return rows


def is_autosome(name: str) -> bool:
    """False for sex, mitochondrial, alt, random, unplaced, EBV, HLA and decoy contigs."""
    bare = name[3:] if name.lower().startswith("chr") else name
    return bare.upper() not in _SEX_MITO and not _NOT_PRIMARY.search(bare) and contig_owner(name) is None


def _autosomes(coverage_tsv: str | Path, exclude: set[str]) -> list[ContigCoverage]:
    rows = [r for r in read_coverage(coverage_tsv) if r.name not in exclude and is_autosome(r.name)]
    if not rows or not sum(r.length for r in rows):
        raise InputError(
            coverage_tsv,
            "no autosomal contig left after removing vector, sex, mitochondrial and alt/unplaced contigs",
            "align to a reference with autosomes (e.g. chr1-chr22 or 1-22)",
        )
    return rows


def autosomal_depth(coverage_tsv: str | Path, exclude: set[str]) -> float:
    """Length-weighted mean depth over the autosomes (contigs in ``exclude`` are skipped too)."""
    rows = _autosomes(coverage_tsv, exclude)
    return sum(r.mean_depth * r.length for r in rows) / sum(r.length for r in rows)


def mean_read_length(coverage_tsv: str | Path, exclude: set[str]) -> float:
    """Aligned bases per read on the autosomes: converts summed depth into a read count."""
    rows = _autosomes(coverage_tsv, exclude)
    reads = sum(r.reads for r in rows)
    if not reads:
        raise InputError(coverage_tsv, "no reads on the autosomes", "check that the sample BAM is not empty")
    return sum(r.mean_depth * r.length for r in rows) / reads


def read_depth(depth_tsv: str | Path, lengths: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Per-base depth arrays (index = 0-based position) of the contigs in ``lengths``."""
    depth = {name: np.zeros(length, dtype=np.int64) for name, length in lengths.items()}
    with open(depth_tsv) as handle:
        for number, line in enumerate(handle, 1):
            fields = line.split("\t")
            if fields[0] not in depth:
                continue
            try:
                pos, value = int(fields[1]), int(fields[2])
                if pos < 1:
                    raise IndexError(f"position {pos} < 1")
                depth[fields[0]][pos - 1] = value
            except (IndexError, ValueError) as exc:
                raise InputError(
                    depth_tsv,
                    f"expected contig, 1-based position within the contig, depth ({exc})",
                    "produce the file with samtools depth -a -Q 0 -b vector_contigs.bed",
                    number,
                ) from exc
    return depth


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
    low = 0.0 if n == 0 else _bisect(lambda lam: poisson_sf(n, lam) - tail, 0.0, hi_bound)
    high = _bisect(lambda lam: tail - poisson_cdf(n, lam), 0.0, hi_bound)
    return low, high


def _bisect(func: Callable[[float], float], low: float, high: float) -> float:
    """Root of an increasing function on [low, high]."""
    for _ in range(60):
        mid = (low + high) / 2
        if func(mid) < 0:
            low = mid
        else:
            high = mid
    return (low + high) / 2


@dataclass(frozen=True)
class Evidence:
    """What the decision rule looks at."""

    vcn: float
    signal_vcn: float  # VCN above the plasmid's share (= vcn without contamination)
    p_signal: float  # P(reads >= n | background [+ plasmid])
    p_min_vcn: float  # P(reads <= n | VCN = min_vcn [+ plasmid])
    covered: float
    expected_covered: float  # 1 - exp(-depth): what evenly spread reads would cover
    footprint_bp: int
    contamination: bool


def decide(ev: Evidence, *, min_vcn: float, min_footprint_covered: float) -> tuple[str, str]:
    """(detected, reason) from the evidence; the rule is spelled out in the reasons."""
    plasmid = ""
    if ev.contamination:
        plasmid = (
            f"; backbone reads show plasmid contamination (VCN above the plasmid's share {ev.signal_vcn:.3g})"
        )
    if ev.footprint_bp == 0:
        return (
            "indeterminate",
            "the whole provirus is masked or LTR: no vector-unique bases to count" + plasmid,
        )
    if ev.p_signal >= ALPHA_SIGNAL or ev.signal_vcn <= min_vcn:
        return _no_or_indeterminate(ev, min_vcn, plasmid)
    if ev.covered < min_footprint_covered * ev.expected_covered:
        return "indeterminate", (
            f"VCN {ev.vcn:.3g} but reads cover only {ev.covered:.1%} of the footprint "
            f"(expected {ev.expected_covered:.1%} if spread out): a stack of reads, not a provirus" + plasmid
        )
    return "yes", (
        f"VCN {ev.vcn:.3g} > {min_vcn}, above background (p={ev.p_signal:.2g}), reads spread over "
        f"{ev.covered:.1%} of the footprint" + plasmid
    )


def _no_or_indeterminate(ev: Evidence, min_vcn: float, plasmid: str) -> tuple[str, str]:
    """No significant signal above background (+ plasmid), or signal at most min_vcn."""
    if ev.contamination:
        return "indeterminate", (
            f"vector reads are explained by plasmid contamination: VCN {ev.vcn:.3g}, of which "
            f"{ev.signal_vcn:.3g} above the plasmid's share (p={ev.p_signal:.2g})"
        )
    if ev.p_signal < ALPHA_SIGNAL:
        return "indeterminate", (
            f"reads above background (p={ev.p_signal:.2g}) but VCN {ev.vcn:.3g} <= {min_vcn} "
            "(trace: e.g. infiltrating CAR T cells or cross-contamination)"
        )
    if ev.p_min_vcn < ALPHA_ABSENT:
        return "no", (
            f"footprint reads are compatible with background (p={ev.p_signal:.2g}) and a VCN of "
            f"{min_vcn} is excluded (p={ev.p_min_vcn:.2g})"
        )
    return "indeterminate", (
        f"no signal above background, but the depth is too low to exclude a VCN of {min_vcn} "
        f"(p={ev.p_min_vcn:.2g})"
    )


def _footprint_depth(
    model: VectorModel, footprint: Mapping[str, list[Interval]], depth_tsv: str | Path
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-base depth over the provirus footprint and over the backbone footprint (None: no backbone)."""
    contigs = model.contigs()
    depth = read_depth(depth_tsv, {c: len(s) for c, s in contigs.items()})
    vec = _values(depth[model.provirus_contig], footprint.get(model.provirus_contig, []))
    bb_contig = model.backbone_contig
    if bb_contig is None or not footprint.get(bb_contig):
        return vec, None
    return vec, _values(depth[bb_contig], footprint[bb_contig])


def _values(depth: np.ndarray, intervals: Iterable[Interval]) -> np.ndarray:
    parts = [depth[s:e] for s, e in intervals]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def gather_evidence(
    vec: np.ndarray,
    bb: np.ndarray | None,
    aut: float,
    read_len: float,
    *,
    min_vcn: float,
    background_rate: float,
) -> Evidence:
    """Poisson read counts over the footprints against background, min_vcn and the plasmid's share."""
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
    return Evidence(
        vcn=vector_depth / per_copy,
        signal_vcn=max(0.0, vector_depth - plasmid_depth) / per_copy,
        p_signal=poisson_sf(n, (background_rate * per_copy + plasmid_depth) * units),
        p_min_vcn=poisson_cdf(n, (min_vcn * per_copy + plasmid_depth) * units),
        covered=float((vec > 0).mean()) if vec.size else 0.0,
        expected_covered=1 - math.exp(-vector_depth),
        footprint_bp=int(vec.size),
        contamination=contamination,
    )


def _vcn_interval(vec: np.ndarray, read_len: float, aut: float) -> tuple[float | None, float | None]:
    """95% interval of the VCN: the Poisson interval of the footprint's read count, rescaled."""
    if not vec.size:
        return None, None
    low, high = poisson_interval(round(float(vec.sum()) / read_len))
    scale = 2 * read_len / vec.size / aut
    return low * scale, high * scale


def call_transgene(
    sample: str,
    model: VectorModel,
    footprint: Mapping[str, list[Interval]],
    masked_bp: int,
    coverage_tsv: str | Path,
    depth_tsv: str | Path,
    *,
    purity: float | None = None,
    min_vcn: float = 0.02,
    background_rate: float = 0.0005,
    min_footprint_covered: float = 0.2,
) -> dict[str, object]:
    """One TRANSGENE row for one sample and vector.

    ``footprint``: contig -> 0-based half-open intervals (carvis.intervals.read_bed of the
    footprint BED). ``min_footprint_covered`` is the fraction of the footprint that must be
    covered, relative to the fraction 1 - exp(-depth) that evenly spread reads cover at the
    observed depth (a stack of reads fails at any depth, a low but real signal passes).
    Plasmid contamination: backbone-footprint reads significantly above background; its depth
    is then the plasmid's share of the provirus footprint depth.
    Detected ``yes``: reads significantly above background (+ plasmid), VCN above the plasmid's
    share > min_vcn, and spread out; ``no``: compatible with background and enough depth to
    exclude a VCN of min_vcn; otherwise ``indeterminate``.
    """
    exclude = set(model.contigs())
    aut = autosomal_depth(coverage_tsv, exclude)
    if aut <= 0:
        raise InputError(coverage_tsv, "autosomal depth is 0", "check that the sample BAM holds genome reads")
    read_len = mean_read_length(coverage_tsv, exclude)
    vec, bb = _footprint_depth(model, footprint, depth_tsv)
    ev = gather_evidence(vec, bb, aut, read_len, min_vcn=min_vcn, background_rate=background_rate)
    detected, reason = decide(ev, min_vcn=min_vcn, min_footprint_covered=min_footprint_covered)
    low, high = _vcn_interval(vec, read_len, aut)
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
        "masked_bp": masked_bp,
        "footprint_covered": ev.covered,
        "backbone_depth": None if bb is None else float(bb.mean()),
        "plasmid_contamination": None if bb is None else ("yes" if ev.contamination else "no"),
        "reason": reason,
    }


def write_transgene(rows: Iterable[Mapping[str, object]], out_tsv: str | Path) -> None:
    """Write TRANSGENE rows (atomically)."""
    write_tsv(out_tsv, TRANSGENE, rows)
