"""Snakemake adapter: the sample's self-contained HTML report."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.coverage import coverage_svg, provirus_depth
from carvis.mask import read_mask
from carvis.provenance import run_metadata
from carvis.report import render_sample_report
from carvis.runlog import log_to
from carvis.vectors import load_manifest

with log_to(snakemake.log[0]):
    sample = snakemake.wildcards.sample
    meta = run_metadata(snakemake.params.config, sample, snakemake.params.vector, snakemake.params.purity)
    model = load_manifest(snakemake.input.manifest)[snakemake.params.vector]
    svg = coverage_svg(model, provirus_depth(model, snakemake.input.depth), read_mask(snakemake.input.mask))
    render_sample_report(
        sample,
        snakemake.input.sites,
        snakemake.input.transgene,
        snakemake.output[0],
        meta,
        contigs_fai=snakemake.input.fai,
        coverage_svg=svg,
    )
