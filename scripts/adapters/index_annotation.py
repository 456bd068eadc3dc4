"""Snakemake adapter: the GTF parsed once and pickled, for every sample's annotation and site views."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reference.genes import write_annotation_cache

with log_to(snakemake.log[0]):
    annotation = write_annotation_cache(snakemake.input.gtf, snakemake.output[0])
    genes = sum(len(index.genes) for index in annotation.genes.values())
    print(f"index_annotation: {genes} genes on {len(annotation.genes)} contigs", file=sys.stderr)
