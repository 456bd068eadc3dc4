"""Snakemake adapter: the evidence table of one sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.intervals import read_bed
from carvis.core.runlog import log_to
from carvis.evidence.extract import EvidenceFiles, EvidenceParams, extract_evidence
from carvis.reference.vectors import load_manifest

with log_to(snakemake.log[0]) as log:
    files = EvidenceFiles(
        bam=snakemake.input.bam,
        out=snakemake.output.evidence,
        reference=snakemake.input.fasta,
        spanning_bam=snakemake.input.get("spanning_bam") or None,
        qc=snakemake.output.qc,
        placed_clips=snakemake.input.get("placed_clips") or None,
    )
    params = EvidenceParams(
        min_mapq=snakemake.params.min_mapq,
        anchor_slop=snakemake.params.anchor_slop,
        min_clip=snakemake.params.min_clip,
        model_spanning=snakemake.params.model_spanning,
    )
    qc = extract_evidence(
        files, load_manifest(snakemake.input.manifest), read_bed(snakemake.input.mask), params
    )
    log.info("evidence QC: %s", qc)
