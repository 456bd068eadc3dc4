"""Snakemake adapter: the read accounting of one aligned sample; stops a sample whose BAM lacks reads."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reads.accounting import AlignedSample, CountSources, count_reads

i = snakemake.input
with log_to(snakemake.log[0]):
    aligned = AlignedSample(
        snakemake.wildcards.sample, snakemake.output[0], i.bam, snakemake.params.align_log
    )
    sources = CountSources(
        inputs_tsv=i.get("inputs"),
        screen_stats=i.get("stats"),
        extract_counts=i.get("extract_counts"),
        input_bam=snakemake.params.input_bam,
        extracted=(i.binary, [i.r1], [i.r2]) if i.get("extract_counts") else None,
    )
    count_reads(aligned, sources)
