# Transgene stage: detection and copy number from the vector-unique footprint.


rule call_transgene:
    input:
        manifest=f"{REF}/vectors.json",
        footprint=f"{REF}/mask/footprint.bed",
        mask=f"{REF}/mask/homology_mask.bed",
        coverage=f"{OUT}/depth/{{sample}}.coverage.tsv",
        depth=f"{OUT}/depth/{{sample}}.vector_depth.tsv",
    output:
        f"{OUT}/{{sample}}/transgene.tsv",
    log:
        f"{LOGS}/call_transgene/{{sample}}.log",
    conda:
        ENVS / "carvis.yaml"
    params:
        vector=sample_vector,
        purity=sample_purity,
        settings=CONFIG["transgene"],
    script:
        "../../scripts/adapters/call_transgene.py"
