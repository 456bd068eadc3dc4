"""Snakemake adapter: the unique (non-repeat) bases of the site flanks, the second pass's screen."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.sites.site_reads import mask_site_flanks

with log_to(snakemake.log[0]) as log:
    kept, total = mask_site_flanks(snakemake.input.flanks, snakemake.input.alignments, snakemake.output[0])
    log.info("%d of %d flank bases unique (the rest masked as N)", kept, total)
