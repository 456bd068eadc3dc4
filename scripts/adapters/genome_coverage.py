"""Snakemake adapter: per-contig depth for VCN (input BAM/CRAM, aligned BAM, or scaled depth sample)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reads.coverage import write_coverage
from carvis.reads.screen import depth_scale
from carvis.reference.build import read_called_bases

with log_to(snakemake.log[0]) as log:
    stats, bases = snakemake.input.get("stats"), snakemake.input.get("bases")
    scale = depth_scale(stats) if stats else 1.0
    log.info("coverage of %s, sample %s, scale %.4g", snakemake.input.bam, snakemake.params.subsample, scale)
    write_coverage(
        snakemake.input.bam,
        snakemake.output[0],
        reference=snakemake.input.get("fasta"),
        subsample=snakemake.params.subsample,
        scale=scale,
        called_bases=read_called_bases(bases) if bases else None,
    )
