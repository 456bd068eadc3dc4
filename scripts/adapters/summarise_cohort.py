"""Snakemake adapter: summary.tsv, one row per sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.report.summary import summarise_sample, write_summary

with log_to(snakemake.log[0]):
    rows = [
        summarise_sample(sample, snakemake.params.purity[sample], transgene, sites)
        for sample, transgene, sites in zip(
            snakemake.params.samples, snakemake.input.transgene, snakemake.input.sites, strict=True
        )
    ]
    write_summary(rows, snakemake.output[0])
