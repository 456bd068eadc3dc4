# Alignment stage: the reads that matter (screened, extracted from a BAM/CRAM, or all of them) to one
# sorted, duplicate-marked, indexed BAM against genome + vectors.


rule extract_reads:
    input:
        bam=sample_bam,
        fasta=f"{REF}/combined.fa",
        fai=f"{REF}/combined.fa.fai",
        binary=rules.build_kmer_screen.output,
        pieces=rules.write_screen_reference.output.pieces,
        ends=rules.write_screen_reference.output.ends,
    output:
        r1=temp(f"{OUT}/extract/{{sample}}_R1.fastq.gz"),
        r2=temp(f"{OUT}/extract/{{sample}}_R2.fastq.gz"),
        spill=temp(f"{OUT}/extract/{{sample}}.spill.tsv"),
        depth=temp(f"{OUT}/extract/{{sample}}.depth.sam"),
        counts=f"{OUT}/extract/{{sample}}.primary_reads.txt",
    log:
        f"{LOGS}/extract_reads/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/extract_reads/{{sample}}.tsv"
    conda:
        ENVS / "samtools.yaml"
    threads: CONFIG["threads"]["screen"]
    resources:
        mem_mb=screen_mem_mb,
    params:
        extract=extract_params,
    shell:
        """
        ({params.extract}) 2>{log:q} || {{ grep -h 'error' {log:q} >&2; exit 1; }}
        """


rule align_reads:
    input:
        fastq=aligned_fastqs,
        checked=reads_checked,
        index=aligner_index,
        fasta=f"{REF}/combined.fa",
    output:
        bam=f"{OUT}/align/{{sample}}.bam",
        bai=f"{OUT}/align/{{sample}}.bam.bai",
    log:
        f"{LOGS}/align_reads/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/align_reads/{{sample}}.tsv"
    conda:
        ENVS / "align.yaml"
    threads: CONFIG["threads"]["align"]
    resources:
        mem_mb=align_mem_mb,
    params:
        align=align_reads_params,
        settings=aligner_settings,
    shell:
        """
        ({params.align}) 2>{log:q}
        """


use rule align_reads as align_site_reads with:
    input:
        fastq=site_fastqs,
        index=aligner_index,
        fasta=f"{REF}/combined.fa",
    output:
        bam=f"{OUT}/align/{{sample}}.site_reads.bam",
        bai=f"{OUT}/align/{{sample}}.site_reads.bam.bai",
    log:
        f"{LOGS}/align_site_reads/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/align_site_reads/{{sample}}.tsv"
    params:
        align=align_site_reads_params,


# Every read sent to the aligner must come out as one primary alignment; the evidence stage waits for this.
rule count_reads:
    input:
        unpack(count_inputs),
        bam=f"{OUT}/align/{{sample}}.bam",
    output:
        f"{OUT}/qc/{{sample}}.read_counts.tsv",
    log:
        f"{LOGS}/count_reads/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/count_reads/{{sample}}.tsv"
    conda:
        ENVS / "screen.yaml"
    params:
        align_log=f"{LOGS}/align_reads/{{sample}}.log",
        input_bam=sample_bam,
    script:
        "../../scripts/adapters/count_reads.py"


use rule count_reads as count_site_reads with:
    input:
        inputs=f"{OUT}/screen/{{sample}}.site_reads.input_reads.tsv",
        stats=f"{OUT}/screen/{{sample}}.site_reads.screen.tsv",
        bam=f"{OUT}/align/{{sample}}.site_reads.bam",
    output:
        f"{OUT}/qc/{{sample}}.site_read_counts.tsv",
    log:
        f"{LOGS}/count_site_reads/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/count_site_reads/{{sample}}.tsv"
    params:
        align_log=f"{LOGS}/align_site_reads/{{sample}}.log",
        input_bam=None,
