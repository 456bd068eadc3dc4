"""Snakemake adapter: one streaming pass keeping the pairs that touch the vector, plus a depth sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reads.screen import ScreenFiles, ScreenSettings, run_screen

with log_to(snakemake.log[0]):
    i, p = snakemake.input, snakemake.params
    files = ScreenFiles(
        i.binary[0],
        i.pieces,
        i.ends,
        p.fastq_1,
        p.fastq_2,
        p.prefix,
        snakemake.output.stats,
        snakemake.output.inputs,
    )
    settings = ScreenSettings(p.fraction, p.seed, p.max_pairs, p.max_bases)
    run_screen(snakemake.wildcards.sample, files, settings)
