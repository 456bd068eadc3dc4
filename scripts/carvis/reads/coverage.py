"""Depth figures of a sample: ``samtools coverage`` rows, autosomal depth, aligned read length and
per-base depth. Written by the reads stage, read by the sites and transgene stages."""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carvis.core.errors import InputError
from carvis.core.io import atomic_write
from carvis.core.numeric import bisect_root
from carvis.reference.vectors import contig_owner

_SEX_MITO = {"X", "Y", "M", "MT", "W", "Z"}


_NOT_PRIMARY = re.compile(r"_alt|_random|_decoy|_fix|^un|ebv|decoy|^hla[-_]|^(ki|gl|jh|kn|kz)\d", re.I)


_COVERAGE_COLUMNS = ("#rname", "startpos", "endpos", "numreads", "covbases", "meandepth")


@dataclass(frozen=True)
class ContigCoverage:
    """One row of ``samtools coverage``."""

    name: str
    length: int
    reads: int
    covered: int
    mean_depth: float

    def effective_length(self) -> float:
        """Length without the bases no read can cover (N runs): L with covered = L(1 - exp(-depth L0 / L)).

        At usual depths this is the covered length; at low depth it corrects for bases missed by chance.
        """
        total = self.mean_depth * self.length
        if self.covered >= self.length or total <= 0:
            return float(self.length)

        def excess(length: float) -> float:
            return length * -math.expm1(-total / length) - self.covered

        if excess(self.length) <= 0:
            return float(self.length)
        return bisect_root(excess, float(self.covered), float(self.length))


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
                        int(fields[col["covbases"]]),
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
    """Mean depth over the autosomes' coverable bases (N runs left out; contigs in ``exclude`` skipped)."""
    rows = _autosomes(coverage_tsv, exclude)
    return sum(r.mean_depth * r.length for r in rows) / sum(r.effective_length() for r in rows)


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
                    "produce the file with samtools depth -a -Q 0 -r CONTIG (each vector contig)",
                    number,
                ) from exc
    return depth


def scaled_row(fields: list[str], scale: float, called_bases: int | None = None) -> list[str]:
    """One ``samtools coverage`` row of a depth sample as if all reads had been aligned.

    Reads and mean depth are multiplied by ``scale``. Covered bases become the contig's called (non-N)
    bases when known, which carvis.transgene.call reads as the length reads can cover. Without them they are
    recomputed from the sample's effective length (covered = L(1 - exp(-depth L0 / L))), which is
    ill-conditioned at a sample's low depth: at 0.15x, reads 1% more clumped than Poisson shrink it 14%.
    """
    length = int(fields[2]) - int(fields[1]) + 1
    row = ContigCoverage(fields[0], length, int(fields[3]), int(fields[4]), float(fields[6]))
    depth = row.mean_depth * scale
    if called_bases is not None:
        covered = float(called_bases)
    else:
        effective = row.effective_length()
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
    called_bases: Mapping[str, int] | None = None,
) -> None:
    """``samtools coverage`` of a BAM/CRAM (``reference`` decodes a CRAM), written atomically.

    With ``subsample`` (a ``samtools view -s`` argument) only that hash sample of the reads is
    counted; with it or with ``called_bases`` (the file is a depth sample already) reads and depth are
    multiplied by ``scale`` (see :func:`scaled_row`, which takes each contig's ``called_bases``).
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
    called = called_bases or {}
    with atomic_write(out_tsv) as out:
        out.write(lines[0] + "\n")
        for line in lines[1:]:
            fields = line.split("\t")
            if subsample is not None or called_bases is not None:
                fields = scaled_row(fields, scale, called.get(fields[0]))
            out.write("\t".join(fields) + "\n")


def _samtools(args: list[str], stdin: bytes | None = None) -> str:
    result = subprocess.run(["samtools", *args], input=stdin, capture_output=True, check=False)
    if result.returncode:
        raise RuntimeError(f"samtools {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode()
