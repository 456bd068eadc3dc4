"""Depth figures of a sample: ``samtools coverage`` rows, autosomal depth, aligned read length and
per-base depth. Written by the reads stage, read by the sites and transgene stages."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carvis.core.errors import InputError
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
