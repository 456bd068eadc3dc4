"""Snakemake adapter: integration sites of one sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reference.vectors import load_manifest
from carvis.sites.call import call_sites

with log_to(snakemake.log[0]) as log:
    settings = dict(snakemake.params.settings)
    for key in ("anchor_slop", "min_clip"):  # used by the evidence stage
        settings.pop(key, None)
    rows = call_sites(
        snakemake.input.evidence,
        load_manifest(snakemake.input.manifest)[snakemake.params.vector],
        snakemake.input.fasta,
        snakemake.wildcards.sample,
        snakemake.output.sites,
        purity=snakemake.params.purity,
        qc_tsv=snakemake.output.qc,
        evidence_qc_tsv=snakemake.input.evidence_qc,
        coverage_tsv=snakemake.input.get("coverage") or None,
        spanning_tsv=snakemake.input.get("spanning") or None,
        **settings,
    )
    log.info("%d sites called", len(rows))
