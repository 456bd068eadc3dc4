"""Snakemake adapter: the genome part of the reference (contigs checked, upper case, 60-base lines)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reference.build import build_combined_reference

with log_to(snakemake.log[0]) as log:
    build_combined_reference(snakemake.input.genome, [], snakemake.output.fasta, snakemake.output.bases)
    log.info("genome written to %s", snakemake.output.fasta)
