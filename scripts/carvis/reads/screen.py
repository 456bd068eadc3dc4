"""Screen reads before alignment: keep the pairs that touch the vector, plus a depth sample.

One streaming pass per sample with ``kmer_screen`` (``kmer_screen.c`` beside this module, compiled by
the workflow's build_kmer_screen rule): a pair is kept when either mate shares a :data:`K`-mer
(either strand) with the *screening reference*, the vector contigs without their host-homologous
(masked) parts (:func:`write_screen_reference`), or an :data:`END_K`-mer with a provirus terminus
(junction reads whose vector part is short). Every pair whose read name passes samtools'
``view -s SEED.FRACTION`` hash joins the depth sample. Only kept and sampled pairs are aligned.
The FASTQs are decompressed by ``igzip``, ``pigz`` or ``gzip`` processes (one per file) running beside
the scan (:func:`decompressor`).

Every record is checked on the way: a damaged gzip, a record cut short, a file that is not FASTQ, R1 and R2
files of unequal length or with mates out of step stop the pass with an InputError naming the file
(:func:`check_reads` runs the same checks without screening, for samples aligned in full). Each pass
returns the records of every input file (:class:`ReadCounts`).

Autosomal depth for VCN: the same hash subsample of the aligned BAM (kept pairs included, so it is a
sample of all pairs) scaled by total reads / sampled reads (:func:`write_coverage`).
Earlier passes measured on 1M simulated pairs: GNU ``grep -F -f`` with the vector 25-mers ran 7x and
minimap2 against the pieces 2.2x slower than ``gzip -dc`` (tests/benchmark/throughput.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from carvis.core.errors import InputError
from carvis.core.intervals import subtract
from carvis.core.io import is_gzipped, read_tsv, write_fasta, write_tsv
from carvis.reads.probe import estimate_bases, estimate_reads
from carvis.reference.mask import MaskRow
from carvis.reference.vectors import VectorModel

log = logging.getLogger("carvis.reads.screen")

#: Columns of the per-sample screening table.
#: written_reads: kept or sampled, the reads handed to the aligner.
SCREEN_COLUMNS = (
    "sample",
    "reads",
    "kept_reads",
    "sampled_reads",
    "written_reads",
    "depth_scale",
    "seconds",
)
#: Unmasked vector pieces shorter than this (bp) are left out of the screening reference.
MIN_PIECE = 30
#: k-mer length of the screen. 16-mers met ~700 random matches per million simulated pairs; 20-mers none.
#: kmer_screen looks one up every 3rd base, so a vector part of K + 2 = 22 bp or more is always found.
K = 20
#: Length of the provirus-terminus k-mers, looked up near read ends only: junction reads whose vector
#: part is 12-21 bp (the shortest clip the evidence stage anchors is 12 bp).
END_K = 12
#: Seconds between progress lines in the log.
PROGRESS_EVERY = 10.0
#: C source of the screen, compiled by the workflow.
SOURCE = Path(__file__).with_name("kmer_screen.c")
_BATCH = re.compile(r"kmer_screen: (\d+) pairs")
#: Pipe buffer between a decompressor and kmer_screen: with Linux's 64 kB default, moving 3 GB of FASTQ
#: cost as much system time as the decompression itself (measured on 5M pairs: 10.7 s against 6.1 s).
PIPE_BYTES = 1 << 20


def screen_pieces(
    models: Iterable[VectorModel], mask_rows: Iterable[MaskRow], min_length: int = MIN_PIECE
) -> dict[str, str]:
    """Name ``<contig>:<start>-<end>`` (1-based) -> sequence of every unmasked vector piece.

    LTRs/ITRs stay in (they carry the junctions); masked host-homologous parts are cut out so
    that reads of the human genes they come from are not kept.
    """
    masked: dict[str, list[tuple[int, int]]] = {}
    for contig, start, end, _ in mask_rows:
        masked.setdefault(contig, []).append((start, end))
    return {
        f"{contig}:{start + 1}-{end}": seq[start:end]
        for model in models
        for contig, seq in model.contigs().items()
        for start, end in subtract([(0, len(seq))], masked.get(contig, []))
        if end - start >= min_length
    }


def vector_ends(models: Iterable[VectorModel], length: int = END_K) -> dict[str, str]:
    """Name -> the first and last ``length`` bases of each provirus (its integrated termini)."""
    return {
        f"{model.name}:{side}": seq
        for model in models
        for side, seq in (("5prime", model.provirus[:length]), ("3prime", model.provirus[-length:]))
    }


def write_screen_reference(
    models: Iterable[VectorModel],
    mask_rows: Iterable[MaskRow],
    out_fasta: str | Path,
    ends_fasta: str | Path,
) -> int:
    """Write the screening reference FASTA and the provirus-termini FASTA; returns the reference bases."""
    models = list(models)
    pieces = screen_pieces(models, mask_rows)
    write_fasta(out_fasta, pieces.items())
    write_fasta(ends_fasta, vector_ends(models).items())
    return sum(len(s) for s in pieces.values())


#: How the workflow (rule build_kmer_screen) and ``carvis validate`` compile kmer_screen:
#: ``sh -c COMPILE sh OUT SOURCE`` (CC, CFLAGS and LDFLAGS as the environment sets them).
COMPILE = '${CC:-cc} ${CFLAGS:-} -O3 -o "$1" "$2" ${LDFLAGS:-} -lz'


def compile_kmer_screen(out: str | Path) -> Path:
    """Compile :data:`SOURCE` into ``out`` with :data:`COMPILE`; InputError when no C compiler works."""
    result = subprocess.run(
        ["sh", "-c", COMPILE, "sh", str(out), str(SOURCE)], capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise InputError(
            None,
            f"kmer_screen (which reads every FASTQ record) could not be compiled: {result.stderr.strip()}",
            "install a C compiler and zlib (bash scripts/setup.sh), or skip the reads with --no-reads",
        )
    return Path(out)


def subsample_option(fraction: float, seed: int) -> str:
    """``samtools view -s`` argument: seed and fraction as ``SEED.FRACTION`` (e.g. 7.05)."""
    if not 0 < fraction < 1:
        raise ValueError(f"depth sample fraction {fraction} must be between 0 and 1")
    digits = f"{fraction:.8f}".split(".")[1].rstrip("0")
    return f"{seed}.{digits}"


def depth_fraction(fraction: float, max_pairs: int | None, pairs: int) -> float:
    """The depth sample's fraction of a sample of about ``pairs`` pairs: ``fraction``, lowered so that the
    sample holds at most ``max_pairs`` pairs. The autosomal depth's error is already negligible at a
    million pairs, while aligning the sample is the screened run's largest cost at 30x (a sample of 1%
    of 600M pairs is 6M pairs); the depth scale is taken from the counts, not from this fraction. The
    long-read cap passes bases as ``max_pairs`` and ``pairs``."""
    if not fraction or max_pairs is None or pairs * fraction <= max_pairs:
        return fraction
    return max_pairs / pairs


def decompressor() -> str:
    """The fastest gzip decompressor on PATH (igzip, then pigz, then gzip)."""
    return next(tool for tool in ("igzip", "pigz", "gzip") if tool == "gzip" or shutil.which(tool))


def _widen(pipe: int) -> None:
    """Give a pipe PIPE_BYTES of buffer where Linux allows it (fewer, larger transfers between processes)."""
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def kmer_screen_command(
    binary: str | Path,
    pieces: str | Path,
    ends: str | Path,
    subsample: str,
    out_prefix: str | Path,
    reads: list[str],
) -> list[str]:
    """kmer_screen's command line: ``reads`` are its ``-1``/``-2`` arguments; ``subsample`` picks the depth
    sample (``0.0``: none)."""
    options = ["-k", str(K), "-e", str(END_K), "-s", subsample, "-o", str(out_prefix)]
    return [str(binary), *options, *reads, str(pieces), str(ends)]


def _read_arguments(
    fastq_1: Sequence[Path | str], fastq_2: Sequence[Path | str]
) -> tuple[list[str], list[tuple[subprocess.Popen[bytes], str]], dict[str, str]]:
    """kmer_screen's ``-1``/``-2`` arguments, the decompressors feeding them (with their file), and the
    name kmer_screen sees -> the file as given.

    Each gzipped file is decompressed by its own :func:`decompressor` process writing into a pipe; plain
    files are read by kmer_screen itself. One pipe per file lets kmer_screen count each file's records.
    """
    args: list[str] = []
    feeders: list[tuple[subprocess.Popen[bytes], str]] = []
    names: dict[str, str] = {}
    for flag, files in (("-1", fastq_1), ("-2", fastq_2)):
        for path in map(str, files):
            seen = path
            if is_gzipped(path):
                read_end, write_end = os.pipe()
                _widen(write_end)
                command = [decompressor(), "-dc", path]
                feeders.append((subprocess.Popen(command, stdout=write_end, stderr=subprocess.PIPE), path))
                os.close(write_end)
                seen = f"/dev/fd/{read_end}"
            names[seen] = path
            args += [flag, seen]
    return args, feeders, names


@dataclass(frozen=True)
class ReadCounts:
    """What one kmer_screen pass read: records per input file (the files as given, R1 then R2) and pairs,
    and of the pairs those kept, in the depth sample, and written (kept or sampled)."""

    files: tuple[tuple[str, int], ...]
    pairs: int
    kept: int = 0
    sampled: int = 0
    written: int = 0

    @property
    def reads(self) -> int:
        """Reads in all input files."""
        return sum(n for _, n in self.files)


def parse_counts(text: str, names: Mapping[str, str] | None = None) -> ReadCounts:
    """kmer_screen's stdout (``file PATH N`` lines, then ``pairs``/``kept``/``sampled``/``written``);
    ``names`` maps the names kmer_screen saw (``/dev/fd/N``) back to the files as given."""
    files: list[tuple[str, int]] = []
    totals: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if fields[0] == "file" and len(fields) == 3:
            files.append(((names or {}).get(fields[1], fields[1]), int(fields[2])))
        elif len(fields) == 2:
            totals[fields[0]] = int(fields[1])
    if "pairs" not in totals:
        raise RuntimeError(f"kmer_screen wrote no counts: {text[:200]!r}")
    return ReadCounts(tuple(files), **totals)


#: What to do about each kind of input problem kmer_screen reports.
_COPY_AGAIN = "copy the file again from its source and compare its checksum (sha256sum) with the source's"
_FIXES = {
    "open": "check the path in the sample sheet and that the file can be read",
    "gzip": _COPY_AGAIN,
    "cut": _COPY_AGAIN,
    "format": "give FASTQ files (4 lines a record: @name, bases, +, qualities), plain or gzipped",
    "count": "R1 and R2 must hold the same reads in the same order, lane by lane: copy the shorter file "
    "again (compare checksums), and list each lane's fastq_1 and fastq_2 in the same order",
    "names": "give each lane's R1 and R2 files in the same order in fastq_1 and fastq_2; if a tool "
    "filtered or sorted one mate, redo that step on both mates together",
}
_PROBLEMS = {
    "gzip": "{message}: the gzip file is damaged (cut short or corrupted while copying)",
    "cut": "{message}: the file was cut short",
}
_FD = re.compile(r"/dev/fd/\d+")


def _input_error(line: str, names: Mapping[str, str]) -> InputError:
    """The InputError of one ``kmer_screen: error`` line, naming the files as given."""
    _, kind, file, record, message = line.split("\t", 4)
    message = _FD.sub(lambda m: names.get(m.group(0), m.group(0)), message)
    number = int(record)
    where = f"record {number}: " if number and kind != "names" else ""
    problem = where + _PROBLEMS.get(kind, "{message}").format(message=message)
    line_number = 4 * (number - 1) + 1 if number else None
    return InputError(names.get(file, file), problem, _FIXES.get(kind, _COPY_AGAIN), line=line_number)


def _run_kmer_screen(
    command: Callable[[list[str]], list[str]],
    fastq_1: Sequence[Path | str],
    fastq_2: Sequence[Path | str],
    progress: Progress | None = None,
) -> ReadCounts:
    """Run kmer_screen (``command`` of its read arguments) with a decompressor per gzipped file.

    A damaged input raises InputError naming the file as given; RuntimeError is left for internal
    failures. A decompressor failing (or, like igzip on a cut file, complaining with exit 0) fails the
    pass even when kmer_screen saw a clean end.
    """
    reads, feeders, names = _read_arguments(fastq_1, fastq_2)
    fds = [int(seen.rsplit("/", 1)[1]) for seen in names if seen.startswith("/dev/fd/")]
    try:
        proc = subprocess.Popen(
            command(reads),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            pass_fds=fds,
        )
    finally:
        for fd in fds:
            os.close(fd)
    assert proc.stdout is not None and proc.stderr is not None
    problems = []
    for text in proc.stderr:
        message = progress.line(text, time.monotonic()) if progress else None
        if message:
            log.info("%s", message)
        elif not _BATCH.search(text):
            problems.append(text.rstrip("\n"))
    out = proc.stdout.read()
    code = proc.wait()
    for feeder, path in feeders:
        error = feeder.stderr.read().decode(errors="replace").strip() if feeder.stderr else ""
        if feeder.wait() < 0 and code:
            continue  # stopped by a broken pipe after kmer_screen stopped
        if feeder.returncode or error:
            args = feeder.args
            tool = Path(str(args[0] if isinstance(args, list) else args)).name
            raise InputError(
                path,
                f"{tool} cannot decompress it ({error or f'exit {feeder.returncode}'}): the gzip file is "
                "damaged (cut short or corrupted while copying)",
                _COPY_AGAIN,
            )
    if code:
        for line in problems:
            if line.startswith("kmer_screen: error\t"):
                raise _input_error(line, names)
        problem = _FD.sub(lambda m: names.get(m.group(0), m.group(0)), "; ".join(problems))
        raise RuntimeError(f"kmer_screen failed (exit {code}): {problem}")
    return parse_counts(out, names)


def check_reads(
    binary: str | Path, fastq_1: Sequence[Path | str], fastq_2: Sequence[Path | str]
) -> ReadCounts:
    """Read every record of a sample's FASTQs without screening (``kmer_screen -c``): gzip integrity, FASTQ
    records, mates in step. Returns the records per file; bad input raises InputError."""
    mates = 2 if fastq_2 else 1
    progress = Progress(estimate_reads(fastq_1) * mates, time.monotonic(), mates)
    counts = _run_kmer_screen(lambda reads: [str(binary), "-c", *reads], fastq_1, fastq_2, progress)
    log.info("checked %s reads in %d files", f"{counts.reads:,}", len(counts.files))
    return counts


#: Columns of the per-file read counts table.
INPUT_READS_COLUMNS = ("sample", "file", "reads")


def write_input_reads(sample: str, counts: ReadCounts, out_tsv: str | Path) -> None:
    """The records of each input file, one row a file (the file as given)."""
    rows = [{"sample": sample, "file": f, "reads": n} for f, n in counts.files]
    write_tsv(out_tsv, INPUT_READS_COLUMNS, rows)


def read_input_reads(path: str | Path) -> list[tuple[str, int]]:
    """(file, reads) rows of a table :func:`write_input_reads` wrote."""
    return [(r["file"], int(r["reads"])) for r in read_tsv(path, INPUT_READS_COLUMNS, "rerun the sample")]


@dataclass
class Progress:
    """Turns kmer_screen's 'N pairs' lines into 'reads screened, reads/s, ETA' log lines."""

    expected_reads: int
    started: float
    mates: int = 2
    reads: int = 0
    last_log: float = 0.0

    def line(self, text: str, now: float) -> str | None:
        """A progress message for a kmer_screen stderr line, or None (not a count line, or too soon)."""
        found = _BATCH.search(text)
        if not found:
            return None
        self.reads = int(found.group(1)) * self.mates
        if now - self.last_log < PROGRESS_EVERY:
            return None
        self.last_log = now
        return self.message(now)

    def message(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.reads / elapsed
        done = min(1.0, self.reads / self.expected_reads) if self.expected_reads else 0.0
        eta = max(0.0, (self.expected_reads - self.reads) / rate) if rate else float("nan")
        return (
            f"screened {self.reads:,} reads ({done:.0%} of ~{self.expected_reads:,}) in {elapsed:.0f} s: "
            f"{rate:,.0f} reads/s, ETA {eta:.0f} s"
        )


@dataclass(frozen=True)
class ScreenFiles:
    """One screening pass's files: the kmer_screen ``binary``, the screening reference (``pieces``,
    :func:`write_screen_reference`) and provirus ``ends``, the reads, and what it writes:
    ``<out_prefix>_R1/_R2.fastq`` (kept pairs + depth sample), the stats and, given ``inputs_tsv``, the
    records of each input file (:func:`write_input_reads`)."""

    binary: str | Path
    pieces: str | Path
    ends: str | Path
    fastq_1: Sequence[Path | str]
    fastq_2: Sequence[Path | str]
    out_prefix: str | Path
    stats_tsv: str | Path
    inputs_tsv: str | Path | None = None


@dataclass(frozen=True)
class ScreenSettings:
    """The depth sample: ``fraction`` of the pairs (0: none, as in :mod:`carvis.sites.site_reads`' pass)
    picked by ``seed``, at most about ``max_pairs`` pairs and ``max_bases`` bases of R1 (long reads;
    :func:`depth_fraction`)."""

    fraction: float
    seed: int = 7
    max_pairs: int | None = None
    max_bases: int | None = None


def run_screen(sample: str, files: ScreenFiles, settings: ScreenSettings) -> dict[str, object]:
    """Screen one sample; ``pieces`` without any sequence (no candidate site) keeps nothing: the FASTQs are
    written empty without reading the reads."""
    prefix = Path(files.out_prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    tmp = prefix.with_name(".tmp." + prefix.name)
    if not _has_sequence(files.pieces):
        log.info("screening %s: no sequence to screen for in %s, nothing kept", sample, files.pieces)
        for mate in ("R1", "R2"):
            Path(f"{prefix}_{mate}.fastq").write_text("")
        if files.inputs_tsv is not None:  # the reads were not read: no file rows
            write_input_reads(sample, ReadCounts((), 0), files.inputs_tsv)
        return _write_stats(files.stats_tsv, sample, ReadCounts((), 0), 1, 0.0)
    mates = 2 if files.fastq_2 else 1
    pairs = estimate_reads(files.fastq_1)
    fraction = depth_fraction(settings.fraction, settings.max_pairs, pairs)
    if settings.max_bases is not None:
        fraction = depth_fraction(fraction, settings.max_bases, estimate_bases(files.fastq_1))
    subsample = subsample_option(fraction, settings.seed) if fraction else "0.0"
    progress = Progress(pairs * mates, time.monotonic(), mates)
    log.info("screening %s: ~%s reads, depth sample %s", sample, f"{progress.expected_reads:,}", subsample)
    command = functools.partial(kmer_screen_command, files.binary, files.pieces, files.ends, subsample, tmp)
    counts = _run_kmer_screen(command, files.fastq_1, files.fastq_2, progress)
    progress.reads = counts.pairs * mates
    log.info("done: %s", progress.message(time.monotonic()))
    if fraction and not counts.sampled:
        raise InputError(
            files.stats_tsv,
            f"the depth sample of {sample} is empty ({progress.reads:,} reads screened)",
            "raise screen.depth_sample_fraction or check that the FASTQs hold reads",
        )
    for mate in ("R1", "R2"):
        os.replace(f"{tmp}_{mate}.fastq", f"{prefix}_{mate}.fastq")
    if files.inputs_tsv is not None:
        write_input_reads(sample, counts, files.inputs_tsv)
    seconds = round(time.monotonic() - progress.started, 1)
    return _write_stats(files.stats_tsv, sample, counts, mates, seconds)


def _has_sequence(fasta: str | Path) -> bool:
    with open(fasta) as handle:
        return any(line.strip() and not line.startswith(">") for line in handle)


def _write_stats(
    stats_tsv: str | Path, sample: str, counts: ReadCounts, mates: int, seconds: float
) -> dict[str, object]:
    """The stats row of a pass: its pair counts as reads (x ``mates``)."""
    reads, kept, sampled, written = (
        n * mates for n in (counts.pairs, counts.kept, counts.sampled, counts.written)
    )
    row: dict[str, object] = {
        "sample": sample,
        "reads": reads,
        "kept_reads": kept,
        "sampled_reads": sampled,
        "written_reads": written,
        "depth_scale": reads / sampled if sampled else None,
        "seconds": seconds,
    }
    write_tsv(stats_tsv, SCREEN_COLUMNS, [row])
    log.info("%s", row)
    return row


def depth_scale(stats_tsv: str | Path) -> float:
    """Total reads / sampled reads, from a screening stats table."""
    return float(read_tsv(stats_tsv, SCREEN_COLUMNS, "rerun the screen_reads rule")[0]["depth_scale"])
