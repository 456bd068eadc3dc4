"""Alignment command lines (the rules and the tests run them; this module only builds the strings)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ALIGNERS = ("minimap2", "bwa")


def reads_argument(files: Sequence[Path | str]) -> str:
    """One FASTQ argument; several lanes are concatenated on the fly (gzip members concatenate)."""
    quoted = " ".join(shlex.quote(str(f)) for f in files)
    return quoted if len(files) == 1 else f"<(cat {quoted})"


def reads_arguments(fastq_1: Sequence[Path | str], fastq_2: Sequence[Path | str]) -> str:
    """The read arguments of an aligner: R1, then R2 when paired."""
    return reads_argument(fastq_1) + (" " + reads_argument(fastq_2) if fastq_2 else "")


@dataclass(frozen=True)
class Aligner:
    """A short-read aligner and its settings: ``name`` (one of :data:`ALIGNERS`), ``reference`` (the minimap2
    index (.mmi) or, for bwa, the indexed FASTA), ``threads`` and the config's ``extra`` arguments."""

    name: str
    reference: str | Path
    threads: int
    extra: str = ""

    def __post_init__(self) -> None:
        if self.name not in ALIGNERS:
            raise ValueError(f"unknown aligner {self.name!r}; use one of {ALIGNERS}")


def align_command(
    aligner: Aligner, fastq_1: Sequence[Path | str], fastq_2: Sequence[Path | str], sample: str
) -> str:
    """The aligner part of the alignment pipe: SAM with soft-clipped supplementaries (-Y) on stdout."""
    read_group = shlex.quote(f"@RG\\tID:{sample}\\tSM:{sample}")
    reads = reads_arguments(fastq_1, fastq_2)
    if aligner.name == "minimap2":
        head = f"minimap2 -ax sr -Y -t {aligner.threads} -R {read_group}"
    else:
        head = f"bwa mem -Y -t {aligner.threads} -R {read_group}"
    return f"{head} {aligner.extra} {shlex.quote(str(aligner.reference))} {reads}".replace("  ", " ")


#: samtools markdup option that keeps pairs with different UMIs apart: the UMI is the read name's last
#: colon-separated field, as Illumina's converters write it (``--barcode-name`` fails on such names in
#: samtools 1.16); capture samples with ``capture.umi``.
UMI_MARKDUP = "--barcode-rgx " + shlex.quote(":([ACGTN+]+)$")


def bam_command(align: str, bam: str | Path, threads: int, markdup: str = "") -> str:
    """The whole alignment pipe: ``align`` (:func:`align_command`) | samtools fixmate -m | sort |
    markdup (duplicates marked, its statistics on stderr; ``markdup``: extra options such as
    :data:`UMI_MARKDUP`), then the BAM index."""
    out = shlex.quote(str(bam))
    return (
        f"{align} | samtools fixmate -m -u - - | samtools sort -u -@ {threads} -T {out}.tmp -o - - "
        f"| samtools markdup -s {markdup + ' ' if markdup else ''}- {out} && samtools index {out}"
    )
