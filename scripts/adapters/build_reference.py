"""Snakemake adapter: derive each vector's provirus and build the combined reference."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.reference.build import build_combined_reference, write_vector_contigs_bed
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
    build_combined_reference(snakemake.input.genome, models, snakemake.output.fasta, snakemake.output.bases)
    write_manifest(snakemake.output.manifest, models)
    write_vector_contigs_bed(models, snakemake.output.contigs)
