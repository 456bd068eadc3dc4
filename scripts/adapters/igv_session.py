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
    # <outdir>/<sample>/igv_session.xml: files under <outdir> are written relative to the session
    session = Path(snakemake.output[0])
    write_session(session, snakemake.input.fasta, tracks, locus, session.parent.parent)
