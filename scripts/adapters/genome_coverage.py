"""Snakemake adapter: per-contig depth for VCN (aligned BAM, or a depth sample of the screen or of the
extraction from a BAM/CRAM, scaled)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reads import bam_input, screen
from carvis.reads.coverage import write_coverage
from carvis.reference.build import read_called_bases

with log_to(snakemake.log[0]) as log:
    stats, counts = snakemake.input.get("stats"), snakemake.input.get("extract_counts")
    bases = snakemake.input.get("bases")
    scale = screen.depth_scale(stats) if stats else bam_input.depth_scale(counts) if counts else 1.0
    log.info("coverage of %s, sample %s, scale %.4g", snakemake.input.bam, snakemake.params.subsample, scale)
    write_coverage(
        snakemake.input.bam,
        snakemake.output[0],
        reference=snakemake.input.get("fasta"),
        subsample=snakemake.params.subsample,
        scale=scale,
        called_bases=read_called_bases(bases) if bases else None,
    )
