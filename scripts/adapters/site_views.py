"""Snakemake adapter: the report's per-site igv.js views (an HTML fragment with igv.js and the data)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.report.igv_page import ViewSources, write_site_views

with log_to(snakemake.log[0]):
    igv_js = Path(snakemake.params.igv_js)
    if not igv_js.is_file():
        print(
            f"site_views: {igv_js} is missing (bash scripts/setup.sh installs igv.js); no views",
            file=sys.stderr,
        )
    inputs = snakemake.input
    sources = ViewSources(inputs.bam, inputs.fasta, inputs.annotation, igv_js)
    views = write_site_views(inputs.sites, sources, snakemake.output[0])
    print(f"site_views: {views} view(s)", file=sys.stderr)
