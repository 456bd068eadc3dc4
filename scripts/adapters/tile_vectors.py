"""Snakemake adapter: overlapping tiles of every vector contig, to find genome homology."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reference.mask import write_vector_tiles
from carvis.reference.vectors import load_manifest

with log_to(snakemake.log[0]) as log:
    n = write_vector_tiles(load_manifest(snakemake.input.manifest).values(), snakemake.output[0])
    log.info("%d tiles written", n)
