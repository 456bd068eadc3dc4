# Evidence stage: one row per read or fragment joining vector and genome, plus depth tables.


rule extract_evidence:
    input:
        bam=f"{OUT}/align/{{sample}}.bam",
        bai=f"{OUT}/align/{{sample}}.bam.bai",
        manifest=f"{REF}/vectors.json",
        mask=f"{REF}/mask/homology_mask.bed",
        # reference fragments are counted in the user's full BAM/CRAM (decoded with fasta)
        spanning_bam=sample_bam_or_nothing,
        fasta=f"{REF}/combined.fa",
        fai=f"{REF}/combined.fa.fai",
        # a sample whose BAM lacks reads sent to the aligner stops here (count_reads)
        read_counts=f"{OUT}/qc/{{sample}}.read_counts.tsv",
    output:
        evidence=f"{OUT}/evidence/{{sample}}.evidence.tsv",
        qc=f"{OUT}/evidence/{{sample}}.evidence_qc.tsv",
    log:
        f"{LOGS}/extract_evidence/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/extract_evidence/{{sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        min_mapq=CONFIG["sites"]["min_mapq"],
        anchor_slop=CONFIG["sites"]["anchor_slop"],
        min_clip=CONFIG["sites"]["min_clip"],
        # screened FASTQs (those with a depth sample) lack reference fragments: modelled
        model_spanning=screened,
    script:
        "../../scripts/adapters/extract_evidence.py"


rule count_spanning:
    input:
        evidence=f"{OUT}/evidence/{{sample}}.evidence.tsv",
        manifest=f"{REF}/vectors.json",
        bam=f"{OUT}/align/{{sample}}.site_reads.bam",
        bai=f"{OUT}/align/{{sample}}.site_reads.bam.bai",
        read_counts=f"{OUT}/qc/{{sample}}.site_read_counts.tsv",
    output:
        f"{OUT}/evidence/{{sample}}.spanning.tsv",
    log:
        f"{LOGS}/count_spanning/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/count_spanning/{{sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        min_mapq=CONFIG["sites"]["min_mapq"],
    script:
        "../../scripts/adapters/count_spanning.py"


rule vector_depth:
    input:
        bam=f"{OUT}/align/{{sample}}.bam",
        bai=f"{OUT}/align/{{sample}}.bam.bai",
        contigs=f"{REF}/vector_contigs.bed",
    output:
        f"{OUT}/depth/{{sample}}.vector_depth.tsv",
    log:
        f"{LOGS}/vector_depth/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/vector_depth/{{sample}}.tsv"
    conda:
        ENVS / "samtools.yaml"
    # One indexed region query per vector contig: -b would walk every genome position (15 s at 3.1 Gb).
    shell:
        """
        while read -r contig start end; do
            samtools depth -a -Q 0 -r "$contig" {input.bam:q} || exit 1
        done <{input.contigs:q} >{output:q}.tmp 2>{log:q}
        mv {output:q}.tmp {output:q}
        """


rule genome_coverage:
    input:
        unpack(coverage_inputs),
    output:
        f"{OUT}/depth/{{sample}}.coverage.tsv",
    log:
        f"{LOGS}/genome_coverage/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/genome_coverage/{{sample}}.tsv"
    conda:
        ENVS / "screen.yaml"
    params:
        subsample=coverage_subsample,
    script:
        "../../scripts/adapters/genome_coverage.py"
