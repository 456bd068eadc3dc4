"""Snakemake adapter: a capture sample's depth over the control regions (it normalises the VCN)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reads.capture import write_control_coverage

with log_to(snakemake.log[0]) as log:
    regions = [tuple(r) for r in snakemake.params.regions]
    depth = write_control_coverage(snakemake.input.bam, regions, snakemake.output[0])
    log.info("mean depth over %d control regions: %.4g", len(regions), depth)
