"""Snakemake adapter: derive each vector's provirus; write the vector part of the reference."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import pysam

from carvis.core.runlog import log_to
from carvis.reference.build import write_vector_contigs_bed, write_vector_reference
from carvis.reference.vectors import configured_vector, write_manifest

with log_to(snakemake.log[0]) as log:
    models = []
    for name, spec in snakemake.params.vectors.items():
        model = configured_vector(name, spec)
        log.info(
            "%s: %s; provirus %d bp, backbone %d bp",
            name,
            model.derivation,
            len(model.provirus),
            len(model.backbone),
        )
        models.append(model)
    write_vector_reference(models, snakemake.output.fasta, snakemake.output.bases)
    pysam.faidx(snakemake.output.fasta)
    write_manifest(snakemake.output.manifest, models)
    write_vector_contigs_bed(models, snakemake.output.contigs)
