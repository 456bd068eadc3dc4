"""Snakemake adapter: read every record of a sample's FASTQs (aligned in full: no screening pass)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reads.screen import check_reads, write_input_reads

with log_to(snakemake.log[0]):
    counts = check_reads(snakemake.input.binary[0], snakemake.params.fastq_1, snakemake.params.fastq_2)
    write_input_reads(snakemake.wildcards.sample, counts, snakemake.output[0])
