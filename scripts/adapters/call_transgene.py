"""Snakemake adapter: transgene detection and VCN for one sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.intervals import read_bed
from carvis.mask import masked_bp, read_mask
from carvis.runlog import log_to
from carvis.transgene import call_transgene, write_transgene
from carvis.vectors import load_manifest

with log_to(snakemake.log[0]) as log:
    model = load_manifest(snakemake.input.manifest)[snakemake.params.vector]
    row = call_transgene(
        snakemake.wildcards.sample,
        model,
        read_bed(snakemake.input.footprint),
        masked_bp(model, read_mask(snakemake.input.mask)),
        snakemake.input.coverage,
        snakemake.input.depth,
        purity=snakemake.params.purity,
        **snakemake.params.settings,
    )
    log.info("%s", row)
    write_transgene([row], snakemake.output[0])
