"""Snakemake adapter: the combined minimap2 index, the vector index appended to the genome's."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reference.mmi import append_index

with log_to(snakemake.log[0]) as log:
    append_index(snakemake.input.genome, snakemake.input.vectors, snakemake.output[0])
    log.info("%s + %s -> %s", snakemake.input.genome, snakemake.input.vectors, snakemake.output[0])
