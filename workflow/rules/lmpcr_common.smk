# LM-PCR runs (issue 16): the sample sets and input functions of workflow/rules/lmpcr.smk.
from carvis.inputs.assays import specimen_runs

LMPCR = [s for s in SAMPLES if SAMPLES[s].assay == "lmpcr"]


wildcard_constraints:
    lmpcr_sample="|".join(LMPCR) or "NO_LMPCR_SAMPLE",


def ltr_end(wildcards):
    return SAMPLES[wildcards.lmpcr_sample].ltr_end


def lmpcr_reads(wildcards):
    return {
        "r1": [f"{OUT}/lmpcr/{wildcards.lmpcr_sample}.host_R1.fastq.gz"],
        "r2": [f"{OUT}/lmpcr/{wildcards.lmpcr_sample}.host_R2.fastq.gz"],
    }


def lmpcr_align_params(wildcards, input, output, threads):
    wildcards.sample = wildcards.lmpcr_sample
    return _align(lmpcr_reads(wildcards), wildcards, input, output, threads)


def specimen_junctions(wildcards):
    runs = specimen_runs(SAMPLES, wildcards.lmpcr_sample)
    return [f"{OUT}/lmpcr/{run}.junctions.tsv" for run in runs]
