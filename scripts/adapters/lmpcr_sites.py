"""Snakemake adapter: the sites of an LM-PCR specimen (its runs paired by TSD) with their abundance."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reference.vectors import load_manifest
from carvis.sites.lmpcr import call_lmpcr_sites

with log_to(snakemake.log[0]) as log:
    model = load_manifest(snakemake.input.manifest)[snakemake.params.vector]
    rows = call_lmpcr_sites(
        snakemake.input.junctions,
        snakemake.input.fasta,
        snakemake.wildcards.lmpcr_sample,
        (model.name, model.tsd_length),
        (snakemake.output.sites, snakemake.output.abundance),
        {"specimen": snakemake.params.specimen, "dominant_fraction": snakemake.params.dominant_fraction},
    )
    log.info("%d sites from %d runs", len(rows), len(snakemake.input.junctions))
