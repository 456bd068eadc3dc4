"""Snakemake adapter: one streaming pass keeping the pairs that touch the vector, plus a depth sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reads.screen import run_screen

with log_to(snakemake.log[0]):
    run_screen(
        snakemake.wildcards.sample,
        snakemake.input.binary[0],
        snakemake.input.pieces,
        snakemake.input.ends,
        snakemake.params.fastq_1,
        snakemake.params.fastq_2,
        snakemake.params.prefix,
        snakemake.output.stats,
        fraction=snakemake.params.fraction,
        seed=snakemake.params.seed,
        inputs_tsv=snakemake.output.inputs,
        max_pairs=snakemake.params.max_pairs,
    )
