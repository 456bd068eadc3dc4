"""Fragments and reads of the short-read simulator: where fragments fall on a sequence, the reads they give,
sequencing errors and the reproducible FASTQ stream (also used by the long-read simulator).

Fragments start at every base with the same probability, so a sequence present in a fraction f of the
genomes is read at exactly coverage x f.
"""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carvis.core.errors import InputError
from carvis.core.io import atomic_write
from carvis.core.seqs import revcomp
from carvis.reference.vectors import VectorModel
from carvis.sim.insertions import Insertion, left_junction

#: Bases a read must have on each side of a junction to show it (the truth's ``readable_fragments``).
READABLE = 12
#: Host bases that place a junction read on GRCh38 by themselves (the truth's ``placeable_fragments``): a
#: 20-mer occurs by chance 6.2e9 / 4**20 = 0.006 times in the genome's two strands, a 16-mer 1.4 times and
#: a 12-mer 370 times, so a shorter host part is placed only by a mate read wholly on the host.
PLACEABLE_HOST = 20
#: Fragments with more than this fraction of N are not sequenced.
MAX_N_FRACTION = 0.1

ASCII_COMPLEMENT = np.zeros(256, dtype=np.uint8)
for _b, _c in zip(b"ACGTN", b"TGCAN", strict=True):
    ASCII_COMPLEMENT[_b] = _c
BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
BASE_INDEX = np.zeros(256, dtype=np.int64)
for _i, _b in enumerate(b"ACGT"):
    BASE_INDEX[_b] = _i


@dataclass
class Template:
    """A linear sequence fragments are drawn from, with the insert's span (0-based half-open)."""

    seq: np.ndarray
    insert_start: int
    insert_end: int


def as_array(seq: str) -> np.ndarray:
    return np.frombuffer(seq.encode("ascii"), dtype=np.uint8)


def n_runs(seq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starts, ends (0-based half-open) and preceding cumulative length of the N runs."""
    is_n = np.concatenate(([0], (seq == ord("N")).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(is_n))
    starts, ends = edges[0::2], edges[1::2]
    before = np.concatenate(([0], np.cumsum(ends - starts)))[:-1]
    return starts, ends, before


def n_below(runs: tuple[np.ndarray, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Number of N bases at 0-based positions < x."""
    starts, ends, before = runs
    if not len(starts):
        return np.zeros_like(x)
    i = np.searchsorted(starts, x, side="right") - 1
    ok = i >= 0
    j = np.maximum(i, 0)
    return np.where(ok, before[j] + np.minimum(x, ends[j]) - starts[j], 0)


def fragment_lengths(
    rng: np.random.Generator, n: int, mean: float, sd: float, low: int, high: int
) -> np.ndarray:
    """``n`` normal fragment lengths, rounded and clipped to [low, high]."""
    return np.clip(np.rint(rng.normal(mean, sd, n)), low, high).astype(np.int64)


def place(rng: np.random.Generator, size: int, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fragment starts uniform over all ``size`` bases, and which fragments end within the sequence.

    Dropping the fragments that run off the end, rather than drawing starts only where a fragment
    fits, keeps the start density (fragments per base = depth / (2 x read length)) the same at every
    base: drawing from ``size - length + 1`` starts would raise the depth by length / size.
    """
    start = rng.integers(0, size, len(length))
    return start, start + length <= size


def insert_template(genome: Mapping[str, str], vector: VectorModel, ins: Insertion, flank: int) -> Template:
    """host[L-F .. L] + INSERT + host[a .. a+F] (1-based inclusive, clipped to the contig; L the left
    junction: a + t - 1, or a - host_deletion - 1)."""
    host = genome[ins.chrom]
    a, lj = ins.position, left_junction(ins, vector)
    left = host[max(0, min(a, lj + 1) - 2 - flank) : lj]
    right = host[a - 1 : a + flank]
    piece = ins.insert or vector.provirus
    insert = piece if ins.orientation == "+" else revcomp(piece)
    return Template(as_array(left + insert + right), len(left), len(left) + len(insert))


def read_crosses(start: np.ndarray, end: np.ndarray, junction: int) -> np.ndarray:
    """Does a read over [start, end) cross ``junction`` (the first base after it) with READABLE bases on
    each side?"""
    return (start <= junction - READABLE) & (end >= junction + READABLE)


def _contains(start: np.ndarray, end: np.ndarray, junction: int) -> np.ndarray:
    """Does a read over [start, end) hold bases on both sides of ``junction``?"""
    return (start < junction) & (end > junction)


def template_fragments(
    rng: np.random.Generator,
    template: Template,
    depth: float,
    read_length: int,
    lengths: Callable[[int], np.ndarray],
    discordant_only: bool = False,
) -> tuple[np.ndarray, np.ndarray, int, int, int]:
    """Fragments touching the insert (starts, lengths), how many cross a host-insert junction, how many
    have a read crossing one with READABLE bases on each side (what any caller can see), and how many of
    those could be placed on a human genome: the read holds PLACEABLE_HOST host bases, or its mate lies
    wholly on the host. ``discordant_only`` drops the fragments with a read over a junction."""
    size = len(template.seq)
    length = lengths(int(rng.poisson(depth / (2 * read_length) * size)))
    start, keep = place(rng, size, length)
    end = start + length
    keep &= (start < template.insert_end) & (end > template.insert_start)
    junctions = (template.insert_start, template.insert_end)
    if discordant_only:
        for read_start in (start, end - read_length):
            for junction in junctions:
                keep &= ~_contains(read_start, read_start + read_length, junction)
    start, length, end = start[keep], length[keep], end[keep]
    crossing = (start < template.insert_start) | (end > template.insert_end)
    readable = np.zeros(len(start), dtype=bool)
    placeable = np.zeros(len(start), dtype=bool)
    reads = (start, end - read_length)
    left, right = junctions
    for read_start, mate_start in (reads, reads[::-1]):
        read_end = read_start + read_length
        mate_on_host = (mate_start + read_length <= left) | (mate_start >= right)
        for junction, host in ((left, left - read_start), (right, read_end - right)):
            shows = read_crosses(read_start, read_end, junction)
            readable |= shows
            placeable |= shows & ((host >= PLACEABLE_HOST) | mate_on_host)
    return start, length, int(crossing.sum()), int(readable.sum()), int(placeable.sum())


@dataclass
class Special:
    """Pre-drawn fragments from templates, assigned to output chunks."""

    template: np.ndarray
    start: np.ndarray
    length: np.ndarray
    chunk: np.ndarray

    @classmethod
    def assign(
        cls, draws: Sequence[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator, n_chunks: int
    ) -> Special:
        """Pool the (starts, lengths) drawn per template and give each fragment a random chunk."""
        empty = [np.zeros(0, dtype=np.int64)]
        template = np.concatenate([np.full(len(s), i) for i, (s, _) in enumerate(draws)] + empty)
        start = np.concatenate([s for s, _ in draws] + empty).astype(np.int64)
        length = np.concatenate([n for _, n in draws] + empty).astype(np.int64)
        return cls(template, start, length, rng.integers(0, n_chunks, len(start)))


def reads_from(
    seq: np.ndarray, start: np.ndarray, length: np.ndarray, read_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """R1 (fragment start, forward) and R2 (reverse complement of the fragment end) as byte matrices."""
    offsets = np.arange(read_length)
    r1 = seq[start[:, None] + offsets]
    r2 = ASCII_COMPLEMENT[seq[(start + length - read_length)[:, None] + offsets]][:, ::-1]
    return r1, r2


def add_errors(rng: np.random.Generator, reads: np.ndarray, rate: float) -> None:
    """Substitute a different base at each position with probability ``rate`` (in place)."""
    if rate <= 0 or not reads.size:
        return
    flat = reads.reshape(-1)
    k = int(rng.binomial(flat.size, rate))
    where = rng.integers(0, flat.size, k)
    flat[where] = BASES[(BASE_INDEX[flat[where]] + rng.integers(1, 4, k)) % 4]


@contextlib.contextmanager
def fastq_gz(path: Path) -> Iterator[gzip.GzipFile]:
    """A reproducible (mtime 0, no name) gzip stream written atomically."""
    with (
        atomic_write(path, "wb", compress=False) as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=2, mtime=0) as handle,
    ):
        yield handle


def fastq_records(names: Sequence[bytes], reads: np.ndarray, read_length: int) -> bytes:
    """FASTQ records of the reads (a byte matrix), constant quality."""
    qual = b"I" * read_length
    data = reads.tobytes()
    return b"".join(
        b"@%s\n%s\n+\n%s\n" % (name, data[k * read_length : (k + 1) * read_length], qual)
        for k, name in enumerate(names)
    )


class Genome:
    """The reference as byte arrays, with N runs and sampling weights."""

    def __init__(self, genome: Mapping[str, str], max_fragment: int) -> None:
        self.names = [c for c, s in genome.items() if len(s) >= max_fragment]
        if not self.names:
            raise InputError(None, f"no contig is at least {max_fragment} bp", "use a larger genome")
        self.seqs = [as_array(genome[c]) for c in self.names]
        self.runs = [n_runs(s) for s in self.seqs]
        self.size = sum(len(s) for s in self.seqs)
        self.weights = np.array([len(s) for s in self.seqs], dtype=float) / self.size
