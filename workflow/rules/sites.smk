# Sites stage: junctions anchored at the vector ends, paired by the target-site duplication.


rule call_sites:
    input:
        evidence=f"{OUT}/evidence/{{sample}}.evidence.tsv",
        evidence_qc=f"{OUT}/evidence/{{sample}}.evidence_qc.tsv",
        manifest=f"{REF}/vectors.json",
        fasta=f"{REF}/combined.fa",
        fai=f"{REF}/combined.fa.fai",
        # screened FASTQs: reference fragments counted in a second pass, or else modelled from
        # the depth and read length
        spanning=spanning_counts,
        coverage=modelled_coverage,
    output:
        sites=f"{OUT}/calls/{{sample}}.sites.tsv",
        qc=f"{OUT}/calls/{{sample}}.sites_qc.tsv",
    log:
        f"{LOGS}/call_sites/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/call_sites/{{sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        vector=sample_vector,
        purity=sample_purity,
        settings=CONFIG["sites"],
    script:
        "../../scripts/adapters/call_sites.py"


rule annotate_sites:
    input:
        preflight=PREFLIGHT,
        sites=called_sites,
        annotation=ANNOTATION_CACHE,
        gene_lists=CONFIG["gene_lists"],
    output:
        f"{OUT}/{{sample}}/integration_sites.tsv",
    log:
        f"{LOGS}/annotate_sites/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/annotate_sites/{{sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/annotate_sites.py"


rule census:
    input:
        sites=f"{OUT}/{{sample}}/integration_sites.tsv",
        transgene=f"{OUT}/{{sample}}/transgene.tsv",
    output:
        f"{OUT}/calls/{{sample}}.census.tsv",
    log:
        f"{LOGS}/census/{{sample}}.log",
    conda:
        ENVS / "carvis.yaml"
    params:
        purity=sample_purity,
    script:
        "../../scripts/adapters/write_census.py"
