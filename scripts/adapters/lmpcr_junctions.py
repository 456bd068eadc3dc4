"""Snakemake adapter: one LM-PCR run's junctions and estimated cells, and its read accounting."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.sites.lmpcr import write_junctions, write_read_counts

with log_to(snakemake.log[0]) as log:
    settings = {k: snakemake.params.settings[k] for k in ("min_mapq", "wobble")}
    qc = write_junctions(snakemake.input.bam, snakemake.params.ltr_end, snakemake.output.junctions, settings)
    write_read_counts(snakemake.input.stats, qc, snakemake.params.r1, snakemake.output.counts)
    log.info("junction reads: %s", qc)
