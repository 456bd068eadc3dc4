"""Snakemake adapter: the evidence and per-read provirus structure tables of one long-read sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.intervals import IntervalSet, read_bed
from carvis.core.runlog import log_to
from carvis.evidence.extract import Rules
from carvis.evidence.long_reads import ANCHOR_SLOP, LongReadTables, extract_long_read_evidence
from carvis.reference.vectors import load_manifest

with log_to(snakemake.log[0]) as log:
    mask = read_bed(snakemake.input.mask)
    rules = Rules({c: IntervalSet(ivs) for c, ivs in mask.items()}, snakemake.params.min_mapq, ANCHOR_SLOP)
    evidence, structures = extract_long_read_evidence(
        snakemake.input.bam,
        load_manifest(snakemake.input.manifest),
        rules,
        snakemake.input.fasta,
        LongReadTables(snakemake.output.evidence, snakemake.output.reads, snakemake.output.qc),
    )
    log.info("%d junction rows from %d reads with a vector part", len(evidence), len(structures))
