# Evidence stage: one row per read or fragment joining vector and genome, plus depth tables.


rule extract_evidence:
    input:
        bam=f"{OUT}/align/{{sample}}.bam",
        bai=f"{OUT}/align/{{sample}}.bam.bai",
        manifest=f"{REF}/vectors.json",
        mask=f"{REF}/mask/homology_mask.bed",
        # reference fragments are counted in the user's full BAM/CRAM (decoded with fasta)
        spanning_bam=sample_bam_or_nothing,
        # host clips placed by bwa aln (config sites.place_clips)
        placed_clips=placed_clips,
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


# Host clips that nothing else places (a vector read ending at a terminus, its mate on the vector), placed
# genome-wide by bwa aln: exhaustive up to two mismatches, so its MAPQ tells a unique placement.
rule host_clip_reads:
    input:
        bam=f"{OUT}/align/{{sample}}.bam",
        bai=f"{OUT}/align/{{sample}}.bam.bai",
        manifest=f"{REF}/vectors.json",
    output:
        f"{OUT}/evidence/{{sample}}.host_clips.fastq.gz",
    log:
        f"{LOGS}/host_clip_reads/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/host_clip_reads/{{sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        anchor_slop=CONFIG["sites"]["anchor_slop"],
        min_clip=CONFIG["sites"]["min_clip"],
        min_bases=CONFIG["sites"]["single_min_host_bases"],
    script:
        "../../scripts/adapters/host_clip_reads.py"


rule place_host_clips:
    input:
        fastq=f"{OUT}/evidence/{{sample}}.host_clips.fastq.gz",
        # the config's index (checked by rule preflight), or rule index_genome_bwa's
        index=multiext(BWA_INDEX, *BWA_INDEX_SUFFIXES),
    output:
        f"{OUT}/evidence/{{sample}}.host_clips.bam",
    log:
        f"{LOGS}/place_host_clips/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/place_host_clips/{{sample}}.tsv"
    conda:
        ENVS / "align.yaml"
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
    params:
        prefix=lambda wildcards, input: input.index[0].removesuffix(
            BWA_INDEX_SUFFIXES[0]
        ),
    shell:
        """
        bwa aln -o 0 {params.prefix:q} {input.fastq:q} >{output:q}.sai 2>{log:q}
        bwa samse {params.prefix:q} {output:q}.sai {input.fastq:q} 2>>{log:q} \
            | samtools view -b -o {output:q}.tmp - 2>>{log:q}
        rm {output:q}.sai
        mv {output:q}.tmp {output:q}
        """


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
