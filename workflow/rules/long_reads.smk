# Long reads (assay ont or hifi): evidence and sites from chimeric alignments, with the provirus structure
# per read and per site. Screening, alignment (minimap2 preset: align_reads_params), transgene and report
# are the short-read rules; these two replace extract_evidence and call_sites for long-read samples.
# Screened long-read samples always take the short reads' second pass (screen_site_reads: the reads
# sharing k-mers with the candidate sites' flanks, aligned by align_site_reads with the preset), whose
# reads across each site are counted as the reference allele.
rule long_read_fastq:
    input:
        bam=long_read_bam,
    output:
        temp(f"{OUT}/long_reads/{{sample}}.fastq.gz"),
    log:
        f"{LOGS}/long_read_fastq/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/long_read_fastq/{{sample}}.tsv"
    wildcard_constraints:
        sample="|".join(LONG_READ_BAMS) or "NO_SAMPLE",
    conda:
        ENVS / "samtools.yaml"
    params:
        genome=CONFIG["reference"]["genome"],
    shell:
        """
        (samtools fastq -F 0x900 --reference {params.genome:q} {input.bam:q} | gzip -1 >{output:q}.tmp \
            && mv {output:q}.tmp {output:q}) 2>{log:q}
        """


ruleorder: extract_long_read_evidence > extract_evidence
ruleorder: call_long_read_sites > call_sites


rule extract_long_read_evidence:
    input:
        bam=f"{OUT}/align/{{sample}}.bam",
        bai=f"{OUT}/align/{{sample}}.bam.bai",
        manifest=f"{REF}/vectors.json",
        mask=f"{REF}/mask/homology_mask.bed",
        fasta=f"{REF}/combined.fa",
        fai=f"{REF}/combined.fa.fai",
        read_counts=f"{OUT}/qc/{{sample}}.read_counts.tsv",
    output:
        evidence=f"{OUT}/evidence/{{sample}}.evidence.tsv",
        qc=f"{OUT}/evidence/{{sample}}.evidence_qc.tsv",
        reads=f"{OUT}/evidence/{{sample}}.read_structure.tsv",
    log:
        f"{LOGS}/extract_long_read_evidence/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/extract_long_read_evidence/{{sample}}.tsv"
    wildcard_constraints:
        sample="|".join(LONG_READ_SAMPLES) or "NO_SAMPLE",
    conda:
        ENVS / "carvis.yaml"
    params:
        min_mapq=CONFIG["sites"]["min_mapq"],
    script:
        "../../scripts/adapters/extract_long_read_evidence.py"


# Junctions are realigned from the junction reads' bases (bam); reference-allele reads across each site are
# counted in the BAM of long_read_spanning.
rule call_long_read_sites:
    input:
        unpack(long_read_spanning),
        evidence=rules.extract_long_read_evidence.output.evidence,
        reads=rules.extract_long_read_evidence.output.reads,
        manifest=f"{REF}/vectors.json",
        fasta=f"{REF}/combined.fa",
        fai=f"{REF}/combined.fa.fai",
        coverage=f"{OUT}/depth/{{sample}}.coverage.tsv",
        bam=f"{OUT}/align/{{sample}}.bam",
        bai=f"{OUT}/align/{{sample}}.bam.bai",
    output:
        sites=f"{OUT}/calls/{{sample}}.sites.tsv",
        qc=f"{OUT}/calls/{{sample}}.sites_qc.tsv",
        structure=f"{OUT}/calls/{{sample}}.structure.tsv",
    log:
        f"{LOGS}/call_long_read_sites/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/call_long_read_sites/{{sample}}.tsv"
    wildcard_constraints:
        sample="|".join(LONG_READ_SAMPLES) or "NO_SAMPLE",
    conda:
        ENVS / "carvis.yaml"
    params:
        vector=sample_vector,
        purity=sample_purity,
        min_mapq=CONFIG["sites"]["min_mapq"],
        min_fragments=CONFIG["sites"]["min_fragments"],
        clonal_min_fraction=CONFIG["sites"]["clonal_min_fraction"],
    script:
        "../../scripts/adapters/call_long_read_sites.py"
