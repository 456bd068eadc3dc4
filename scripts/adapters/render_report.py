"""Snakemake adapter: the sample's self-contained HTML report."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.provenance import run_metadata
from carvis.report import render_sample_report
from carvis.runlog import log_to

with log_to(snakemake.log[0]):
    sample = snakemake.wildcards.sample
    meta = run_metadata(snakemake.params.config, sample, snakemake.params.vector, snakemake.params.purity)
    render_sample_report(sample, snakemake.input.sites, snakemake.input.transgene, snakemake.output[0], meta)
