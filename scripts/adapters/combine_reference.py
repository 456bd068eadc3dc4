"""Snakemake adapter: the combined reference (FASTA, .fai, bases) from its genome and vector parts."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reference.build import combine_reference

with log_to(snakemake.log[0]) as log:
    i, o = snakemake.input, snakemake.output
    combine_reference(
        (i.genome, i.genome_fai, i.genome_bases),
        (i.vectors, i.vectors_fai, i.vector_bases),
        (o.fasta, o.fai, o.bases),
    )
    log.info("%s: genome then vector contigs", o.fasta)
