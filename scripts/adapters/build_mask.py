"""Snakemake adapter: homology mask and vector-unique footprint from the tile alignments."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reference.mask import build_mask
from carvis.reference.vectors import load_manifest

with log_to(snakemake.log[0]):
    build_mask(
        snakemake.input.alignments,
        load_manifest(snakemake.input.manifest).values(),
        snakemake.output.mask,
        snakemake.output.footprint,
    )
