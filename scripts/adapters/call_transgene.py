"""Snakemake adapter: transgene detection, VCN and construct identity for every vector of one sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.intervals import read_bed
from carvis.core.runlog import log_to
from carvis.reference.mask import read_mask
from carvis.reference.vectors import load_manifest
from carvis.transgene.assay import capture_row
from carvis.transgene.call import TransgeneFiles, TransgeneParams, call_vectors, write_transgene
from carvis.transgene.vector_coverage import feature_coverage, provirus_depth, write_vector_coverage

with log_to(snakemake.log[0]) as log:
    sample = snakemake.wildcards.sample
    manifest = load_manifest(snakemake.input.manifest)
    own = snakemake.params.vector
    models = [manifest[own]] + [m for name, m in manifest.items() if name != own]
    mask = read_mask(snakemake.input.mask)
    footprint = read_bed(snakemake.input.footprint)
    files = TransgeneFiles(snakemake.input.coverage, snakemake.input.depth, snakemake.input.bam)
    params = TransgeneParams(purity=snakemake.params.purity, **snakemake.params.settings)
    rows = call_vectors(sample, models, footprint, mask, files, params)
    if snakemake.params.capture != "":  # capture: VCN over the control regions, or not given (issue 16)
        rows = [capture_row(r, snakemake.params.capture) for r in rows]
    for row in rows:
        log.info("%s", row)
    write_transgene(rows, snakemake.output.transgene)
    coverage = [
        r
        for m in models
        for r in feature_coverage(sample, m, provirus_depth(m, snakemake.input.depth), mask, footprint)
    ]
    write_vector_coverage(coverage, snakemake.output.vector_coverage)
