"""Snakemake adapter: trim one LM-PCR run (primer, exact LTR end, linker; UMI kept in the read name)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reads.lmpcr import end_oligos, layout_from_config, trim_run
from carvis.reference.vectors import load_manifest

with log_to(snakemake.log[0]) as log:
    layout = layout_from_config(snakemake.params.layout)
    vector = load_manifest(snakemake.input.manifest)[snakemake.params.vector]
    oligos = end_oligos(layout, vector, snakemake.params.ltr_end)
    log.info("layout %s; %s LTR primer %s, LTR end %s", layout.name, snakemake.params.ltr_end, *oligos)
    out = (snakemake.output.r1, snakemake.output.r2, snakemake.output.stats)
    counts = trim_run(layout, oligos, (snakemake.input.r1, snakemake.input.r2), out)
    log.info("read pairs by outcome: %s", counts)
