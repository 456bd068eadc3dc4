"""Snakemake adapter: the screening reference (vector contigs without their masked parts)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reads.screen import write_screen_reference
from carvis.reference.mask import read_mask
from carvis.reference.vectors import load_manifest

with log_to(snakemake.log[0]) as log:
    bases = write_screen_reference(
        load_manifest(snakemake.input.manifest).values(),
        read_mask(snakemake.input.mask),
        snakemake.output.pieces,
        snakemake.output.ends,
    )
    log.info("screening reference: %d vector bases outside the homology mask", bases)
