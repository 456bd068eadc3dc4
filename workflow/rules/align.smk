# Alignment stage: all lanes of a sample to one sorted, duplicate-marked, indexed BAM.


rule align_reads:
    input:
        fastq=lambda wc: SAMPLES[wc.sample].fastq_1 + SAMPLES[wc.sample].fastq_2,
        index=aligner_index,
        fasta=f"{REF}/combined.fa",
    output:
        bam=f"{OUT}/align/{{sample}}.bam",
        bai=f"{OUT}/align/{{sample}}.bam.bai",
    log:
        f"{LOGS}/align_reads/{{sample}}.log",
    benchmark:
        f"{OUT}/benchmarks/align_reads/{{sample}}.tsv"
    conda:
        ENVS / "align.yaml"
    threads: CONFIG["threads"]["align"]
    resources:
        mem_mb=lambda wc, attempt: CONFIG["mem_mb"]["align"] * attempt,
    params:
        align=lambda wc, input, threads: align_command(
            CONFIG["aligner"],
            input.fasta if CONFIG["aligner"] == "bwa" else input.index,
            SAMPLES[wc.sample].fastq_1,
            SAMPLES[wc.sample].fastq_2,
            wc.sample,
            threads,
            CONFIG["align_extra"],
        ),
    shell:
        """
        ({params.align} \
            | samtools fixmate -m -u - - \
            | samtools sort -u -@ {threads} -T {output.bam:q}.tmp -o - - \
            | samtools markdup -s - {output.bam:q} \
            && samtools index {output.bam:q}) 2>{log:q}
        """
