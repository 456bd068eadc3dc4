# Transgene stage: detection, copy number and construct identity for every configured vector,
# from the vector-unique footprints; per-feature coverage of each provirus.


rule call_transgene:
    input:
        manifest=f"{REF}/vectors.json",
        footprint=f"{REF}/mask/footprint.bed",
        mask=f"{REF}/mask/homology_mask.bed",
        coverage=f"{OUT}/depth/{{sample}}.coverage.tsv",
        depth=f"{OUT}/depth/{{sample}}.vector_depth.tsv",
        bam=f"{OUT}/align/{{sample}}.bam",
        bai=f"{OUT}/align/{{sample}}.bam.bai",
    output:
        transgene=f"{OUT}/{{sample}}/transgene.tsv",
        vector_coverage=f"{OUT}/{{sample}}/vector_coverage.tsv",
    log:
        f"{LOGS}/call_transgene/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/call_transgene/{{sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        vector=sample_vector,
        purity=sample_purity,
        settings=CONFIG["transgene"],
        capture=capture_controls,
    script:
        "../../scripts/adapters/call_transgene.py"
