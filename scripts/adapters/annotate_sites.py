"""Snakemake adapter: genes, regions and cancer-gene proximity of every site."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.sites.annotate import annotate_sites

with log_to(snakemake.log[0]):
    annotate_sites(
        snakemake.input.sites, snakemake.input.annotation, snakemake.input.gene_lists, snakemake.output[0]
    )
