"""Snakemake adapter: check the genome, the GTF and the gene lists once, before any alignment; pickle the
parsed GTF for the sample jobs."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reference.genes import write_annotation_cache
from carvis.reference.preflight import check_reference, write_report

with log_to(snakemake.log[0]) as log:
    report, annotation = check_reference(snakemake.params.reference, snakemake.input.gene_lists)
    for warning in report.warnings:
        log.warning("%s", warning)
        print(f"carvis: warning: {warning}", file=sys.stderr)
    for figure, value in report.figures():
        log.info("%s: %s", figure, value)
    write_report(snakemake.output.report, report)
    write_annotation_cache(annotation, snakemake.output.annotation)
