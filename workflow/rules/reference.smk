# Reference stage: the genome, indexed once per genome (GENOME); integrated provirus + backbone per vector,
# indexed and appended to it once per genome/vector set (REF; the folder names are the cache keys); the
# homology mask.
from carvis.reference.mask import MINIMAP2_ARGS
from carvis.reference.mmi import MINIMAP2_INDEX_PRESET
from carvis.reads.long_reads import PRESETS

LONG_READ_PRESET_PATTERN = "|".join(PRESETS.values())


# Preflight also pickles the GTF it parsed (genes, TSSs, exons, UTRs) for each sample's annotate_sites and
# site_views: a GENCODE-sized GTF takes ~23 s to parse, its pickle 0.5 s to load. genes.py is an input: a
# change of the parser writes the pickle again.
rule preflight:
    input:
        genome=CONFIG["reference"]["genome"],
        annotation=CONFIG["reference"]["annotation"],
        gene_lists=CONFIG["gene_lists"],
        parser=Path(workflow.basedir) / "scripts" / "carvis" / "reference" / "genes.py",
    output:
        report=PREFLIGHT,
        annotation=ANNOTATION_CACHE,
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


# The genome part, cached by the genome alone (GENOME): a vector added or changed never rebuilds it.
# ancient(): a preflight rerun (say, after a gene-list edit) does not rebuild the reference.
rule prepare_genome:
    input:
        preflight=ancient(PREFLIGHT),
        genome=CONFIG["reference"]["genome"],
    output:
        fasta=f"{GENOME}/genome.fa",
        bases=f"{GENOME}/contig_bases.tsv",
    log:
        f"{GENOME_LOGS}/prepare_genome.log",
    benchmark:
        f"{GENOME_BENCHMARKS}/prepare_genome.tsv"
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/prepare_genome.py"


rule index_fasta:
    input:
        f"{GENOME}/genome.fa",
    output:
        f"{GENOME}/genome.fa.fai",
    log:
        f"{GENOME_LOGS}/index_fasta.log",
    benchmark:
        f"{GENOME_BENCHMARKS}/index_fasta.tsv"
    conda:
        ENVS / "samtools.yaml"
    shell:
        """
        samtools faidx {input:q} 2>{log:q}
        """


rule index_genome_minimap2:
    input:
        f"{GENOME}/genome.fa",
    output:
        f"{GENOME}/genome.mmi",
    log:
        f"{GENOME_LOGS}/index_genome_minimap2.log",
    benchmark:
        f"{GENOME_BENCHMARKS}/index_genome_minimap2.tsv"
    conda:
        ENVS / "minimap2.yaml"
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: 16000 * attempt,
    params:
        preset=MINIMAP2_INDEX_PRESET,
    shell:
        """
        minimap2 -x {params.preset} -t {threads} -d {output:q} {input:q} 2>{log:q}
        """


# The genome's bwa index for placing short host clips (config sites.place_clips), cached by the genome.
rule index_genome_bwa:
    input:
        f"{GENOME}/genome.fa",
    output:
        multiext(f"{GENOME}/genome.fa", *BWA_INDEX_SUFFIXES),
    log:
        f"{GENOME_LOGS}/index_genome_bwa.log",
    benchmark:
        f"{GENOME_BENCHMARKS}/index_genome_bwa.tsv"
    conda:
        ENVS / "bwa.yaml"
    resources:
        mem_mb=lambda wc, attempt: 6000 * attempt,
    shell:
        """
        bwa index {input:q} 2>{log:q}
        """


# The long-read presets' genome index (map-ont, map-hifi: only those the sheet's samples use), cached by the
# genome as the sr one is.
use rule index_genome_minimap2 as index_genome_minimap2_long with:
    output:
        f"{GENOME}/genome.{{preset}}.mmi",
    log:
        f"{GENOME_LOGS}/index_genome_minimap2.{{preset}}.log",
    benchmark:
        f"{GENOME_BENCHMARKS}/index_genome_minimap2.{{preset}}.tsv"
    wildcard_constraints:
        preset=LONG_READ_PRESET_PATTERN,
    params:
        preset=lambda wildcards: wildcards.preset,


# The vector part, cached by genome + vector set (REF).
rule build_reference:
    input:
        preflight=ancient(PREFLIGHT),
        vectors=[v["sequence"] for v in CONFIG["vectors"].values()],
    output:
        fasta=f"{REF}/vectors.fa",
        fai=f"{REF}/vectors.fa.fai",
        bases=f"{REF}/vector_bases.tsv",
        manifest=f"{REF}/vectors.json",
        contigs=f"{REF}/vector_contigs.bed",
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


# genome.fa then vectors.fa, byte for byte; the .fai from the two parts' indexes.
rule combine_reference:
    input:
        genome=f"{GENOME}/genome.fa",
        genome_fai=f"{GENOME}/genome.fa.fai",
        genome_bases=f"{GENOME}/contig_bases.tsv",
        vectors=f"{REF}/vectors.fa",
        vectors_fai=f"{REF}/vectors.fa.fai",
        vector_bases=f"{REF}/vector_bases.tsv",
    output:
        fasta=f"{REF}/combined.fa",
        fai=f"{REF}/combined.fa.fai",
        bases=f"{REF}/contig_bases.tsv",
    log:
        f"{REF_LOGS}/combine_reference.log",
    benchmark:
        f"{REF_BENCHMARKS}/combine_reference.tsv"
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/combine_reference.py"


rule index_vectors_minimap2:
    input:
        f"{REF}/vectors.fa",
    output:
        f"{REF}/vectors.mmi",
    log:
        f"{REF_LOGS}/index_vectors_minimap2.log",
    conda:
        ENVS / "minimap2.yaml"
    params:
        preset=MINIMAP2_INDEX_PRESET,
    shell:
        """
        minimap2 -x {params.preset} -d {output:q} {input:q} 2>{log:q}
        """


use rule index_vectors_minimap2 as index_vectors_minimap2_long with:
    output:
        f"{REF}/vectors.{{preset}}.mmi",
    log:
        f"{REF_LOGS}/index_vectors_minimap2.{{preset}}.log",
    wildcard_constraints:
        preset=LONG_READ_PRESET_PATTERN,
    params:
        preset=lambda wildcards: wildcards.preset,


# The index minimap2 would build from combined.fa (carvis.reference.mmi), without reindexing the genome.
rule index_minimap2:
    input:
        genome=f"{GENOME}/genome.mmi",
        vectors=f"{REF}/vectors.mmi",
    output:
        f"{REF}/combined.mmi",
    log:
        f"{REF_LOGS}/index_minimap2.log",
    benchmark:
        f"{REF_BENCHMARKS}/index_minimap2.tsv"
    conda:
        ENVS / "carvis.yaml"
    script:
        "../../scripts/adapters/append_index.py"


# The same for a long-read preset: what each long-read alignment job loads instead of indexing combined.fa.
use rule index_minimap2 as index_minimap2_long with:
    input:
        genome=f"{GENOME}/genome.{{preset}}.mmi",
        vectors=f"{REF}/vectors.{{preset}}.mmi",
    output:
        f"{REF}/combined.{{preset}}.mmi",
    log:
        f"{REF_LOGS}/index_minimap2.{{preset}}.log",
    benchmark:
        f"{REF_BENCHMARKS}/index_minimap2.{{preset}}.tsv"
    wildcard_constraints:
        preset=LONG_READ_PRESET_PATTERN,


rule index_bwa:
    input:
        f"{REF}/combined.fa",
    output:
        multiext(f"{REF}/combined.fa", *BWA_INDEX_SUFFIXES),
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
