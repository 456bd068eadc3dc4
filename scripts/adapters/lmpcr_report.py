"""Snakemake adapter: the report of an LM-PCR sample (abundance in place of VCN and clonal fraction)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.report.lmpcr import render_lmpcr_report

with log_to(snakemake.log[0]):
    meta = {
        "layout preset": snakemake.params.layout,
        "specimen": snakemake.params.specimen,
        "runs (LTR end)": dict(snakemake.params.runs),
    }
    tables = {k: snakemake.input[k] for k in ("sites", "abundance", "transgene", "read_counts", "fai")}
    render_lmpcr_report(snakemake.wildcards.lmpcr_sample, tables, snakemake.output[0], meta)
