"""Simulate paired-end tumour reads with chosen vector integrations, plus a truth table.

The genome is diploid at ``--coverage`` read depth. Each insertion replaces a fraction
g = cell_fraction / 2 of the reference alleles at its target site by the modified allele
host[..a+t-1] + INSERT + host[a..]; plasmid contamination adds fragments of the circular plasmid.
Fragments start at every base with the same probability, so the provirus of an insertion is read at
exactly coverage x cell_fraction / 2 (the depth the VCN benchmark compares with).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from Bio.SeqIO.FastaIO import SimpleFastaParser

from carvis.core.errors import InputError
from carvis.core.io import atomic_write, read_tsv, write_tsv
from carvis.core.seqs import read_single_record, revcomp
from carvis.core.tables import TRUTH
from carvis.reference.vectors import KINDS, VectorModel, build_vector

#: Columns of ``{out_prefix}.truth_transgene.tsv``.
TRUTH_TRANSGENE = ("sample", "vector", "vcn", "vcn_per_tumour_cell", "plasmid_contamination")
#: Bases a read must have on each side of a junction to show it (the truth's ``readable_fragments``).
READABLE = 12
#: Reference fragments per streamed chunk.
CHUNK = 100_000
#: Fragments with more than this fraction of N are not sequenced.
MAX_N_FRACTION = 0.1
CLASSES = ("clonal", "bystander")

_ASCII_COMPLEMENT = np.zeros(256, dtype=np.uint8)
for _b, _c in zip(b"ACGTN", b"TGCAN", strict=True):
    _ASCII_COMPLEMENT[_b] = _c
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_BASE_INDEX = np.zeros(256, dtype=np.int64)
for _i, _b in enumerate(b"ACGT"):
    _BASE_INDEX[_b] = _i


@dataclass
class Insertion:
    """One simulated integration (position = 1-based first TSD base, heterozygous in cell_fraction).

    ``host_deletion``: host bases lost at the insertion (AAV-like, kind other; no TSD then): the vector
    replaces ``position - host_deletion .. position - 1``, so the right junction is ``position`` and the
    left one ``position - host_deletion - 1``.
    """

    chrom: str
    position: int
    orientation: str
    cell_fraction: float
    tsd_length: int | None = None
    label: str = "clonal"
    host_deletion: int = 0


@dataclass
class SimulationResult:
    """Paths written by :func:`simulate_tumour` and what was simulated."""

    r1: Path
    r2: Path
    truth: Path
    truth_transgene: Path
    pairs: int
    contamination_pairs: int
    truth_rows: list[dict[str, object]]


@dataclass
class _Template:
    """A linear sequence fragments are drawn from, with the insert's span (0-based half-open)."""

    seq: np.ndarray
    insert_start: int
    insert_end: int


# ---------------------------------------------------------------- inputs


def read_genome(path: str | Path) -> dict[str, str]:
    """Contig name (first word) to upper-case sequence."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "genome FASTA not found", "check the --genome path")
    with open(path) as handle:
        genome = {title.split()[0]: seq.upper() for title, seq in SimpleFastaParser(handle)}
    if not genome:
        raise InputError(path, "no FASTA records found", "give a FASTA file with the reference contigs")
    return genome


def _design_value(
    path: Path, line: int, column: str, text: str, convert: Callable[[str], Any], fix: str
) -> Any:
    try:
        return convert(text)
    except ValueError as exc:
        raise InputError(path, f"{column} {text!r} is not valid", fix, line) from exc


def read_design(path: str | Path) -> list[Insertion]:
    """Read insertions from a TSV: chrom, position, orientation, cell_fraction[, tsd_length][, class]
    [, host_deletion]."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "design file not found", "check the --design path")
    rows = read_tsv(path)
    with open(path) as handle:
        header = handle.readline().rstrip("\n").split("\t")
    missing = [c for c in ("chrom", "position", "orientation", "cell_fraction") if c not in header]
    if missing:
        raise InputError(
            path,
            f"missing column(s) {', '.join(missing)}",
            "use a tab-separated header: chrom, position, orientation, cell_fraction[, tsd_length][, class]",
            1,
        )
    out = []
    for line, row in enumerate(rows, start=2):
        if None in row.values() or None in row:
            raise InputError(path, "wrong number of fields", "give one tab-separated value per column", line)
        position = _design_value(path, line, "position", row["position"], int, "give a 1-based integer")
        fraction = _design_value(
            path, line, "cell_fraction", row["cell_fraction"], float, "give a number in (0, 1]"
        )
        tsd_text = (row.get("tsd_length") or "").strip()
        tsd = None
        if tsd_text not in {"", "NA"}:
            tsd = _design_value(path, line, "tsd_length", tsd_text, int, "give an integer >= 0 or NA")
        label = (row.get("class") or "clonal").strip()
        deletion_text = (row.get("host_deletion") or "").strip()
        deletion = 0
        if deletion_text not in {"", "NA"}:
            deletion = _design_value(
                path, line, "host_deletion", deletion_text, int, "give an integer >= 0 or NA"
            )
        insertion = Insertion(
            row["chrom"].strip(), position, row["orientation"].strip(), fraction, tsd, label, deletion
        )
        problem = _insertion_problem(insertion)
        if problem:
            raise InputError(path, problem[0], problem[1], line)
        out.append(insertion)
    return out


def _insertion_problem(ins: Insertion) -> tuple[str, str] | None:
    """(problem, fix) for an invalid insertion independent of the genome, else None."""
    if ins.orientation not in {"+", "-"}:
        return f"orientation {ins.orientation!r} is not + or -", "use + or -"
    if not 0 < ins.cell_fraction <= 1:
        return f"cell_fraction {ins.cell_fraction} is outside (0, 1]", "give the fraction of cells, e.g. 0.8"
    if ins.position < 1:
        return f"position {ins.position} is not 1-based", "give the first target-site base, >= 1"
    if ins.tsd_length is not None and ins.tsd_length < 0:
        return f"tsd_length {ins.tsd_length} is negative", "give an integer >= 0 or NA"
    if ins.host_deletion < 0:
        return f"host_deletion {ins.host_deletion} is negative", "give an integer >= 0"
    if ins.host_deletion and ins.tsd_length:
        return "a site has a target-site duplication or a host deletion, not both", "set tsd_length 0"
    if ins.label not in CLASSES:
        return f"class {ins.label!r} is not one of {', '.join(CLASSES)}", "use clonal or bystander"
    return None


def _check_insertions(
    genome: Mapping[str, str], vector: VectorModel, insertions: Sequence[Insertion]
) -> None:
    for ins in insertions:
        problem = _insertion_problem(ins)
        if problem is None and ins.chrom not in genome:
            problem = (
                f"contig {ins.chrom!r} is not in the genome",
                "use a contig name from the genome FASTA",
            )
        if problem is None:
            end = ins.position + _tsd(ins, vector) - 1
            if end > len(genome[ins.chrom]) or ins.position - ins.host_deletion < 2:
                problem = (f"target site {ins.chrom}:{ins.position} runs off the contig", "move the site")
        if problem:
            raise InputError(None, f"insertion {ins.chrom}:{ins.position}: {problem[0]}", problem[1])


def random_insertions(
    genome: Mapping[str, str],
    n: int,
    rng: np.random.Generator,
    cell_fraction: tuple[float, float],
    label: str = "bystander",
    flank: int = 500,
    target: str = "",
) -> list[Insertion]:
    """``n`` random sites away from N (no N within ``flank`` bp), random orientation, uniform fraction.

    ``target`` (e.g. ``TTAA`` for piggyBac) restricts sites to positions where the motif starts.
    """
    names = [c for c, s in genome.items() if len(s) > 2 * flank + 10]
    if n and not names:
        raise InputError(None, f"no contig is longer than {2 * flank + 10} bp", "use a larger genome")
    weights = np.array([len(genome[c]) for c in names], dtype=float)
    out: list[Insertion] = []
    for _ in range(1000 * max(n, 1)):
        if len(out) == n:
            break
        chrom = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        pos = int(rng.integers(flank + 1, len(genome[chrom]) - flank))
        orientation = "+" if rng.random() < 0.5 else "-"
        fraction = float(rng.uniform(*cell_fraction))
        clear = "N" not in genome[chrom][pos - 1 - flank : pos + flank]
        if clear and genome[chrom][pos - 1 : pos - 1 + len(target)] == target.upper():
            out.append(Insertion(chrom, pos, orientation, round(fraction, 5), None, label))
    if len(out) < n:
        where = f" starting {target}" if target else ""
        raise InputError(None, f"found only {len(out)} N-free sites{where}", "use a genome with less N")
    return out


# ---------------------------------------------------------------- truth


def _tsd(ins: Insertion, vector: VectorModel) -> int:
    if ins.host_deletion:
        return 0
    return vector.tsd_length if ins.tsd_length is None else ins.tsd_length


def _left_junction(ins: Insertion, vector: VectorModel) -> int:
    """The last host base before the vector (1-based)."""
    return ins.position + _tsd(ins, vector) - 1 - ins.host_deletion


def clonal_fraction(cell_fraction: float, purity: float | None) -> float:
    """Fraction of (tumour) cells carrying a site: cell_fraction / purity capped at 1."""
    return cell_fraction if purity is None else min(1.0, cell_fraction / purity)


def truth_rows(
    genome: Mapping[str, str],
    vector: VectorModel,
    insertions: Sequence[Insertion],
    *,
    sample: str,
    purity: float | None = None,
    fragments: Sequence[int] | None = None,
) -> list[dict[str, object]]:
    """The TRUTH rows of the insertions (``fragments`` NA unless given, one count per insertion)."""
    rows = []
    for i, ins in enumerate(insertions):
        t = _tsd(ins, vector)
        a = ins.position
        rows.append(
            {
                "sample": sample,
                "vector": vector.name,
                "chrom": ins.chrom,
                "position": a,
                "orientation": ins.orientation,
                "left_junction": _left_junction(ins, vector),
                "right_junction": a,
                "tsd_length": t,
                "tsd": genome[ins.chrom][a - 1 : a + t - 1] if t else None,
                "fragments": None if fragments is None else int(fragments[i]),
                "clonal_fraction": round(clonal_fraction(ins.cell_fraction, purity), 6),
                "cell_fraction": ins.cell_fraction,
                "class": ins.label,
            }
        )
    return rows


def transgene_truth(
    vector: VectorModel,
    insertions: Sequence[Insertion],
    *,
    sample: str,
    purity: float | None,
    contamination: float,
) -> dict[str, object]:
    """The truth_transgene row: VCN per diploid genome and per tumour cell."""
    vcn = float(sum(i.cell_fraction for i in insertions))
    return {
        "sample": sample,
        "vector": vector.name,
        "vcn": round(vcn, 6),
        "vcn_per_tumour_cell": None if purity is None else round(vcn / purity, 6),
        "plasmid_contamination": "yes" if contamination > 0 else "no",
    }


# ---------------------------------------------------------------- fragments


def _as_array(seq: str) -> np.ndarray:
    return np.frombuffer(seq.encode("ascii"), dtype=np.uint8)


def _n_runs(seq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starts, ends (0-based half-open) and preceding cumulative length of the N runs."""
    is_n = np.concatenate(([0], (seq == ord("N")).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(is_n))
    starts, ends = edges[0::2], edges[1::2]
    before = np.concatenate(([0], np.cumsum(ends - starts)))[:-1]
    return starts, ends, before


def _n_below(runs: tuple[np.ndarray, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Number of N bases at 0-based positions < x."""
    starts, ends, before = runs
    if not len(starts):
        return np.zeros_like(x)
    i = np.searchsorted(starts, x, side="right") - 1
    ok = i >= 0
    j = np.maximum(i, 0)
    return np.where(ok, before[j] + np.minimum(x, ends[j]) - starts[j], 0)


def _lengths(rng: np.random.Generator, n: int, mean: float, sd: float, low: int, high: int) -> np.ndarray:
    return np.clip(np.rint(rng.normal(mean, sd, n)), low, high).astype(np.int64)


def _place(rng: np.random.Generator, size: int, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fragment starts uniform over all ``size`` bases, and which fragments end within the sequence.

    Dropping the fragments that run off the end, rather than drawing starts only where a fragment
    fits, keeps the start density (fragments per base = depth / (2 x read length)) the same at every
    base: drawing from ``size - length + 1`` starts would raise the depth by length / size.
    """
    start = rng.integers(0, size, len(length))
    return start, start + length <= size


def _insert_template(genome: Mapping[str, str], vector: VectorModel, ins: Insertion, flank: int) -> _Template:
    """host[L-F .. L] + INSERT + host[a .. a+F] (1-based inclusive, clipped to the contig; L the left
    junction: a + t - 1, or a - host_deletion - 1)."""
    host = genome[ins.chrom]
    a, lj = ins.position, _left_junction(ins, vector)
    left = host[max(0, min(a, lj + 1) - 2 - flank) : lj]
    right = host[a - 1 : a + flank]
    insert = vector.provirus if ins.orientation == "+" else revcomp(vector.provirus)
    return _Template(_as_array(left + insert + right), len(left), len(left) + len(insert))


def _read_crosses(start: np.ndarray, end: np.ndarray, junction: int) -> np.ndarray:
    """Does a read over [start, end) cross ``junction`` (the first base after it) with READABLE bases on
    each side?"""
    return (start <= junction - READABLE) & (end >= junction + READABLE)


def _template_fragments(
    rng: np.random.Generator,
    template: _Template,
    depth: float,
    read_length: int,
    lengths: Callable[[int], np.ndarray],
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Fragments touching the insert (starts, lengths), how many cross a host-insert junction, and how
    many have a read crossing one with READABLE bases on each side (what any caller can see)."""
    size = len(template.seq)
    length = lengths(int(rng.poisson(depth / (2 * read_length) * size)))
    start, keep = _place(rng, size, length)
    end = start + length
    keep &= (start < template.insert_end) & (end > template.insert_start)
    start, length, end = start[keep], length[keep], end[keep]
    crossing = (start < template.insert_start) | (end > template.insert_end)
    readable = np.zeros(len(start), dtype=bool)
    for read_start in (start, end - read_length):
        for junction in (template.insert_start, template.insert_end):
            readable |= _read_crosses(read_start, read_start + read_length, junction)
    return start, length, int(crossing.sum()), int(readable.sum())


@dataclass
class _Special:
    """Pre-drawn fragments from templates, assigned to output chunks."""

    template: np.ndarray
    start: np.ndarray
    length: np.ndarray
    chunk: np.ndarray

    @classmethod
    def assign(
        cls, draws: Sequence[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator, n_chunks: int
    ) -> _Special:
        """Pool the (starts, lengths) drawn per template and give each fragment a random chunk."""
        empty = [np.zeros(0, dtype=np.int64)]
        template = np.concatenate([np.full(len(s), i) for i, (s, _) in enumerate(draws)] + empty)
        start = np.concatenate([s for s, _ in draws] + empty).astype(np.int64)
        length = np.concatenate([n for _, n in draws] + empty).astype(np.int64)
        return cls(template, start, length, rng.integers(0, n_chunks, len(start)))


def _reads_from(
    seq: np.ndarray, start: np.ndarray, length: np.ndarray, read_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """R1 (fragment start, forward) and R2 (reverse complement of the fragment end) as byte matrices."""
    offsets = np.arange(read_length)
    r1 = seq[start[:, None] + offsets]
    r2 = _ASCII_COMPLEMENT[seq[(start + length - read_length)[:, None] + offsets]][:, ::-1]
    return r1, r2


def _add_errors(rng: np.random.Generator, reads: np.ndarray, rate: float) -> None:
    """Substitute a different base at each position with probability ``rate`` (in place)."""
    if rate <= 0 or not reads.size:
        return
    flat = reads.reshape(-1)
    k = int(rng.binomial(flat.size, rate))
    where = rng.integers(0, flat.size, k)
    flat[where] = _BASES[(_BASE_INDEX[flat[where]] + rng.integers(1, 4, k)) % 4]


@contextlib.contextmanager
def _fastq_gz(path: Path) -> Iterator[gzip.GzipFile]:
    """A reproducible (mtime 0, no name) gzip stream written atomically."""
    with (
        atomic_write(path, "wb", compress=False) as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=2, mtime=0) as handle,
    ):
        yield handle


def _fastq(sample: bytes, first: int, reads: np.ndarray, read_length: int) -> bytes:
    qual = b"I" * read_length
    data = reads.tobytes()
    return b"".join(
        b"@%s:%d\n%s\n+\n%s\n" % (sample, first + k, data[k * read_length : (k + 1) * read_length], qual)
        for k in range(len(reads))
    )


class _Genome:
    """The reference as byte arrays, with N runs and sampling weights."""

    def __init__(self, genome: Mapping[str, str], max_fragment: int) -> None:
        self.names = [c for c, s in genome.items() if len(s) >= max_fragment]
        if not self.names:
            raise InputError(None, f"no contig is at least {max_fragment} bp", "use a larger genome")
        self.seqs = [_as_array(genome[c]) for c in self.names]
        self.runs = [_n_runs(s) for s in self.seqs]
        self.size = sum(len(s) for s in self.seqs)
        self.weights = np.array([len(s) for s in self.seqs], dtype=float) / self.size


def simulate_tumour(
    genome_fasta: str | Path,
    vector: VectorModel,
    insertions: Sequence[Insertion],
    out_prefix: str | Path,
    *,
    sample: str = "tumour",
    coverage: float = 30.0,
    read_length: int = 150,
    insert_mean: float = 350,
    insert_sd: float = 50,
    error_rate: float = 0.001,
    purity: float | None = None,
    contamination: float = 0.0,
    seed: int = 1,
) -> SimulationResult:
    """Write ``{out_prefix}_R1/_R2.fastq.gz``, ``.truth.tsv`` and ``.truth_transgene.tsv``."""
    _check_parameters(coverage, read_length, insert_mean, insert_sd, error_rate, purity, contamination)
    genome = read_genome(genome_fasta)
    _check_insertions(genome, vector, insertions)
    rng = np.random.default_rng(seed)
    max_fragment = max(read_length, math.ceil(insert_mean + 4 * insert_sd))
    ref = _Genome(genome, max_fragment)

    def lengths(n: int) -> np.ndarray:
        return _lengths(rng, n, insert_mean, insert_sd, read_length, max_fragment)

    templates: list[_Template] = []
    draws: list[tuple[np.ndarray, np.ndarray]] = []
    crossing, readable = [], []
    for ins in insertions:
        template = _insert_template(genome, vector, ins, max_fragment)
        start, length, n_cross, n_readable = _template_fragments(
            rng, template, coverage * ins.cell_fraction / 2, read_length, lengths
        )
        readable.append(n_readable)
        templates.append(template)
        draws.append((start, length))
        crossing.append(n_cross)
    contamination_pairs = 0
    if contamination > 0:
        plasmid = str(read_single_record(vector.source).seq).upper()
        circular = _as_array(plasmid + (plasmid * (max_fragment // len(plasmid) + 1))[:max_fragment])
        n = int(rng.poisson(coverage * contamination / 2 / (2 * read_length) * len(plasmid)))
        templates.append(_Template(circular, 0, len(circular)))
        draws.append((rng.integers(0, len(plasmid), n), lengths(n)))
        contamination_pairs = n

    n_reference = round(coverage * ref.size / (2 * read_length))
    n_chunks = max(1, math.ceil(n_reference / CHUNK))
    special = _Special.assign(draws, rng, n_chunks)

    prefix = str(out_prefix)
    paths = [Path(f"{prefix}_R1.fastq.gz"), Path(f"{prefix}_R2.fastq.gz")]
    name = sample.encode()
    pairs = 0
    with _fastq_gz(paths[0]) as out1, _fastq_gz(paths[1]) as out2:
        for chunk in range(n_chunks):
            size = min(CHUNK, n_reference - chunk * CHUNK)
            r1, r2 = _chunk_reads(rng, ref, vector, insertions, size, lengths, read_length)
            sel = special.chunk == chunk
            for i in np.unique(special.template[sel]):
                pick = sel & (special.template == i)
                s1, s2 = _reads_from(templates[i].seq, special.start[pick], special.length[pick], read_length)
                r1, r2 = np.concatenate([r1, s1]), np.concatenate([r2, s2])
            order = rng.permutation(len(r1))
            r1, r2 = r1[order], r2[order]
            flip = rng.random(len(r1)) < 0.5  # fragment read from the other strand
            r1[flip], r2[flip] = r2[flip], r1[flip].copy()
            _add_errors(rng, r1, error_rate)
            _add_errors(rng, r2, error_rate)
            out1.write(_fastq(name, pairs + 1, r1, read_length))
            out2.write(_fastq(name, pairs + 1, r2, read_length))
            pairs += len(r1)

    rows = truth_rows(genome, vector, insertions, sample=sample, purity=purity, fragments=crossing)
    for row, n in zip(rows, readable, strict=True):
        row["readable_fragments"] = n
    truth = Path(f"{prefix}.truth.tsv")
    write_tsv(truth, TRUTH, rows)
    transgene = Path(f"{prefix}.truth_transgene.tsv")
    row = transgene_truth(vector, insertions, sample=sample, purity=purity, contamination=contamination)
    write_tsv(transgene, TRUTH_TRANSGENE, [row])
    return SimulationResult(paths[0], paths[1], truth, transgene, pairs, contamination_pairs, rows)


def _chunk_reads(
    rng: np.random.Generator,
    ref: _Genome,
    vector: VectorModel,
    insertions: Sequence[Insertion],
    size: int,
    lengths: Callable[[int], np.ndarray],
    read_length: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Reads of ``size`` reference fragments, minus N-rich ones, those running off the contig's end
    and those lost to insertions."""
    contig = rng.choice(len(ref.names), size=size, p=ref.weights)
    length = lengths(size)
    r1s, r2s = [], []
    for c in range(len(ref.names)):
        pick = contig == c
        n_len = length[pick]
        seq = ref.seqs[c]
        start, keep = _place(rng, len(seq), n_len)
        keep &= (
            _n_below(ref.runs[c], start + n_len) - _n_below(ref.runs[c], start)
        ) <= MAX_N_FRACTION * n_len
        end = start + n_len  # 1-based end of the fragment
        for ins in insertions:
            if ins.chrom != ref.names[c]:
                continue
            a, lj = ins.position, _left_junction(ins, vector)
            spans = (start + 1 <= min(a - 1, lj)) & (end >= max(a, lj + 1))
            keep &= ~(spans & (rng.random(len(start)) < ins.cell_fraction / 2))
        r1, r2 = _reads_from(seq, start[keep], n_len[keep], read_length)
        r1s.append(r1)
        r2s.append(r2)
    return np.concatenate(r1s), np.concatenate(r2s)


def _check_parameters(
    coverage: float,
    read_length: int,
    insert_mean: float,
    insert_sd: float,
    error_rate: float,
    purity: float | None,
    contamination: float,
) -> None:
    checks = [
        (coverage > 0, f"coverage {coverage} must be > 0"),
        (read_length > 0, f"read length {read_length} must be > 0"),
        (insert_mean >= read_length, f"insert mean {insert_mean} is shorter than the read length"),
        (insert_sd >= 0, f"insert sd {insert_sd} must be >= 0"),
        (0 <= error_rate < 0.5, f"error rate {error_rate} must be in [0, 0.5)"),
        (purity is None or 0 < purity <= 1, f"purity {purity} must be in (0, 1]"),
        (contamination >= 0, f"contamination {contamination} must be >= 0"),
    ]
    for ok, problem in checks:
        if not ok:
            raise InputError(None, problem, "fix the simulation parameter")


# ---------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--genome", required=True, help="reference FASTA")
    parser.add_argument("--vector", required=True, help="plasmid FASTA or GenBank")
    parser.add_argument("--vector-name", help="vector name (default: the file stem)")
    parser.add_argument("--kind", default="lentiviral", choices=list(KINDS))
    parser.add_argument("--provirus", nargs=2, type=int, metavar=("START", "END"))
    parser.add_argument(
        "--design",
        help="TSV: chrom, position, orientation, cell_fraction[, tsd_length][, class][, host_deletion]",
    )
    parser.add_argument("--bystanders", type=int, default=0, help="random low-fraction sites to add")
    parser.add_argument(
        "--bystander-fraction", nargs=2, type=float, default=[0.001, 0.004], metavar=("LOW", "HIGH")
    )
    parser.add_argument("--coverage", type=float, default=30.0)
    parser.add_argument("--read-length", type=int, default=150)
    parser.add_argument("--insert-mean", type=float, default=350)
    parser.add_argument("--insert-sd", type=float, default=50)
    parser.add_argument("--purity", type=float)
    parser.add_argument("--contamination", type=float, default=0.0, help="plasmid copies per diploid genome")
    parser.add_argument("--error-rate", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample", default="tumour")
    parser.add_argument("--out-prefix", required=True)


def run(args: argparse.Namespace) -> int:
    name = args.vector_name or Path(args.vector).stem
    vector = build_vector(name, args.vector, args.kind, args.provirus)
    insertions = read_design(args.design) if args.design else []
    if args.bystanders:
        genome = read_genome(args.genome)
        rng = np.random.default_rng([args.seed, 1])
        insertions += random_insertions(genome, args.bystanders, rng, tuple(args.bystander_fraction))
    result = simulate_tumour(
        args.genome,
        vector,
        insertions,
        args.out_prefix,
        sample=args.sample,
        coverage=args.coverage,
        read_length=args.read_length,
        insert_mean=args.insert_mean,
        insert_sd=args.insert_sd,
        error_rate=args.error_rate,
        purity=args.purity,
        contamination=args.contamination,
        seed=args.seed,
    )
    print(f"carvis simulate: {result.pairs} pairs, {len(insertions)} insertions -> {result.r1.parent}")
    return 0
