"""Snakemake adapter: the FASTQ of one sample's host clips for bwa aln."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.evidence.extract import EvidenceParams
from carvis.evidence.placed_clips import write_clip_fastq
from carvis.reference.vectors import load_manifest

with log_to(snakemake.log[0]) as log:
    params = EvidenceParams(anchor_slop=snakemake.params.anchor_slop, min_clip=snakemake.params.min_clip)
    rules = params.rules({})
    n = write_clip_fastq(
        snakemake.input.bam,
        load_manifest(snakemake.input.manifest),
        rules,
        snakemake.params.min_bases,
        snakemake.output[0],
    )
    log.info("%d host clips of at least %d bases written", n, snakemake.params.min_bases)
