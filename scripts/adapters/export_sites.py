"""Snakemake adapter: the sample's sites as VCF (BND, bgzipped + tabix) and BED for IGV."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.core.runlog import log_to
from carvis.report.export import write_bed, write_vcf

with log_to(snakemake.log[0]):
    sample = snakemake.wildcards.sample
    write_vcf(sample, snakemake.input.sites, snakemake.input.fasta, snakemake.input.fai, snakemake.output.vcf)
    write_bed(sample, snakemake.input.sites, snakemake.output.bed)
