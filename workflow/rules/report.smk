# Report stage: formats what the TSVs say; decides nothing of its own.
# Final outputs carry report() so that `snakemake --report report.zip` gathers them with the
# captions in workflow/report/.


rule render_report:
    input:
        # long-read samples: the provirus structure per site (drawn below the vector coverage)
        unpack(long_read_structure),
        sites=f"{OUT}/{{sample}}/integration_sites.tsv",
        transgene=f"{OUT}/{{sample}}/transgene.tsv",
        manifest=f"{REF}/vectors.json",
        mask=f"{REF}/mask/homology_mask.bed",
        fai=f"{REF}/combined.fa.fai",
        depth=f"{OUT}/depth/{{sample}}.vector_depth.tsv",
        inputs_table=f"{OUT}/qc/{{sample}}.inputs.tsv",
        read_counts=f"{OUT}/qc/{{sample}}.read_counts.tsv",
        census=f"{OUT}/calls/{{sample}}.census.tsv",
        views=f"{OUT}/views/{{sample}}.site_views.html",
    output:
        report(
            f"{OUT}/{{sample}}/report.html",
            caption="../report/sample_report.rst",
            category="Samples",
            subcategory="{sample}",
            labels={"sample": "{sample}", "file": "report.html"},
        ),
    log:
        f"{LOGS}/render_report/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/render_report/{{sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        purity=sample_purity,
        # only the config values the report prints (and a digest of the rest): threads never rerun it
        settings=report_params,
    script:
        "../../scripts/adapters/render_report.py"


rule export_sites:
    input:
        sites=f"{OUT}/{{sample}}/integration_sites.tsv",
        fasta=f"{REF}/combined.fa",
        fai=f"{REF}/combined.fa.fai",
    output:
        vcf=report(
            f"{OUT}/{{sample}}/integration_sites.vcf.gz",
            caption="../report/integration_sites_vcf.rst",
            category="Samples",
            subcategory="{sample}",
            labels={"sample": "{sample}", "file": "integration_sites.vcf.gz"},
        ),
        tbi=f"{OUT}/{{sample}}/integration_sites.vcf.gz.tbi",
        bed=report(
            f"{OUT}/{{sample}}/integration_sites.bed",
            caption="../report/integration_sites_bed.rst",
            category="Samples",
            subcategory="{sample}",
            labels={"sample": "{sample}", "file": "integration_sites.bed"},
        ),
    log:
        f"{LOGS}/export_sites/{{sample}}.log",
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/export_sites.py"


rule summarise_cohort:
    input:
        sites=expand(f"{OUT}/{{sample}}/integration_sites.tsv", sample=SAMPLES),
        transgene=expand(f"{OUT}/{{sample}}/transgene.tsv", sample=SAMPLES),
    output:
        report(
            f"{OUT}/summary.tsv",
            caption="../report/summary.rst",
            category="Cohort",
            labels={"file": "summary.tsv"},
        ),
    log:
        f"{LOGS}/summarise_cohort/summary.log",
    conda:
        ENVS / "carvis.yaml"
    params:
        samples=list(SAMPLES),
        purity={s: SAMPLES[s].purity for s in SAMPLES},
    script:
        "../../scripts/adapters/summarise_cohort.py"


rule render_cohort:
    input:
        summary=f"{OUT}/summary.tsv",
        sites=expand(f"{OUT}/{{sample}}/integration_sites.tsv", sample=SAMPLES),
        fai=f"{REF}/combined.fa.fai",
    output:
        html=report(
            f"{OUT}/cohort.html",
            caption="../report/cohort.rst",
            category="Cohort",
            labels={"file": "cohort.html"},
        ),
        tsv=report(
            f"{OUT}/cohort_sites.tsv",
            caption="../report/cohort_sites.rst",
            category="Cohort",
            labels={"file": "cohort_sites.tsv"},
        ),
    log:
        f"{LOGS}/render_cohort/cohort.log",
    conda:
        ENVS / "carvis.yaml"
    params:
        samples=list(SAMPLES),
    script:
        "../../scripts/adapters/render_cohort.py"
