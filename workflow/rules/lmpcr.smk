# LM-PCR runs (sample sheet assay: lmpcr; issue 16): trim primer, LTR end and linker, align the host
# parts, call junctions with their abundance, pair the runs of a specimen. From the sites table on, the
# usual annotation, VCF/BED and cohort rules apply; the report shows abundance in place of VCN.
ruleorder: lmpcr_junctions > count_reads
ruleorder: lmpcr_sites > call_sites
ruleorder: lmpcr_transgene > call_transgene
ruleorder: lmpcr_report > render_report


rule lmpcr_trim:
    input:
        r1=lmpcr_fastq_1,
        r2=lmpcr_fastq_2,
        manifest=f"{REF}/vectors.json",
    output:
        r1=temp(f"{OUT}/lmpcr/{{lmpcr_sample}}.host_R1.fastq.gz"),
        r2=temp(f"{OUT}/lmpcr/{{lmpcr_sample}}.host_R2.fastq.gz"),
        stats=f"{OUT}/lmpcr/{{lmpcr_sample}}.trim.tsv",
    log:
        f"{LOGS}/lmpcr_trim/{{lmpcr_sample}}.log",
    benchmark:
        f"{BENCHMARKS}/lmpcr_trim/{{lmpcr_sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        layout=CONFIG["lmpcr"],
        vector=lmpcr_vector,
        ltr_end=ltr_end,
    script:
        "../../scripts/adapters/lmpcr_trim.py"


rule lmpcr_align:
    input:
        fastq=lmpcr_fastqs,
        index=aligner_index,
        fasta=f"{REF}/combined.fa",
    output:
        bam=f"{OUT}/lmpcr/{{lmpcr_sample}}.bam",
        bai=f"{OUT}/lmpcr/{{lmpcr_sample}}.bam.bai",
    log:
        f"{LOGS}/lmpcr_align/{{lmpcr_sample}}.log",
    benchmark:
        f"{BENCHMARKS}/lmpcr_align/{{lmpcr_sample}}.tsv"
    conda:
        ENVS / "align.yaml"
    threads: CONFIG["threads"]["align"]
    resources:
        mem_mb=align_mem_mb,
    params:
        align=lmpcr_align_params,
        settings=aligner_settings,
    shell:
        """
        ({params.align}) 2>{log:q}
        """


rule lmpcr_junctions:
    input:
        bam=f"{OUT}/lmpcr/{{lmpcr_sample}}.bam",
        bai=f"{OUT}/lmpcr/{{lmpcr_sample}}.bam.bai",
        stats=f"{OUT}/lmpcr/{{lmpcr_sample}}.trim.tsv",
    output:
        junctions=f"{OUT}/lmpcr/{{lmpcr_sample}}.junctions.tsv",
        counts=f"{OUT}/qc/{{lmpcr_sample}}.read_counts.tsv",
    log:
        f"{LOGS}/lmpcr_junctions/{{lmpcr_sample}}.log",
    benchmark:
        f"{BENCHMARKS}/lmpcr_junctions/{{lmpcr_sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        ltr_end=ltr_end,
        settings=CONFIG["lmpcr"],
        r1=lmpcr_r1_names,
    script:
        "../../scripts/adapters/lmpcr_junctions.py"


rule lmpcr_sites:
    input:
        junctions=specimen_junctions,
        manifest=f"{REF}/vectors.json",
        fasta=f"{REF}/combined.fa",
        fai=f"{REF}/combined.fa.fai",
    output:
        sites=f"{OUT}/calls/{{lmpcr_sample}}.sites.tsv",
        abundance=f"{OUT}/calls/{{lmpcr_sample}}.abundance.tsv",
    log:
        f"{LOGS}/lmpcr_sites/{{lmpcr_sample}}.log",
    benchmark:
        f"{BENCHMARKS}/lmpcr_sites/{{lmpcr_sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        vector=lmpcr_vector,
        specimen=lmpcr_specimen,
        dominant_fraction=CONFIG["sites"]["dominant_fraction"],
    script:
        "../../scripts/adapters/lmpcr_sites.py"


rule lmpcr_transgene:
    input:
        sites=f"{OUT}/calls/{{lmpcr_sample}}.sites.tsv",
    output:
        f"{OUT}/{{lmpcr_sample}}/transgene.tsv",
    log:
        f"{LOGS}/lmpcr_transgene/{{lmpcr_sample}}.log",
    conda:
        ENVS / "carvis.yaml"
    params:
        vector=lmpcr_vector,
    script:
        "../../scripts/adapters/lmpcr_transgene.py"


rule lmpcr_report:
    input:
        sites=f"{OUT}/{{lmpcr_sample}}/integration_sites.tsv",
        abundance=f"{OUT}/calls/{{lmpcr_sample}}.abundance.tsv",
        transgene=f"{OUT}/{{lmpcr_sample}}/transgene.tsv",
        read_counts=f"{OUT}/qc/{{lmpcr_sample}}.read_counts.tsv",
        inputs_table=f"{OUT}/qc/{{lmpcr_sample}}.inputs.tsv",
        fai=f"{REF}/combined.fa.fai",
    output:
        f"{OUT}/{{lmpcr_sample}}/report.html",
    log:
        f"{LOGS}/lmpcr_report/{{lmpcr_sample}}.log",
    conda:
        ENVS / "carvis.yaml"
    params:
        layout=CONFIG["lmpcr"]["preset"],
        specimen=lmpcr_specimen,
        runs=specimen_ltr_ends,
    script:
        "../../scripts/adapters/lmpcr_report.py"
