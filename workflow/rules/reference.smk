# Reference stage: integrated provirus + backbone per vector, combined with the genome,
# indexed once per genome/vector set (the folder name is the cache key), and the homology mask.
from carvis.reference.mask import MINIMAP2_ARGS


rule preflight:
    input:
        genome=CONFIG["reference"]["genome"],
        annotation=CONFIG["reference"]["annotation"],
        gene_lists=CONFIG["gene_lists"],
    output:
        PREFLIGHT,
    log:
        f"{LOGS}/preflight.log",
    benchmark:
        f"{BENCHMARKS}/preflight.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        reference=CONFIG["reference"],
    script:
        "../../scripts/adapters/preflight.py"


# ancient(): a preflight rerun (say, after a gene-list edit) does not rebuild the reference.
rule build_reference:
    input:
        preflight=ancient(PREFLIGHT),
        genome=CONFIG["reference"]["genome"],
        vectors=[v["sequence"] for v in CONFIG["vectors"].values()],
    output:
        fasta=f"{REF}/combined.fa",
        manifest=f"{REF}/vectors.json",
        contigs=f"{REF}/vector_contigs.bed",
        bases=f"{REF}/contig_bases.tsv",
    log:
        f"{REF_LOGS}/build_reference.log",
    benchmark:
        f"{REF_BENCHMARKS}/build_reference.tsv"
    conda:
        ENVS / "carvis.yaml"
    params:
        vectors=CONFIG["vectors"],
    script:
        "../../scripts/adapters/build_reference.py"


rule index_fasta:
    input:
        f"{REF}/combined.fa",
    output:
        f"{REF}/combined.fa.fai",
    log:
        f"{REF_LOGS}/index_fasta.log",
    benchmark:
        f"{REF_BENCHMARKS}/index_fasta.tsv"
    conda:
        ENVS / "samtools.yaml"
    shell:
        """
        samtools faidx {input:q} 2>{log:q}
        """


rule index_minimap2:
    input:
        f"{REF}/combined.fa",
    output:
        f"{REF}/combined.mmi",
    log:
        f"{REF_LOGS}/index_minimap2.log",
    benchmark:
        f"{REF_BENCHMARKS}/index_minimap2.tsv"
    conda:
        ENVS / "minimap2.yaml"
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: 16000 * attempt,
    shell:
        """
        minimap2 -x sr -t {threads} -d {output:q} {input:q} 2>{log:q}
        """


rule index_bwa:
    input:
        f"{REF}/combined.fa",
    output:
        multiext(f"{REF}/combined.fa", ".amb", ".ann", ".bwt", ".pac", ".sa"),
    log:
        f"{REF_LOGS}/index_bwa.log",
    benchmark:
        f"{REF_BENCHMARKS}/index_bwa.tsv"
    conda:
        ENVS / "bwa.yaml"
    resources:
        mem_mb=lambda wc, attempt: 8000 * attempt,
    shell:
        """
        bwa index {input:q} 2>{log:q}
        """


rule tile_vectors:
    input:
        manifest=f"{REF}/vectors.json",
    output:
        f"{REF}/mask/vector_tiles.fa",
    log:
        f"{REF_LOGS}/tile_vectors.log",
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/tile_vectors.py"


rule align_tiles:
    input:
        tiles=f"{REF}/mask/vector_tiles.fa",
        index=f"{REF}/combined.mmi",
    output:
        f"{REF}/mask/vector_tiles.sam",
    log:
        f"{REF_LOGS}/align_tiles.log",
    benchmark:
        f"{REF_BENCHMARKS}/align_tiles.tsv"
    conda:
        ENVS / "minimap2.yaml"
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: 16000 * attempt,
    params:
        args=MINIMAP2_ARGS,
    shell:
        """
        minimap2 {params.args} -t {threads} {input.index:q} {input.tiles:q} \
            >{output:q} 2>{log:q}
        """


rule build_mask:
    input:
        alignments=f"{REF}/mask/vector_tiles.sam",
        manifest=f"{REF}/vectors.json",
    output:
        mask=f"{REF}/mask/homology_mask.bed",
        footprint=f"{REF}/mask/footprint.bed",
    log:
        f"{REF_LOGS}/build_mask.log",
    benchmark:
        f"{REF_BENCHMARKS}/build_mask.tsv"
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/build_mask.py"
