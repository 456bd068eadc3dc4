"""Long-read alignment: minimap2 with the assay's preset (the command only; the rules and the benchmark
run it).

``ont`` reads use ``map-ont``, ``hifi`` reads ``map-hifi`` (minimap2 2.24 from Debian; ``lr:hq`` needs
2.27 or later). Every preset gets :data:`LONG_JOIN`: chaining and long-join bandwidth 500 bp, so that an
insert of more than 500 bp (a provirus) is never a long CIGAR insertion inside one host alignment but an
alignment of its own (primary + supplementary, soft-clipped with ``-Y``), which the evidence stage reads.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

from carvis.inputs.assays import LONG_READ_ASSAYS
from carvis.reads.align import reads_argument

#: Long-read assays and their minimap2 presets.
PRESETS = {"ont": "map-ont", "hifi": "map-hifi"}
#: Added to every preset (see the module docstring). ``-p 0.5`` keeps the provirus part of a read whose
#: host flank alignment was extended into it and cut by z-drop (without it minimap2 2.24 dropped the
#: provirus part of 1 in 20 simulated HiFi reads as a secondary chain and reported none); secondary
#: alignments are not written.
LONG_JOIN = "-r 500,500 -p 0.5 --secondary=no"


def long_read_options(assay: str) -> str:
    """The minimap2 options of one long-read assay (what the report records as the preset)."""
    if assay not in PRESETS:
        raise ValueError(f"unknown long-read assay {assay!r}; use one of {LONG_READ_ASSAYS}")
    return f"-ax {PRESETS[assay]} -Y {LONG_JOIN}"


def long_read_command(
    assay: str,
    reference: str | Path,
    fastqs: Sequence[Path | str],
    sample: str,
    threads: int,
    bam: str | Path,
) -> str:
    """minimap2 | samtools sort, then the index: one sorted BAM of single long reads (no mates to fix,
    no duplicates to mark: a long read is its own fragment)."""
    read_group = shlex.quote(f"@RG\\tID:{sample}\\tSM:{sample}")
    out = shlex.quote(str(bam))
    align = (
        f"minimap2 {long_read_options(assay)} -t {threads} -R {read_group} "
        f"{shlex.quote(str(reference))} {reads_argument(fastqs)}"
    )
    return f"{align} | samtools sort -@ {threads} -T {out}.tmp -o {out} - && samtools index {out}"


def minimap2_version() -> str:
    """``minimap2 --version`` (what the report records), or ``unknown``."""
    try:
        result = subprocess.run(["minimap2", "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return "unknown"
    return result.stdout.strip() or "unknown"
