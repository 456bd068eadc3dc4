"""Screen reads before alignment: keep the pairs that touch the vector, plus a depth sample.

One streaming pass per sample (:func:`screen_command`): minimap2 maps every pair against the
*screening reference*, the vector contigs without their host-homologous (masked) parts
(:func:`write_screen_reference`); ``samtools view -G 12`` keeps the pairs with at least one
mate on it and hands the others on; ``samtools view -s SEED.FRACTION`` keeps a depth sample of
those others, chosen by a hash of the read name (both mates together). Only the kept pairs and
the sample are aligned to the combined reference.

Autosomal depth for VCN: the same hash subsample of the aligned BAM (kept pairs included, so
it is a sample of all pairs) scaled by total reads / sampled reads (:func:`coverage_command`).
Measured on 1M simulated pairs: GNU ``grep -F -f`` with the ~11,000 vector 25-mers ran 7x slower
than ``gzip -dc`` of the same FASTQs, so minimap2 against the tiny screening index does the
matching (see tests/benchmark/throughput.py for its ratio). Junction fragments whose vector part
is shorter than about 20 bp in both mates are not kept.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shlex
import subprocess
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from carvis.align import reads_arguments
from carvis.errors import InputError
from carvis.intervals import merge
from carvis.io import atomic_write, read_tsv, write_tsv
from carvis.transgene import ContigCoverage
from carvis.vectors import VectorModel

log = logging.getLogger("carvis.screen")

#: Columns of the per-sample screening table.
SCREEN_COLUMNS = ("sample", "reads", "kept_reads", "sampled_reads", "depth_scale", "seconds")
#: Unmasked vector pieces shorter than this (bp) are left out of the screening reference.
MIN_PIECE = 30
#: minimap2 options of the screening index and pass: 15-mers every ~3 bases find a vector part of
#: about 20 bp (-k21 -w11 of -x sr needs ~35 bp and missed short junction clips).
MINIMAP2_ARGS = "-x sr -k15 -w5 -n1 -m15 -s30"
#: Seconds between progress lines in the log.
PROGRESS_EVERY = 10.0
_BATCH = re.compile(r"\[M::worker_pipeline::[\d.]+\*[\d.]+\] mapped (\d+) sequences")
_PROBE_BYTES = 1 << 20


def screen_pieces(
    models: Iterable[VectorModel], mask_rows: Iterable[tuple[str, int, int, str]], min_length: int = MIN_PIECE
) -> dict[str, str]:
    """Name ``<contig>:<start>-<end>`` (1-based) -> sequence of every unmasked vector piece.

    LTRs/ITRs stay in (they carry the junctions); masked host-homologous parts are cut out so
    that reads of the human genes they come from are not kept.
    """
    masked: dict[str, list[tuple[int, int]]] = {}
    for contig, start, end, _ in mask_rows:
        masked.setdefault(contig, []).append((start, end))
    pieces = {}
    for model in models:
        for contig, seq in model.contigs().items():
            pos = 0
            for start, end in [*merge(masked.get(contig, [])), (len(seq), len(seq))]:
                if min(start, len(seq)) - pos >= min_length:
                    pieces[f"{contig}:{pos + 1}-{min(start, len(seq))}"] = seq[pos : min(start, len(seq))]
                pos = max(pos, end)
    return pieces


def write_screen_reference(
    models: Iterable[VectorModel], mask_rows: Iterable[tuple[str, int, int, str]], out_fasta: str | Path
) -> int:
    """Write the screening reference FASTA; returns its number of bases."""
    pieces = screen_pieces(models, mask_rows)
    with atomic_write(out_fasta) as out:
        for name, seq in pieces.items():
            out.write(f">{name}\n{seq}\n")
    return sum(len(s) for s in pieces.values())


def subsample_option(fraction: float, seed: int) -> str:
    """``samtools view -s`` argument: seed and fraction as ``SEED.FRACTION`` (e.g. 7.05)."""
    if not 0 < fraction < 1:
        raise ValueError(f"depth sample fraction {fraction} must be between 0 and 1")
    digits = f"{fraction:.8f}".split(".")[1].rstrip("0")
    return f"{seed}.{digits}"


def screen_command(
    index: str | Path,
    fastq_1: Sequence[Path | str],
    fastq_2: Sequence[Path | str],
    kept_bam: str | Path,
    sample_bam: str | Path,
    subsample: str,
    threads: int,
) -> str:
    """The streaming pass: minimap2 against the screening index, split into kept pairs and sample."""
    reads = reads_arguments(fastq_1, fastq_2)
    return (
        f"minimap2 -a {MINIMAP2_ARGS} -t {threads} {shlex.quote(str(index))} {reads}"
        f" | samtools view -u -G 12 -o {shlex.quote(str(kept_bam))} -U -"
        f" | samtools view -b -s {subsample} -o {shlex.quote(str(sample_bam))} -"
    )


def estimate_reads(files: Sequence[Path | str]) -> int:
    """Reads in FASTQ files (gzipped or plain), from the record density of the first MB."""
    total = 0.0
    for path in files:
        with open(path, "rb") as handle:
            head = handle.read(_PROBE_BYTES)
        gz = head[:2] == b"\x1f\x8b"
        text = zlib.decompressobj(31).decompress(head) if gz else head
        records = text.count(b"\n") / 4
        total += os.path.getsize(path) * records / max(1, len(head))
    return round(total)


@dataclass
class Progress:
    """Turns minimap2's per-batch lines into 'reads screened, reads/s, ETA' log lines."""

    expected_reads: int
    started: float
    reads: int = 0
    last_log: float = 0.0

    def line(self, text: str, now: float) -> str | None:
        """A progress message for a minimap2 stderr line, or None (not a batch line, or too soon)."""
        found = _BATCH.search(text)
        if not found:
            return None
        self.reads += int(found.group(1))
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


def _run_logged(command: str, progress: Progress) -> None:
    """Run a bash pipeline; its stderr goes to the log, with progress lines from minimap2's batches."""
    proc = subprocess.Popen(
        ["bash", "-o", "pipefail", "-c", command], stderr=subprocess.PIPE, text=True, errors="replace"
    )
    assert proc.stderr is not None
    for text in proc.stderr:
        message = progress.line(text, time.monotonic())
        if message:
            log.info("%s", message)
        elif not _BATCH.search(text) and not text.startswith("[M::"):
            log.info("%s", text.rstrip())
    if proc.wait():
        raise RuntimeError(f"screening failed (exit {proc.returncode}): {command}")


def _count(bam: str | Path, subsample: str | None = None) -> int:
    option = ["-s", subsample] if subsample else []
    result = subprocess.run(
        ["samtools", "view", "-c", *option, str(bam)], capture_output=True, text=True, check=True
    )
    return int(result.stdout)


def run_screen(
    sample: str,
    index: str | Path,
    fastq_1: Sequence[Path | str],
    fastq_2: Sequence[Path | str],
    out_prefix: str | Path,
    stats_tsv: str | Path,
    *,
    fraction: float,
    seed: int = 7,
    threads: int = 1,
) -> dict[str, object]:
    """Screen one sample: writes ``<out_prefix>_R1/_R2.fastq.gz`` (kept pairs + depth sample) and stats.

    The kept and sampled BAMs are temporary files beside the FASTQs.
    """
    prefix = Path(out_prefix)
    kept, sampled = prefix.with_name(prefix.name + ".kept.bam"), prefix.with_name(prefix.name + ".sample.bam")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    subsample = subsample_option(fraction, seed)
    expected = estimate_reads(fastq_1) * (2 if fastq_2 else 1)
    progress = Progress(expected, time.monotonic())
    log.info("screening %s: ~%s reads, depth sample %s", sample, f"{expected:,}", subsample)
    _run_logged(screen_command(index, fastq_1, fastq_2, kept, sampled, subsample, threads), progress)
    log.info("done: %s", progress.message(time.monotonic()))
    outputs = [Path(f"{prefix}_R1.fastq.gz"), Path(f"{prefix}_R2.fastq.gz")]
    tmp = [p.with_name(".tmp." + p.name) for p in outputs]
    where = (
        f"-1 {shlex.quote(str(tmp[0]))} -2 {shlex.quote(str(tmp[1]))} -0 /dev/null -s /dev/null"
        if fastq_2
        else f"-0 {shlex.quote(str(tmp[0]))}"
    )
    _run_logged(
        f"samtools cat {shlex.quote(str(kept))} {shlex.quote(str(sampled))}"
        f" | samtools collate -u -O - {shlex.quote(str(prefix))}.collate"
        f" | samtools fastq -n -c 1 {where} -",
        progress,
    )
    if not fastq_2:
        with atomic_write(tmp[1], "wb", compress=False):
            pass
    for made, final in zip(tmp, outputs, strict=True):
        os.replace(made, final)
    kept_reads = _count(kept)
    sampled_reads = _count(sampled) + _count(kept, subsample)
    if not sampled_reads:
        raise InputError(
            stats_tsv,
            f"the depth sample of {sample} is empty ({progress.reads:,} reads screened)",
            "raise screen.depth_sample_fraction or check that the FASTQs hold reads",
        )
    row: dict[str, object] = {
        "sample": sample,
        "reads": progress.reads,
        "kept_reads": kept_reads,
        "sampled_reads": sampled_reads,
        "depth_scale": progress.reads / sampled_reads,
        "seconds": round(time.monotonic() - progress.started, 1),
    }
    write_tsv(stats_tsv, SCREEN_COLUMNS, [row])
    kept.unlink()
    sampled.unlink()
    log.info("%s", row)
    return row


def _scaled_row(fields: list[str], scale: float) -> list[str]:
    """One ``samtools coverage`` row of a depth sample as if all reads had been aligned.

    Reads and mean depth are multiplied by ``scale``; covered bases are recomputed from the
    sample's effective length (covered = L(1 - exp(-depth L0 / L))) so that it stays the same.
    """
    length = int(fields[2]) - int(fields[1]) + 1
    row = ContigCoverage(fields[0], length, int(fields[3]), int(fields[4]), float(fields[6]))
    effective = row.effective_length()
    depth = row.mean_depth * scale
    covered = effective * -math.expm1(-depth * row.length / effective) if effective else 0.0
    return [
        *fields[:3],
        str(round(row.reads * scale)),
        str(round(covered)),
        fields[5],
        f"{depth:.6g}",
        *fields[7:],
    ]


def write_coverage(
    bam: str | Path,
    out_tsv: str | Path,
    *,
    reference: str | Path | None = None,
    subsample: str | None = None,
    scale: float = 1.0,
) -> None:
    """``samtools coverage`` of a BAM/CRAM (``reference`` decodes a CRAM), written atomically.

    With ``subsample`` (a ``samtools view -s`` argument) only that hash sample of the reads is
    counted and its reads and depth are multiplied by ``scale`` (see :func:`_scaled_row`).
    """
    ref = ["--reference", str(reference)] if reference else []
    if subsample is None:
        text = _samtools(["coverage", *ref, str(bam)])
    else:
        sample = subprocess.run(
            ["samtools", "view", "-u", "-s", subsample, str(bam)], capture_output=True, check=True
        ).stdout
        text = _samtools(["coverage", "-"], sample)
    lines = text.splitlines()
    with atomic_write(out_tsv) as out:
        out.write(lines[0] + "\n")
        for line in lines[1:]:
            fields = line.split("\t")
            out.write("\t".join(fields if subsample is None else _scaled_row(fields, scale)) + "\n")


def _samtools(args: list[str], stdin: bytes | None = None) -> str:
    result = subprocess.run(["samtools", *args], input=stdin, capture_output=True, check=False)
    if result.returncode:
        raise RuntimeError(f"samtools {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode()


def depth_scale(stats_tsv: str | Path) -> float:
    """Total reads / sampled reads, from a screening stats table."""
    return float(read_tsv(stats_tsv, SCREEN_COLUMNS, "rerun the screen_reads rule")[0]["depth_scale"])
