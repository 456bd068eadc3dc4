"""Snakemake adapter: integration sites of one sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reference.vectors import load_manifest
from carvis.sites.call import SiteFiles, SitesParams, call_sites

with log_to(snakemake.log[0]) as log:
    files = SiteFiles(
        evidence=snakemake.input.evidence,
        genome=snakemake.input.fasta,
        out=snakemake.output.sites,
        qc=snakemake.output.qc,
        evidence_qc=snakemake.input.evidence_qc,
        coverage=snakemake.input.get("coverage") or None,
        spanning=snakemake.input.get("spanning") or None,
    )
    params = SitesParams.from_config(snakemake.params.settings, snakemake.params.purity)
    model = load_manifest(snakemake.input.manifest)[snakemake.params.vector]
    rows = call_sites(files, model, snakemake.wildcards.sample, params)
    log.info("%d sites called", len(rows))
