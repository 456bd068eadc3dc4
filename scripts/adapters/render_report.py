"""Snakemake adapter: the sample's self-contained HTML report."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.io import read_tsv
from carvis.core.runlog import log_to
from carvis.reference.mask import read_mask
from carvis.reference.vectors import load_manifest
from carvis.report.coverage_plot import coverage_svg
from carvis.report.html import ReportInputs, render_sample_report
from carvis.report.provenance import run_metadata
from carvis.report.structure_plot import structure_svg
from carvis.transgene.vector_coverage import homology_masking, provirus_depth

with log_to(snakemake.log[0]):
    sample, settings, purity = snakemake.wildcards.sample, snakemake.params.settings, snakemake.params.purity
    model = load_manifest(snakemake.input.manifest)[settings["vector"]]
    mask = read_mask(snakemake.input.mask)
    figure = coverage_svg(model, provirus_depth(model, snakemake.input.depth), mask)
    if snakemake.input.get("structure"):  # long reads: the structure per site below the coverage
        sites, reads = read_tsv(snakemake.input.structure), read_tsv(snakemake.input.read_structure)
        figure += structure_svg(sites, reads, model) or ""
    inputs = ReportInputs(
        snakemake.input.sites,
        snakemake.input.transgene,
        contigs_fai=snakemake.input.fai,
        coverage_svg=figure,
        masking=homology_masking(model, mask),
        checksums=snakemake.input.inputs_table,
        read_counts=snakemake.input.read_counts,
        census=snakemake.input.census,
        views_html=Path(snakemake.input.views).read_text(encoding="utf-8"),
    )
    render_sample_report(sample, inputs, snakemake.output[0], run_metadata(settings, sample, purity), purity)
