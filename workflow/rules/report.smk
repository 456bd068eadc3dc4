# Report stage: formats what the TSVs say; decides nothing of its own.


rule render_report:
    input:
        sites=f"{OUT}/{{sample}}/integration_sites.tsv",
        transgene=f"{OUT}/{{sample}}/transgene.tsv",
        manifest=f"{REF}/vectors.json",
        mask=f"{REF}/mask/homology_mask.bed",
    output:
        f"{OUT}/{{sample}}/report.html",
    log:
        f"{LOGS}/render_report/{{sample}}.log",
    conda:
        ENVS / "carvis.yaml"
    params:
        purity=sample_purity,
        vector=sample_vector,
        config=CONFIG,
    script:
        "../../scripts/adapters/render_report.py"


rule summarise_cohort:
    input:
        sites=expand(f"{OUT}/{{sample}}/integration_sites.tsv", sample=SAMPLES),
        transgene=expand(f"{OUT}/{{sample}}/transgene.tsv", sample=SAMPLES),
    output:
        f"{OUT}/summary.tsv",
    log:
        f"{LOGS}/summarise_cohort/summary.log",
    conda:
        ENVS / "carvis.yaml"
    params:
        samples=list(SAMPLES),
        purity={s: SAMPLES[s].purity for s in SAMPLES},
    script:
        "../../scripts/adapters/summarise_cohort.py"
