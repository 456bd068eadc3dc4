"""Hybrid capture with vector baits (issue 16): the depth over the configured control regions.

A capture library's depth is the baits', not the genome's, so the autosomal depth of the whole genome
cannot normalise the vector depth. The control regions (a BED of baited single-copy loci, two copies per
cell) take its place: :func:`write_control_coverage` writes their depth in the ``samtools coverage``
layout that :mod:`carvis.reads.coverage` reads (one row per region), so the transgene stage divides by it
unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pysam

from carvis.core.errors import InputError
from carvis.core.io import atomic_write

Region = tuple[str, int, int]  # chrom, 0-based start, end


def capture_regions(config: Mapping[str, Any], capture: bool) -> tuple[list[Region], list[Region]]:
    """The config's ``capture.control_bed`` and ``capture.flank_bed`` regions (none without a capture
    sample or without the file): read, and so checked, at every workflow start and by ``carvis validate``."""
    beds = config.get("capture", {})
    control, flank = beds.get("control_bed"), beds.get("flank_bed")
    return (
        read_regions(control) if control and capture else [],
        read_regions(flank) if flank and capture else [],
    )


def read_regions(path: str | Path) -> list[Region]:
    """BED regions (chrom, start, end); comment, track and browser lines skipped."""
    regions = []
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            cells = line.rstrip("\n").split("\t")
            try:
                chrom, start, end = cells[0], int(cells[1]), int(cells[2])
            except (IndexError, ValueError):
                raise InputError(
                    path,
                    "not a BED line (chrom, start, end, tab-separated)",
                    "fix or remove the line",
                    number,
                ) from None
            if end <= start:
                raise InputError(
                    path, f"region end {end} is not after its start {start}", "fix the line", number
                )
            regions.append((chrom, start, end))
    if not regions:
        raise InputError(path, "no region in the BED", "list the baited control loci, one per line")
    return regions


def write_control_coverage(bam: str | Path, regions: list[Region], out: str | Path) -> float:
    """Depth over each control region (duplicates and secondary reads left out); returns the mean."""
    total_bases = total_depth = 0.0
    with pysam.AlignmentFile(str(bam)) as handle, atomic_write(out) as table:
        table.write(
            "#rname\tstartpos\tendpos\tnumreads\tcovbases\tcoverage\tmeandepth\tmeanbaseq\tmeanmapq\n"
        )
        for chrom, start, end in regions:
            if chrom not in handle.references:
                raise InputError(
                    None,
                    f"control region {chrom}:{start}-{end} is on no contig of the reference",
                    "give control regions on the genome's contigs (same names)",
                )
            counts = np.sum(
                handle.count_coverage(chrom, start, end, quality_threshold=0, read_callback="all"), axis=0
            )
            reads = handle.count(chrom, start, end, read_callback="all")
            depth = float(counts.mean())
            covered = int((counts > 0).sum())
            table.write(
                f"{chrom}\t{start + 1}\t{end}\t{reads}\t{covered}\t{100 * covered / (end - start):.4g}"
                f"\t{depth:.6g}\t30\t60\n"
            )
            total_bases += end - start
            total_depth += depth * (end - start)
    return total_depth / total_bases
