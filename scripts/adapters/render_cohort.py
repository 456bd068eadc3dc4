"""Snakemake adapter: cohort_sites.tsv and cohort.html (common integration sites, recurrent genes)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.report.cohort import render_cohort

with log_to(snakemake.log[0]):
    render_cohort(
        snakemake.input.summary,
        snakemake.params.samples,
        snakemake.input.sites,
        snakemake.input.fai,
        snakemake.output.tsv,
        snakemake.output.html,
    )
