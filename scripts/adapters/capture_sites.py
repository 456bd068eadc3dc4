"""Snakemake adapter: a capture sample's sites with the clonal fractions its baits support."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.sites.capture import FLAG, capture_sites

with log_to(snakemake.log[0]) as log:
    rows = capture_sites(snakemake.input[0], [tuple(r) for r in snakemake.params.baited], snakemake.output[0])
    relative = sum(FLAG in r["flags"] for r in rows)
    log.info(
        "%d sites, %d with relative abundance as clonal fraction (flanks not baited)", len(rows), relative
    )
