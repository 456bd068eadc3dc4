# Screening stage: one streaming pass over each sample's FASTQs keeps the pairs touching the vector
# (outside its host-homologous parts) plus a depth sample; only those are aligned.
from carvis.screen import MINIMAP2_ARGS as SCREEN_MINIMAP2_ARGS


rule write_screen_reference:
    input:
        manifest=f"{REF}/vectors.json",
        mask=f"{REF}/mask/homology_mask.bed",
    output:
        f"{REF}/screen/vector_pieces.fa",
    log:
        f"{REF}/logs/write_screen_reference.log",
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/write_screen_reference.py"


rule index_screen_reference:
    input:
        f"{REF}/screen/vector_pieces.fa",
    output:
        f"{REF}/screen/vector_pieces.mmi",
    log:
        f"{REF}/logs/index_screen_reference.log",
    conda:
        ENVS / "minimap2.yaml"
    params:
        args=SCREEN_MINIMAP2_ARGS,
    shell:
        """
        minimap2 {params.args} -d {output:q} {input:q} 2>{log:q}
        """


rule screen_reads:
    input:
        fastq=lambda wc: SAMPLES[wc.sample].fastq_1 + SAMPLES[wc.sample].fastq_2,
        index=f"{REF}/screen/vector_pieces.mmi",
    output:
        r1=temp(f"{OUT}/screen/{{sample}}_R1.fastq.gz"),
        r2=temp(f"{OUT}/screen/{{sample}}_R2.fastq.gz"),
        stats=f"{OUT}/screen/{{sample}}.screen.tsv",
    log:
        f"{LOGS}/screen_reads/{{sample}}.log",
    benchmark:
        f"{OUT}/benchmarks/screen_reads/{{sample}}.tsv"
    conda:
        ENVS / "screen.yaml"
    threads: CONFIG["threads"]["screen"]
    resources:
        mem_mb=lambda wc, attempt: CONFIG["mem_mb"]["screen"] * attempt,
    params:
        fastq_1=lambda wc: SAMPLES[wc.sample].fastq_1,
        fastq_2=lambda wc: SAMPLES[wc.sample].fastq_2,
        prefix=f"{OUT}/screen/{{sample}}",
        fraction=CONFIG["screen"]["depth_sample_fraction"],
        seed=CONFIG["screen"]["seed"],
    script:
        "../../scripts/adapters/screen_reads.py"
