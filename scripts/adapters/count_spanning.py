"""Snakemake adapter: reference fragments at each candidate site, counted in the spanning pass's BAM."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reference.vectors import load_manifest
from carvis.sites.site_reads import write_spanning_rows

with log_to(snakemake.log[0]) as log:
    n = write_spanning_rows(
        snakemake.input.evidence,
        load_manifest(snakemake.input.manifest),
        snakemake.input.bam,
        snakemake.output[0],
        snakemake.params.min_mapq,
    )
    log.info("%d reference-allele fragment rows", n)
