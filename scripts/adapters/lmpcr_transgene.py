"""Snakemake adapter: the transgene row of an LM-PCR sample (detected; VCN not measured, with the reason)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.transgene.assay import write_lmpcr_transgene

with log_to(snakemake.log[0]) as log:
    row = write_lmpcr_transgene(
        snakemake.input.sites, snakemake.wildcards.lmpcr_sample, snakemake.params.vector, snakemake.output[0]
    )
    log.info("detected: %s", row["detected"])
