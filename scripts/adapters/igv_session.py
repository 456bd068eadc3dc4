"""Snakemake adapter: the sample's IGV desktop session (genome, evidence BAM, VCF, BED, annotation)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.io import read_tsv
from carvis.core.runlog import log_to
from carvis.report.igv import session_locus, write_session

with log_to(snakemake.log[0]):
    tracks = [snakemake.input.gtf, snakemake.input.bed, snakemake.input.vcf, snakemake.input.bam]
    locus = session_locus(read_tsv(snakemake.input.sites))
    write_session(snakemake.output[0], snakemake.input.fasta, tracks, locus, snakemake.params.outdir)
