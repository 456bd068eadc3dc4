"""Snakemake adapter: size and SHA-256 of each input file of a sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reads.accounting import write_checksums

with log_to(snakemake.log[0]):
    write_checksums(snakemake.wildcards.sample, snakemake.input, snakemake.output[0])
