"""Snakemake adapter: the clone census of one sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.report.census import write_census

with log_to(snakemake.log[0]) as log:
    row = write_census(
        snakemake.wildcards.sample,
        snakemake.params.purity,
        snakemake.input.transgene,
        snakemake.input.sites,
        snakemake.output[0],
    )
    log.info("%s sites seen, %s estimated", row["sites_observed"], row["sites_estimated"])
