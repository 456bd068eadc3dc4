"""Snakemake adapter: the sample's self-contained HTML report."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.coverage import coverage_svg, homology_masking, provirus_depth
from carvis.mask import read_mask
from carvis.provenance import run_metadata
from carvis.report import render_sample_report
from carvis.runlog import log_to
from carvis.vectors import load_manifest

with log_to(snakemake.log[0]):
    sample, settings, purity = snakemake.wildcards.sample, snakemake.params.settings, snakemake.params.purity
    model = load_manifest(snakemake.input.manifest)[settings["vector"]]
    mask = read_mask(snakemake.input.mask)
    render_sample_report(
        sample,
        snakemake.input.sites,
        snakemake.input.transgene,
        snakemake.output[0],
        run_metadata(settings, sample, purity),
        purity=purity,
        contigs_fai=snakemake.input.fai,
        coverage_svg=coverage_svg(model, provirus_depth(model, snakemake.input.depth), mask),
        masking=homology_masking(model, mask),
        census_tsv=snakemake.input.census,
        # qc tables: inputs once their rules are in the workflow, else params (read when present)
        inputs_tsv=snakemake.input.get("inputs_table", snakemake.params.get("inputs_table")),
        read_counts_tsv=snakemake.input.get("read_counts", snakemake.params.get("read_counts")),
    )
