"""Snakemake adapter: the run's MultiQC custom-content table (multiqc/carvis_mqc.tsv)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.report.multiqc import write_multiqc_table

with log_to(snakemake.log[0]):
    inputs = snakemake.input
    write_multiqc_table(inputs.summary, inputs.transgene, inputs.read_counts, snakemake.output[0])
