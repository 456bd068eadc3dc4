# Screening stage: one streaming pass over each sample's FASTQs keeps the pairs touching the vector
# (outside its host-homologous parts) plus a depth sample; only those are aligned.
from carvis.reads.screen import (
    COMPILE as KMER_SCREEN_COMPILE,
    SOURCE as KMER_SCREEN_SOURCE,
)


rule build_kmer_screen:
    input:
        KMER_SCREEN_SOURCE,
    output:
        f"{OUT}/bin/kmer_screen",
    log:
        f"{LOGS}/build_kmer_screen.log",
    benchmark:
        f"{BENCHMARKS}/build_kmer_screen.tsv"
    conda:
        ENVS / "screen.yaml"
    params:
        compile=KMER_SCREEN_COMPILE,
    shell:
        """
        sh -c {params.compile:q} sh {output:q} {input:q} 2>{log:q}
        """


rule write_screen_reference:
    input:
        manifest=f"{REF}/vectors.json",
        mask=f"{REF}/mask/homology_mask.bed",
    output:
        pieces=f"{REF}/screen/vector_pieces.fa",
        ends=f"{REF}/screen/vector_ends.fa",
    log:
        f"{REF_LOGS}/write_screen_reference.log",
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/write_screen_reference.py"


rule screen_reads:
    input:
        fastq=sample_fastqs,
        binary=rules.build_kmer_screen.output,
        pieces=rules.write_screen_reference.output.pieces,
        ends=rules.write_screen_reference.output.ends,
    output:
        r1=temp(f"{OUT}/screen/{{sample}}_R1.fastq"),
        r2=temp(f"{OUT}/screen/{{sample}}_R2.fastq"),
        stats=f"{OUT}/screen/{{sample}}.screen.tsv",
        inputs=f"{OUT}/screen/{{sample}}.input_reads.tsv",
    log:
        f"{LOGS}/screen_reads/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/screen_reads/{{sample}}.tsv"
    conda:
        ENVS / "screen.yaml"
    threads: CONFIG["threads"]["screen"]
    resources:
        mem_mb=screen_mem_mb,
    params:
        fastq_1=sample_fastq_1,
        fastq_2=sample_fastq_2,
        prefix=f"{OUT}/screen/{{sample}}",
        fraction=CONFIG["screen"]["depth_sample_fraction"],
        max_pairs=CONFIG["screen"]["depth_sample_max_pairs"],
        max_bases=depth_sample_max_bases,
        seed=CONFIG["screen"]["seed"],
    script:
        "../../scripts/adapters/screen_reads.py"


# Samples aligned in full (screen: enabled: false) are read through once before alignment: a damaged
# FASTQ stops them with a clear message instead of a BAM made from part of the reads.
rule check_reads:
    input:
        fastq=sample_fastqs,
        binary=rules.build_kmer_screen.output,
    output:
        f"{OUT}/check/{{sample}}.input_reads.tsv",
    log:
        f"{LOGS}/check_reads/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/check_reads/{{sample}}.tsv"
    conda:
        ENVS / "screen.yaml"
    threads: CONFIG["threads"]["screen"]
    params:
        fastq_1=sample_fastq_1,
        fastq_2=sample_fastq_2,
    script:
        "../../scripts/adapters/check_reads.py"


# What each input file was when the sample ran: size and SHA-256.
rule checksum_inputs:
    input:
        sample_files,
    output:
        f"{OUT}/qc/{{sample}}.inputs.tsv",
    log:
        f"{LOGS}/checksum_inputs/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/checksum_inputs/{{sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/checksum_inputs.py"


# screen: count_spanning: a second pass keeps the pairs near each candidate site (reference fragments).
rule write_site_flanks:
    input:
        evidence=f"{OUT}/evidence/{{sample}}.evidence.tsv",
        manifest=f"{REF}/vectors.json",
        fasta=f"{REF}/combined.fa",
        fai=f"{REF}/combined.fa.fai",
    output:
        flanks=f"{OUT}/screen/{{sample}}.site_flanks_all.fa",
        tiles=f"{OUT}/screen/{{sample}}.site_tiles.fa",
    log:
        f"{LOGS}/write_site_flanks/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/write_site_flanks/{{sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/write_site_flanks.py"


use rule align_tiles as align_site_tiles with:
    input:
        tiles=rules.write_site_flanks.output.tiles,
        index=f"{REF}/combined.mmi",
    output:
        f"{OUT}/screen/{{sample}}.site_tiles.sam",
    log:
        f"{LOGS}/align_site_tiles/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/align_site_tiles/{{sample}}.tsv"
    params:
        args="-ax sr",


rule mask_site_flanks:
    input:
        flanks=rules.write_site_flanks.output.flanks,
        alignments=rules.align_site_tiles.output[0],
    output:
        f"{OUT}/screen/{{sample}}.site_flanks.fa",
    log:
        f"{LOGS}/mask_site_flanks/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/mask_site_flanks/{{sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/mask_site_flanks.py"


use rule screen_reads as screen_site_reads with:
    input:
        fastq=sample_fastqs,
        binary=rules.build_kmer_screen.output,
        pieces=rules.mask_site_flanks.output[0],
        ends=rules.write_screen_reference.output.ends,
    output:
        r1=temp(f"{OUT}/screen/{{sample}}.site_reads_R1.fastq"),
        r2=temp(f"{OUT}/screen/{{sample}}.site_reads_R2.fastq"),
        stats=f"{OUT}/screen/{{sample}}.site_reads.screen.tsv",
        inputs=f"{OUT}/screen/{{sample}}.site_reads.input_reads.tsv",
    log:
        f"{LOGS}/screen_site_reads/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/screen_site_reads/{{sample}}.tsv"
    params:
        fastq_1=sample_fastq_1,
        fastq_2=sample_fastq_2,
        prefix=f"{OUT}/screen/{{sample}}.site_reads",
        fraction=0.0,
        seed=CONFIG["screen"]["seed"],
