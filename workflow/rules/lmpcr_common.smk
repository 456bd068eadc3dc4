# LM-PCR runs (issue 16): the sample sets and input functions of workflow/rules/lmpcr.smk.
from carvis.inputs.assays import specimen_runs

LMPCR = [s for s in SAMPLES if SAMPLES[s].assay == "lmpcr"]


wildcard_constraints:
    lmpcr_sample="|".join(LMPCR) or "NO_LMPCR_SAMPLE",


def ltr_end(wildcards):
    return SAMPLES[wildcards.lmpcr_sample].ltr_end


def lmpcr_fastq_1(wildcards):
    return SAMPLES[wildcards.lmpcr_sample].fastq_1


def lmpcr_fastq_2(wildcards):
    return SAMPLES[wildcards.lmpcr_sample].fastq_2


def lmpcr_r1_names(wildcards):
    """The run's R1 FASTQs as one comma-separated cell (the read accounting's file column)."""
    return ",".join(map(str, lmpcr_fastq_1(wildcards)))


def lmpcr_vector(wildcards):
    return SAMPLES[wildcards.lmpcr_sample].vector


def lmpcr_specimen(wildcards):
    """The run's specimen (the sheet's specimen column; the run itself when empty)."""
    return SAMPLES[wildcards.lmpcr_sample].specimen or wildcards.lmpcr_sample


def specimen_ltr_ends(wildcards):
    """Run -> LTR end, for every run of the run's specimen."""
    runs = specimen_runs(SAMPLES, wildcards.lmpcr_sample)
    return {r: SAMPLES[r].ltr_end for r in runs}


def lmpcr_reads(wildcards):
    return {
        "r1": [f"{OUT}/lmpcr/{wildcards.lmpcr_sample}.host_R1.fastq.gz"],
        "r2": [f"{OUT}/lmpcr/{wildcards.lmpcr_sample}.host_R2.fastq.gz"],
    }


def lmpcr_fastqs(wildcards):
    reads = lmpcr_reads(wildcards)
    return reads["r1"] + reads["r2"]


def lmpcr_align_params(wildcards, input, output, threads):
    wildcards.sample = wildcards.lmpcr_sample
    return _align(lmpcr_reads(wildcards), wildcards, input, output, threads)


def specimen_junctions(wildcards):
    runs = specimen_runs(SAMPLES, wildcards.lmpcr_sample)
    return [f"{OUT}/lmpcr/{run}.junctions.tsv" for run in runs]
