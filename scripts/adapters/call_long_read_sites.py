"""Snakemake adapter: integration sites and provirus structure of one long-read sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.io import read_tsv, write_tsv
from carvis.core.runlog import log_to
from carvis.reference.vectors import load_manifest
from carvis.sites.structure import LongReadSites, call_long_read_sites, write_long_read_sites

with log_to(snakemake.log[0]) as log:
    sites, details = call_long_read_sites(
        read_tsv(snakemake.input.evidence),
        read_tsv(snakemake.input.reads),
        load_manifest(snakemake.input.manifest)[snakemake.params.vector],
        snakemake.input.fasta,
        snakemake.wildcards.sample,
        LongReadSites(
            snakemake.input.coverage,
            snakemake.params.purity,
            snakemake.params.min_mapq,
            snakemake.params.min_fragments,
            snakemake.params.clonal_min_fraction,
            snakemake.input.spanning_bam,
            snakemake.input.bam,
        ),
    )
    write_long_read_sites(sites, details, snakemake.output.sites, snakemake.output.structure)
    qc = {"sites_called": len(sites), "sites_clonal": sum(bool(s.clonal) for s in sites)}
    write_tsv(snakemake.output.qc, ("metric", "count"), ({"metric": k, "count": v} for k, v in qc.items()))
    log.info("%d long-read sites called", len(sites))
