# Evidence views (issue 18): the evidence BAM, the IGV session, the report's per-site igv.js views and
# the run's MultiQC table. They read the evidence and sites tables; they decide nothing.

# igv.js from npm (resources/igvjs/package-lock.json), installed by scripts/setup.sh; without it the
# report says that its views are missing.
IGV_JS = (
    Path(workflow.basedir)
    / "resources"
    / "igvjs"
    / "node_modules"
    / "igv"
    / "dist"
    / "igv.min.js"
)


rule evidence_bam:
    input:
        bam=f"{OUT}/align/{{sample}}.bam",
        bai=f"{OUT}/align/{{sample}}.bam.bai",
        evidence=f"{OUT}/evidence/{{sample}}.evidence.tsv",
        sites=f"{OUT}/{{sample}}/integration_sites.tsv",
    output:
        bam=report(
            f"{OUT}/{{sample}}/evidence.bam",
            caption="../report/evidence_bam.rst",
            category="Samples",
            subcategory="{sample}",
            labels={"sample": "{sample}", "file": "evidence.bam"},
        ),
        bai=f"{OUT}/{{sample}}/evidence.bam.bai",
    log:
        f"{LOGS}/evidence_bam/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/evidence_bam/{{sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        window=CONFIG["sites"]["discordant_window"],
        min_mapq=CONFIG["sites"]["min_mapq"],
    script:
        "../../scripts/adapters/evidence_bam.py"


rule igv_session:
    input:
        fasta=f"{REF}/combined.fa",
        fai=f"{REF}/combined.fa.fai",
        gtf=CONFIG["reference"]["annotation"],
        bam=f"{OUT}/{{sample}}/evidence.bam",
        vcf=f"{OUT}/{{sample}}/integration_sites.vcf.gz",
        bed=f"{OUT}/{{sample}}/integration_sites.bed",
        sites=f"{OUT}/{{sample}}/integration_sites.tsv",
    output:
        report(
            f"{OUT}/{{sample}}/igv_session.xml",
            caption="../report/igv_session.rst",
            category="Samples",
            subcategory="{sample}",
            labels={"sample": "{sample}", "file": "igv_session.xml"},
        ),
    log:
        f"{LOGS}/igv_session/{{sample}}.log",
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/igv_session.py"


rule site_views:
    input:
        sites=f"{OUT}/{{sample}}/integration_sites.tsv",
        bam=f"{OUT}/{{sample}}/evidence.bam",
        bai=f"{OUT}/{{sample}}/evidence.bam.bai",
        fasta=f"{REF}/combined.fa",
        fai=f"{REF}/combined.fa.fai",
        annotation=ANNOTATION_CACHE,
    output:
        f"{OUT}/views/{{sample}}.site_views.html",
    log:
        f"{LOGS}/site_views/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/site_views/{{sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        igv_js=IGV_JS,
    script:
        "../../scripts/adapters/site_views.py"


rule multiqc_table:
    input:
        summary=f"{OUT}/summary.tsv",
        transgene=expand(f"{OUT}/{{sample}}/transgene.tsv", sample=SAMPLES),
        read_counts=expand(f"{OUT}/qc/{{sample}}.read_counts.tsv", sample=SAMPLES),
    output:
        report(
            f"{OUT}/multiqc/carvis_mqc.tsv",
            caption="../report/multiqc.rst",
            category="Cohort",
            labels={"file": "carvis_mqc.tsv"},
        ),
    log:
        f"{LOGS}/multiqc_table/carvis_mqc.log",
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/multiqc_table.py"
