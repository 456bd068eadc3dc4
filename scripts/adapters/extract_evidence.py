"""Snakemake adapter: the evidence table of one sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.intervals import read_bed
from carvis.core.runlog import log_to
from carvis.evidence.extract import extract_evidence
from carvis.reference.vectors import load_manifest

with log_to(snakemake.log[0]) as log:
    qc = extract_evidence(
        snakemake.input.bam,
        load_manifest(snakemake.input.manifest),
        read_bed(snakemake.input.mask),
        snakemake.output.evidence,
        min_mapq=snakemake.params.min_mapq,
        anchor_slop=snakemake.params.anchor_slop,
        min_clip=snakemake.params.min_clip,
        spanning_bam=snakemake.input.get("spanning_bam") or None,
        reference=snakemake.input.fasta,
        model_spanning=snakemake.params.model_spanning,
        qc_tsv=snakemake.output.qc,
    )
    log.info("evidence QC: %s", qc)
