"""Simulate long (ONT-like or HiFi-like) tumour reads with integrated proviruses of known structure.

The genome, vector and integration model are those of :mod:`carvis.sim.insertions` (an insertion replaces
g = cell_fraction / 2 of the reference alleles at its target site by host + INSERT + host). Here the
INSERT may be a structural variant of the provirus (:data:`STRUCTURES`): full-length, an internal
deletion, a 5' or 3' truncation, or a tandem (two copies sharing the middle LTR). Episomal 2-LTR circles
(the provirus closed end to end) add reads that hold vector only. Read lengths are log-normal with a
chosen N50 (the length-weighted median of a log-normal(mu, s) is exp(mu + s^2)); errors are substitutions,
insertions and deletions at a chosen total rate.

Outputs: ``{prefix}.fastq.gz``; ``{prefix}.truth.tsv`` (TRUTH, one row per insertion, plus the
structure columns :data:`STRUCTURE_COLUMNS`); ``{prefix}.truth_reads.tsv`` (every read touching an
insert or a circle: which, its structure, and which junctions it crosses) and
``{prefix}.truth_transgene.tsv``.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from carvis.core.errors import InputError
from carvis.core.io import read_tsv, write_tsv
from carvis.core.seqs import revcomp
from carvis.core.tables import TRUTH
from carvis.reference.vectors import KINDS, VectorModel, build_vector
from carvis.sim.fragments import (
    ASCII_COMPLEMENT,
    BASE_INDEX,
    BASES,
    PLACEABLE_HOST,
    READABLE,
    Genome,
    as_array,
    fastq_gz,
)
from carvis.sim.insertions import (
    TRUTH_TRANSGENE,
    Insertion,
    check_insertions,
    left_junction,
    read_design,
    read_genome,
    transgene_truth,
    truth_rows,
)

#: Provirus structures an insertion can have (``two_ltr_circle`` is episomal: never a site).
STRUCTURES = ("full_length", "internal_deletion", "truncated_5p", "truncated_3p", "tandem")
#: Extra truth columns: the structure and its provirus coordinates (1-based inclusive; deletion: the lost
#: bases; truncation: the first (5') or last (3') provirus base kept).
STRUCTURE_COLUMNS = ("structure", "structure_start", "structure_end")
#: Columns of the per-read truth (``left_host`` / ``right_host``: host bases of the read on each side of the
#: insert; ``crosses``: both | left | right | none, with READABLE bases on each side).
TRUTH_READS = ("read", "source", "structure", "crosses", "left_host", "right_host")
#: Longest simulated read.
MAX_LENGTH = 100_000
SHORTEST = 500
#: Shares of the error rate: substitutions, insertions, deletions.
ERROR_MIX = (0.4, 0.3, 0.3)


@dataclass
class LongInsertion:
    """An insertion with the structure of its provirus."""

    insertion: Insertion
    structure: str = "full_length"
    start: int | None = None
    end: int | None = None

    def copies(self) -> int:
        """Integrated copies (the VCN counts both copies of a tandem)."""
        return 2 if self.structure == "tandem" else 1

    def insert(self, vector: VectorModel) -> str:
        """The integrated sequence in provirus orientation."""
        p = vector.provirus
        if self.structure == "internal_deletion":
            assert self.start is not None and self.end is not None
            return p[: self.start - 1] + p[self.end :]
        if self.structure == "truncated_5p":
            assert self.start is not None
            return p[self.start - 1 :]
        if self.structure == "truncated_3p":
            assert self.end is not None
            return p[: self.end]
        if self.structure == "tandem":
            return p + p[vector.ltr_length :]
        return p


@dataclass
class LongReadResult:
    """What :func:`simulate_long_reads` wrote and simulated."""

    fastq: Path
    truth: Path
    truth_reads: Path
    truth_transgene: Path
    reads: int
    truth_rows: list[dict[str, object]] = field(default_factory=list)


def read_lengths(rng: np.random.Generator, n: int, n50: float, sigma: float) -> np.ndarray:
    """``n`` log-normal lengths whose N50 is about ``n50`` (clipped to SHORTEST..MAX_LENGTH)."""
    mu = math.log(n50) - sigma**2
    return np.clip(np.rint(rng.lognormal(mu, sigma, n)), SHORTEST, MAX_LENGTH).astype(np.int64)


def add_long_errors(rng: np.random.Generator, read: np.ndarray, rate: float) -> np.ndarray:
    """The read with substitutions, single-base insertions and deletions at total ``rate``."""
    if rate <= 0 or not read.size:
        return read
    sub, ins, _ = (rate * x for x in ERROR_MIX)
    draw = rng.random(read.size)
    out = read.copy()
    subs = draw < sub
    out[subs] = BASES[(BASE_INDEX[out[subs]] + rng.integers(1, 4, int(subs.sum()))) % 4]
    inserted = (draw >= sub) & (draw < sub + ins)
    deleted = draw >= 1 - (rate - sub - ins)
    counts = np.where(deleted, 0, np.where(inserted, 2, 1))
    result = np.repeat(out, counts)
    # the second copy of each inserted base becomes a random base
    ends = np.cumsum(counts)
    where = ends[inserted] - 1
    result[where] = BASES[rng.integers(0, 4, len(where))]
    return result


def _place_reads(
    rng: np.random.Generator, size: int, rate: float, n50: float, sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (0-based half-open) of reads over a sequence of ``size`` bases at ``rate`` read
    starts per base; reads running off the end are dropped (the start density stays even)."""
    n = int(rng.poisson(rate * size))
    length = read_lengths(rng, n, n50, sigma)
    start = rng.integers(0, size, n)
    keep = start + length <= size
    return start[keep], (start + length)[keep]


def _crosses(start: int, end: int, a: int, b: int) -> str:
    left = start <= a - READABLE and end >= a + READABLE
    right = start <= b - READABLE and end >= b + READABLE
    return "both" if left and right else "left" if left else "right" if right else "none"


def _placeable(read: dict[str, object]) -> bool:
    """Does a long read cross a junction with PLACEABLE_HOST host bases on that side?"""
    crosses = read["crosses"]
    left = crosses in ("both", "left") and int(str(read["left_host"])) >= PLACEABLE_HOST
    return left or (crosses in ("both", "right") and int(str(read["right_host"])) >= PLACEABLE_HOST)


class _Writer:
    """Reads to one gzipped FASTQ, named ``sample:N``, with errors and random strand."""

    def __init__(self, handle: object, sample: str, rng: np.random.Generator, error_rate: float) -> None:
        self.handle = handle
        self.sample = sample
        self.rng = rng
        self.error_rate = error_rate
        self.n = 0

    def write(self, seq: np.ndarray) -> str:
        self.n += 1
        if self.rng.random() < 0.5:
            seq = ASCII_COMPLEMENT[seq][::-1]
        read = add_long_errors(self.rng, seq, self.error_rate)
        name = f"{self.sample}:{self.n}"
        self.handle.write(b"@%s\n%s\n+\n%s\n" % (name.encode(), read.tobytes(), b"5" * len(read)))  # type: ignore[attr-defined]
        return name


@dataclass(frozen=True)
class LongReadModel:
    """The sequencing run: depth, read lengths (log-normal: N50 and sigma), errors, purity, 2-LTR circle
    copies per diploid genome, seed and the sample name (read names are ``sample:N``)."""

    coverage: float = 10.0
    n50: float = 17_000
    sigma: float = 0.6
    error_rate: float = 0.05
    purity: float | None = None
    circles: float = 0.0
    seed: int = 1
    sample: str = "tumour"


#: ONT-like (older chemistry) and HiFi-like runs at 10x.
ONT = LongReadModel(error_rate=0.05, sigma=0.6)
HIFI = LongReadModel(error_rate=0.01, sigma=0.35)


def simulate_long_reads(
    genome_fasta: str | Path,
    vector: VectorModel,
    insertions: list[LongInsertion],
    out_prefix: str | Path,
    run: LongReadModel = ONT,
) -> LongReadResult:
    """Write the long reads and the truth (see the module docstring)."""
    coverage, n50, sigma, error_rate = run.coverage, run.n50, run.sigma, run.error_rate
    purity, circles, seed, sample = run.purity, run.circles, run.seed, run.sample
    if not 0 <= error_rate < 0.5 or coverage <= 0 or n50 < 2 * SHORTEST:
        raise InputError(None, "coverage > 0, error rate in [0, 0.5) and N50 >= 1 kb", "fix the parameter")
    for li in insertions:
        if li.structure not in STRUCTURES:
            raise InputError(None, f"structure {li.structure!r} unknown", f"use one of {STRUCTURES}")
    genome = read_genome(genome_fasta)
    plain = [li.insertion for li in insertions]
    check_insertions(genome, vector, plain)
    rng = np.random.default_rng(seed)
    ref = Genome(genome, SHORTEST)
    mean_length = n50 * math.exp(-(sigma**2) / 2)
    rate = coverage / mean_length  # read starts per base (single reads, one strand drawn at random)
    truth_reads: list[dict[str, object]] = []
    prefix = str(out_prefix)
    fastq = Path(f"{prefix}.fastq.gz")
    with fastq_gz(fastq) as handle:
        out = _Writer(handle, sample, rng, error_rate)
        for c, name in enumerate(ref.names):
            seq = ref.seqs[c]
            starts, ends = _place_reads(rng, len(seq), rate, n50, sigma)
            keep = np.ones(len(starts), dtype=bool)
            for ins in plain:
                if ins.chrom != name:
                    continue
                a, lj = ins.position, left_junction(ins, vector)
                spans = (starts + 1 <= min(a - 1, lj)) & (ends >= max(a, lj + 1))
                keep &= ~(spans & (rng.random(len(starts)) < ins.cell_fraction / 2))
            for s, e in zip(starts[keep], ends[keep], strict=True):
                out.write(seq[s:e])
        for li in insertions:
            ins = li.insertion
            host = genome[ins.chrom]
            a, lj = ins.position, left_junction(ins, vector)
            left = host[max(0, lj - MAX_LENGTH) : lj]
            right = host[a - 1 : a - 1 + MAX_LENGTH]
            insert = li.insert(vector)
            insert = insert if ins.orientation == "+" else revcomp(insert)
            template = as_array(left + insert + right)
            i0, i1 = len(left), len(left) + len(insert)
            starts, ends = _place_reads(rng, len(template), rate * ins.cell_fraction / 2, n50, sigma)
            for s, e in zip(starts, ends, strict=True):
                if s < i1 and e > i0:
                    read = out.write(template[s:e])
                    source = f"{ins.chrom}:{ins.position}"
                    row: dict[str, object] = {"read": read, "source": source, "structure": li.structure}
                    row["crosses"] = _crosses(int(s), int(e), i0, i1)
                    row["left_host"], row["right_host"] = max(0, i0 - int(s)), max(0, int(e) - i1)
                    truth_reads.append(row)
        if circles > 0:
            p = vector.provirus
            template = as_array(p + p[: int(MAX_LENGTH)])
            starts, ends = _place_reads(rng, len(p), rate * circles / 2, n50, sigma)
            for s, e in zip(starts, ends, strict=True):
                e = min(e, len(template))
                read = out.write(template[s:e])
                crosses = "both" if s < len(p) - READABLE and e > len(p) + READABLE else "none"
                truth_reads.append(
                    {"read": read, "source": "circle", "structure": "two_ltr_circle", "crosses": crosses}
                )
    rows = truth_rows(genome, vector, plain, sample=sample, purity=purity)
    for truth_row, li in zip(rows, insertions, strict=True):
        truth_row.update(structure=li.structure, structure_start=li.start, structure_end=li.end)
        mine = [r for r in truth_reads if r["source"] == f"{li.insertion.chrom}:{li.insertion.position}"]
        truth_row["readable_fragments"] = sum(1 for r in mine if r["crosses"] != "none")
        truth_row["placeable_fragments"] = sum(1 for r in mine if _placeable(r))
    truth = Path(f"{prefix}.truth.tsv")
    write_tsv(truth, (*TRUTH, *STRUCTURE_COLUMNS), rows)
    reads_tsv = Path(f"{prefix}.truth_reads.tsv")
    write_tsv(reads_tsv, TRUTH_READS, truth_reads)
    transgene = Path(f"{prefix}.truth_transgene.tsv")
    copies = transgene_truth(vector, plain, sample=sample, purity=purity, contamination=0.0)
    copies["vcn"] = round(sum(li.insertion.cell_fraction * li.copies() for li in insertions), 6)
    copies["vcn_bases"] = round(
        sum(li.insertion.cell_fraction * len(li.insert(vector)) for li in insertions) / len(vector.provirus),
        6,
    )
    write_tsv(transgene, (*TRUTH_TRANSGENE, "vcn_bases"), [copies])
    return LongReadResult(fastq, truth, reads_tsv, transgene, out.n, rows)


# ---------------------------------------------------------------- CLI


def read_long_design(path: str | Path) -> list[LongInsertion]:
    """The design TSV of ``carvis simulate`` plus optional columns structure, structure_start,
    structure_end (1-based provirus coordinates; see :data:`STRUCTURE_COLUMNS`)."""
    insertions = read_design(path)
    out = []
    for line, (ins, row) in enumerate(zip(insertions, read_tsv(path), strict=True), start=2):
        structure = (row.get("structure") or "full_length").strip()
        coords: list[int | None] = []
        for column in ("structure_start", "structure_end"):
            text = (row.get(column) or "").strip()
            try:
                coords.append(int(text) if text not in {"", "NA"} else None)
            except ValueError as exc:
                raise InputError(
                    path, f"{column} {text!r} is not a number", "give a 1-based position", line
                ) from exc
        if structure not in STRUCTURES:
            raise InputError(
                path, f"structure {structure!r} is unknown", f"use one of {', '.join(STRUCTURES)}", line
            )
        needs = {"internal_deletion": (0, 1), "truncated_5p": (0,), "truncated_3p": (1,)}.get(structure, ())
        if any(coords[i] is None for i in needs):
            raise InputError(
                path, f"{structure} needs its provirus coordinates", "fill structure_start/_end", line
            )
        out.append(LongInsertion(ins, structure, coords[0], coords[1]))
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--genome", required=True, help="reference FASTA")
    parser.add_argument("--vector", required=True, help="plasmid FASTA or GenBank")
    parser.add_argument("--vector-name", help="vector name (default: the file stem)")
    parser.add_argument("--kind", default="lentiviral", choices=list(KINDS))
    parser.add_argument(
        "--design",
        required=True,
        help="TSV: chrom, position, orientation, cell_fraction[, tsd_length][, class][, structure, "
        "structure_start, structure_end]",
    )
    parser.add_argument(
        "--preset", choices=["ont", "hifi"], default="ont", help="ONT-like 5%% or HiFi-like 1%%"
    )
    parser.add_argument("--coverage", type=float, default=10.0)
    parser.add_argument("--n50", type=float, default=17_000)
    parser.add_argument("--error-rate", type=float, help="default: the preset's")
    parser.add_argument("--purity", type=float)
    parser.add_argument("--circles", type=float, default=0.0, help="2-LTR circle copies per diploid genome")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample", default="tumour")
    parser.add_argument("--out-prefix", required=True)


def run(args: argparse.Namespace) -> int:
    vector = build_vector(args.vector_name or Path(args.vector).stem, args.vector, args.kind, None)
    preset = HIFI if args.preset == "hifi" else ONT
    model = LongReadModel(
        args.coverage,
        args.n50,
        preset.sigma,
        preset.error_rate if args.error_rate is None else args.error_rate,
        args.purity,
        args.circles,
        args.seed,
        args.sample,
    )
    result = simulate_long_reads(args.genome, vector, read_long_design(args.design), args.out_prefix, model)
    print(f"carvis simulate-long-reads: {result.reads} reads -> {result.fastq}")
    return 0
