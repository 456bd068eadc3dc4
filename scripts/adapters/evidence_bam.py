"""Snakemake adapter: the sample's evidence BAM (reads behind each site, tagged), sorted and indexed."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.report.evidence_bam import write_evidence_bam

with log_to(snakemake.log[0]):
    written = write_evidence_bam(
        snakemake.input.bam,
        snakemake.input.evidence,
        snakemake.input.sites,
        snakemake.output.bam,
        window=snakemake.params.window,
        min_mapq=snakemake.params.min_mapq,
    )
    print(f"evidence_bam: {written} alignments in {snakemake.output.bam}", file=sys.stderr)
