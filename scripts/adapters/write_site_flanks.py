"""Snakemake adapter: host bases around a screened sample's candidate sites, and their tiles."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reference.vectors import load_manifest
from carvis.sites.site_reads import write_site_flanks

with log_to(snakemake.log[0]) as log:
    n = write_site_flanks(
        snakemake.input.evidence,
        load_manifest(snakemake.input.manifest),
        snakemake.input.fasta,
        snakemake.output.flanks,
        snakemake.output.tiles,
    )
    log.info("%d host regions around candidate sites", n)
