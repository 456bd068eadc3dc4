# The bundled demo's tumour reads, simulated with a fixed seed (only needed by the demo sheet).


rule simulate_demo_reads:
    input:
        genome=DEMO / "genome.fa",
        vector=DEMO / "vector.gb",
        design=DEMO / "design.tsv",
    output:
        **DEMO_READS,
    log:
        f"{LOGS}/simulate_demo_reads/demo.log",
    benchmark:
        f"{BENCHMARKS}/simulate_demo_reads/demo.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        prefix=DEMO / demo.READS_PREFIX,
    script:
        "../../scripts/adapters/simulate_demo_reads.py"
