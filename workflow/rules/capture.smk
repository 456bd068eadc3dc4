# Hybrid capture with vector baits (sample sheet assay: capture; issue 16): every read aligned (no
# screening), VCN normalised to the configured control regions, clonal fraction only where the site's
# flanks are baited (else its relative abundance).
ruleorder: capture_coverage > genome_coverage


rule capture_coverage:
    input:
        bam=capture_bam,
        bed=CONTROL_BED or [],
    output:
        f"{OUT}/depth/{{normalised_sample}}.coverage.tsv",
    log:
        f"{LOGS}/capture_coverage/{{normalised_sample}}.log",
    benchmark:
        f"{BENCHMARKS}/capture_coverage/{{normalised_sample}}.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        regions=CONTROL_REGIONS,
    script:
        "../../scripts/adapters/capture_coverage.py"


rule capture_sites:
    input:
        f"{OUT}/calls/{{capture_sample}}.sites.tsv",
    output:
        f"{OUT}/calls/{{capture_sample}}.capture_sites.tsv",
    log:
        f"{LOGS}/capture_sites/{{capture_sample}}.log",
    conda:
        ENVS / "carvis.yaml"
    params:
        baited=CONTROL_REGIONS + FLANK_REGIONS,
    script:
        "../../scripts/adapters/capture_sites.py"
