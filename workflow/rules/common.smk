# Load and validate the config and the sample sheet; define paths shared by every rule.
import sys
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

from carvis.sim import demo
from carvis.core.errors import InputError
from carvis.inputs.checks import load_config, load_samples, read_yaml
from carvis.inputs.files import BWA_INDEX_SUFFIXES
from carvis.inputs.tools import check_tools
from carvis.reference.preflight import check_vectors
from carvis.reads.align import UMI_MARKDUP, Aligner, align_command, bam_command
from carvis.reads.long_reads import (
    LONG_READ_ASSAYS,
    PRESETS,
    long_read_command,
    long_read_options,
)
from carvis.reads.bam_input import Extraction, depth_subsample, extract_command
from carvis.reference.build import genome_key, reference_key
from carvis.reference.genes import CACHE_SUFFIX
from carvis.reads.screen import subsample_option
from carvis.report.provenance import report_settings

SCHEMAS = Path(workflow.basedir) / "workflow" / "schemas"
DEMO = Path(workflow.basedir) / "resources" / "demo"
# The demo's reads are simulated by the workflow itself (rule simulate_demo_reads).
DEMO_READS = {
    key: DEMO / f"{demo.READS_PREFIX}{suffix}"
    for key, suffix in [
        ("r1", "_R1.fastq.gz"),
        ("r2", "_R2.fastq.gz"),
        ("truth", ".truth.tsv"),
        ("truth_transgene", ".truth_transgene.tsv"),
    ]
}

if workflow.overwrite_configfiles:
    CONFIG_BASE = Path.cwd()
else:
    # No --configfile: the bundled demo, whose paths are relative to the carvis folder;
    # --config key=value still overrides single keys.
    CONFIG_BASE = Path(workflow.basedir)
    _demo = yaml.safe_load((CONFIG_BASE / "config" / "config.yaml").read_text())
    update_config(_demo, dict(config))
    config.clear()
    config.update(_demo)

# The bundled cancer-gene table is the default list wherever the workflow runs from.
config.setdefault(
    "gene_lists",
    [str(Path(workflow.basedir) / "resources" / "cancer_genes" / "cancer_genes.tsv")],
)

# Errors name the config file and the key's line (the last --configfile, or the bundled demo's).
CONFIG_FILE = Path(
    workflow.overwrite_configfiles[-1]
    if workflow.overwrite_configfiles
    else CONFIG_BASE / "config" / "config.yaml"
)

try:
    CONFIG_LINES = read_yaml(CONFIG_FILE)[1] if CONFIG_FILE.is_file() else {}
    CONFIG = load_config(
        config,
        CONFIG_BASE,
        SCHEMAS / "config.schema.yaml",
        CONFIG_FILE,
        CONFIG_LINES,
        dict(workflow.config_settings.config),  # --config alone (no --configfile)
    )
    SAMPLES = {
        s.sample: s
        for s in load_samples(
            Path(CONFIG["samples"]),
            CONFIG["vectors"],
            SCHEMAS / "samples.schema.yaml",
            producible=DEMO_READS.values(),
            genome=Path(CONFIG["reference"]["genome"]),
        )
    }
    # Cheap checks at every start; genome, GTF and gene lists are checked once by rule preflight.
    check_vectors(CONFIG["vectors"])
    # The tools on PATH, unless the rules bring their own (--sdm conda, apptainer or env-modules).
    if not workflow.deployment_settings.deployment_method:
        check_tools(CONFIG, [s.assay for s in SAMPLES.values()], str(CONFIG_FILE))
except InputError as exc:
    raise WorkflowError(f"carvis: bad input\n{exc}") from None

OUT = CONFIG["outdir"]
# Long-read samples given as an aligned BAM/CRAM are read as the FASTQ rule long_read_fastq writes from it
# (every primary read, aligned or not), then screened and aligned as FASTQ samples.
LONG_READ_BAMS = {}
for _s in SAMPLES.values():
    if _s.assay in LONG_READ_ASSAYS and _s.bam is not None:
        LONG_READ_BAMS[_s.sample] = _s.bam
        _s.fastq_1, _s.bam = [Path(f"{OUT}/long_reads/{_s.sample}.fastq.gz")], None
REF_KEY = reference_key(CONFIG["reference"]["genome"], CONFIG["vectors"])
REF = f"{OUT}/reference/{REF_KEY}"
# The genome's own part (FASTA copy, .fai, minimap2 index): no vector is in its key.
GENOME_KEY = genome_key(CONFIG["reference"]["genome"])
GENOME = f"{OUT}/reference/genome-{GENOME_KEY}"
# One log tree and one benchmark tree; the reference's (one per genome + vector set) inside them.
LOGS = f"{OUT}/logs"
BENCHMARKS = f"{OUT}/benchmarks"
REF_LOGS = f"{LOGS}/reference/{REF_KEY}"
REF_BENCHMARKS = f"{BENCHMARKS}/reference/{REF_KEY}"
GENOME_LOGS = f"{LOGS}/reference/genome-{GENOME_KEY}"
GENOME_BENCHMARKS = f"{BENCHMARKS}/reference/genome-{GENOME_KEY}"
PREFLIGHT = f"{OUT}/preflight/preflight.tsv"
# The annotation parsed once (by rule preflight), keyed like the genome by its path, size and mtime.
ANNOTATION_CACHE = f"{OUT}/reference/annotation-{genome_key(CONFIG['reference']['annotation'])}/genes{CACHE_SUFFIX}"
# The genome's bwa index for host clips: the config's (reference.bwa_index), else built once per genome.
BWA_INDEX = CONFIG["reference"].get("bwa_index") or f"{GENOME}/genome.fa"
ENVS = Path(workflow.basedir) / "envs"


wildcard_constraints:
    sample="|".join(SAMPLES) or "NO_SAMPLE",


def sample_vector(wildcards):
    return SAMPLES[wildcards.sample].vector


def sample_assay(wildcards):
    """The sample's assay, or None for a rule without a sample wildcard (the LM-PCR rules have
    lmpcr_sample): callers treat None as short reads that are neither long-read nor capture.
    """
    sample = getattr(wildcards, "sample", None)
    return None if sample is None else SAMPLES[sample].assay


def sample_purity(wildcards):
    return SAMPLES[wildcards.sample].purity


def sample_bam(wildcards):
    """The sample's BAM/CRAM (None for a FASTQ sample)."""
    return SAMPLES[wildcards.sample].bam


def long_read_bam(wildcards):
    """A long-read sample's own BAM/CRAM, from which rule long_read_fastq takes its reads."""
    return LONG_READ_BAMS[wildcards.sample]


def sample_bam_or_nothing(wildcards):
    return SAMPLES[wildcards.sample].bam or []


def placed_clips(wildcards):
    """The sample's host clips placed by bwa aln, unless config sites.place_clips is off."""
    if not CONFIG["sites"]["place_clips"]:
        return []
    return f"{OUT}/evidence/{wildcards.sample}.host_clips.bam"


def sample_fastq_1(wildcards):
    return SAMPLES[wildcards.sample].fastq_1


def sample_fastq_2(wildcards):
    return SAMPLES[wildcards.sample].fastq_2


def sample_fastqs(wildcards):
    """The sample's FASTQs: R1 lanes, then R2."""
    return sample_fastq_1(wildcards) + sample_fastq_2(wildcards)


def screen_mem_mb(wildcards, attempt):
    return CONFIG["mem_mb"]["screen"] * attempt


def align_mem_mb(wildcards, attempt):
    return CONFIG["mem_mb"]["align"] * attempt


def final_outputs():
    per_sample = [
        "integration_sites.tsv",
        "integration_sites.vcf.gz",
        "integration_sites.bed",
        "transgene.tsv",
        "report.html",
    ]
    # the reads behind each site (LM-PCR samples have no evidence table: their reads are in align/)
    views = ["evidence.bam", "igv_session.xml"]
    cohort = [
        "summary.tsv",
        "cohort_sites.tsv",
        "cohort.html",
        "multiqc/carvis_mqc.tsv",
    ]
    # read accounting and input checksums (the report should take these too)
    qc = ["read_counts.tsv", "inputs.tsv"]
    return (
        [f"{OUT}/{s}/{name}" for s in SAMPLES for name in per_sample]
        + [
            f"{OUT}/{s}/{name}"
            for s in SAMPLES
            if SAMPLES[s].assay != "lmpcr"
            for name in views
        ]
        + [f"{OUT}/qc/{s}.{name}" for s in SAMPLES for name in qc]
        + [f"{OUT}/{name}" for name in cohort]
    )


def aligner_index(wildcards):
    """The combined index the sample's reads are aligned with: the long-read preset's, or the aligner's."""
    assay = sample_assay(wildcards)
    if assay in LONG_READ_ASSAYS:
        return f"{REF}/combined.{PRESETS[assay]}.mmi"
    if CONFIG["aligner"] == "bwa":
        return rules.index_bwa.output
    return rules.index_minimap2.output


def screened(wildcards):
    """FASTQ samples are screened when screening is on; BAM/CRAM and capture samples never are."""
    s = SAMPLES[wildcards.sample]
    return s.bam is None and CONFIG["screen"]["enabled"] and s.assay != "capture"


def count_spanning(wildcards):
    """Screened samples whose reference fragments a second pass counts (screen: count_spanning)."""
    return screened(wildcards) and CONFIG["screen"]["count_spanning"]


def site_reads(wildcards):
    """{"r1": [...], "r2": [...]}: the second pass's reads (pairs near the candidate sites)."""
    prefix = f"{OUT}/screen/{wildcards.sample}.site_reads"
    paired = SAMPLES[wildcards.sample].paired
    return {
        "r1": [f"{prefix}_R1.fastq"],
        "r2": [f"{prefix}_R2.fastq"] if paired else [],
    }


def reads_to_align(wildcards):
    """{"r1": [...], "r2": [...]}: reads extracted from a BAM/CRAM, screened, or the sheet's FASTQs."""
    s = SAMPLES[wildcards.sample]
    if s.bam is not None:
        folder = f"{OUT}/extract/{s.sample}"
    elif screened(wildcards):
        folder = f"{OUT}/screen/{s.sample}"
    else:
        return {"r1": s.fastq_1, "r2": s.fastq_2}
    paired = s.bam is not None or s.paired
    suffix = "fastq.gz" if s.bam is not None else "fastq"
    return {
        "r1": [f"{folder}_R1.{suffix}"],
        "r2": [f"{folder}_R2.{suffix}"] if paired else [],
    }


def aligned_fastqs(wildcards):
    reads = reads_to_align(wildcards)
    return reads["r1"] + reads["r2"]


def site_fastqs(wildcards):
    reads = site_reads(wildcards)
    return reads["r1"] + reads["r2"]


def spanning_counts(wildcards):
    """The second pass's spanning rows, when it counts them."""
    return (
        f"{OUT}/evidence/{wildcards.sample}.spanning.tsv"
        if count_spanning(wildcards)
        else []
    )


def modelled_coverage(wildcards):
    """Screened samples without a second pass: the depth from which spanning fragments are modelled."""
    if screened(wildcards) and not count_spanning(wildcards):
        return f"{OUT}/depth/{wildcards.sample}.coverage.tsv"
    return []


def sample_files(wildcards):
    """The sample's input files: its BAM/CRAM, or its FASTQs (R1 lanes, then R2)."""
    s = SAMPLES[wildcards.sample]
    if s.sample in LONG_READ_BAMS:  # the user's file, not the FASTQ taken out of it
        return [LONG_READ_BAMS[s.sample]]
    return [s.bam] if s.bam is not None else s.fastq_1 + s.fastq_2


def reads_checked(wildcards):
    """FASTQs aligned in full are read through by check_reads before alignment; others need nothing."""
    if SAMPLES[wildcards.sample].bam is not None or screened(wildcards):
        return []
    return [f"{OUT}/check/{wildcards.sample}.input_reads.tsv"]


def count_inputs(wildcards):
    """What count_reads reads besides the aligned BAM: records per input file, screening stats, or the
    counts of a BAM/CRAM and the reads extracted from it."""
    s = SAMPLES[wildcards.sample]
    if s.bam is not None:
        return {
            "extract_counts": f"{OUT}/extract/{s.sample}.primary_reads.txt",
            "r1": f"{OUT}/extract/{s.sample}_R1.fastq.gz",
            "r2": f"{OUT}/extract/{s.sample}_R2.fastq.gz",
            "binary": f"{OUT}/bin/kmer_screen",
        }
    if screened(wildcards):
        return {
            "inputs": f"{OUT}/screen/{s.sample}.input_reads.tsv",
            "stats": f"{OUT}/screen/{s.sample}.screen.tsv",
        }
    return {"inputs": reads_checked(wildcards)[0]}


def coverage_inputs(wildcards):
    """What genome_coverage reads: the depth sample extracted from the input BAM/CRAM (+ its counts), or
    the aligned BAM (+ screening stats); contig bases for a sample."""
    s = SAMPLES[wildcards.sample]
    if s.bam is not None:
        return {
            "bam": f"{OUT}/extract/{s.sample}.depth.sam",
            "extract_counts": f"{OUT}/extract/{s.sample}.primary_reads.txt",
            "bases": f"{REF}/contig_bases.tsv",
        }
    inputs = {"bam": f"{OUT}/align/{s.sample}.bam"}
    if screened(wildcards):
        inputs["stats"] = f"{OUT}/screen/{s.sample}.screen.tsv"
        inputs["bases"] = f"{REF}/contig_bases.tsv"
    return inputs


def depth_sample_max_bases(wildcards):
    """Long-read samples' depth sample is capped in bases; short reads' in pairs only (None)."""
    if sample_assay(wildcards) in LONG_READ_ASSAYS:
        return CONFIG["screen"]["depth_sample_max_bases"]
    return None


def coverage_subsample(wildcards):
    """The depth sample's ``samtools view -s`` argument for a screened sample, else None."""
    if not screened(wildcards):
        return None
    return subsample_option(
        CONFIG["screen"]["depth_sample_fraction"], CONFIG["screen"]["seed"]
    )


def extract_params(wildcards, input, output, threads):
    screen = (input.binary[0], input.pieces, input.ends)
    prefix = f"{OUT}/extract/{wildcards.sample}"
    subsample = depth_subsample(
        input.bam,
        CONFIG["screen"]["depth_sample_fraction"],
        CONFIG["screen"]["depth_sample_max_pairs"],
        CONFIG["screen"]["seed"],
    )
    extraction = Extraction(
        input.bam, input.fasta, screen, prefix, output.counts, threads, subsample
    )
    return extract_command(extraction)


def _align(reads, wildcards, input, output, threads):
    index = input.fasta if CONFIG["aligner"] == "bwa" else input.index
    aligner = Aligner(CONFIG["aligner"], index, threads, CONFIG["align_extra"])
    align = align_command(aligner, reads["r1"], reads["r2"], wildcards.sample)
    return bam_command(align, output.bam, threads, umi_markdup(wildcards))


def umi_markdup(wildcards):
    """Capture samples whose read names carry a UMI: duplicates are marked by position and UMI."""
    umi = CONFIG.get("capture", {}).get("umi", False)
    return UMI_MARKDUP if sample_assay(wildcards) == "capture" and umi else ""


def aligner_settings(wildcards):
    """The config values in the alignment command, as a param of their own: Snakemake
    compares between runs only params not built from input or output files, so a new
    align_extra would otherwise rerun nothing."""
    assay = sample_assay(wildcards)
    if assay in LONG_READ_ASSAYS:
        return long_read_options(assay)
    return [CONFIG["aligner"], CONFIG["align_extra"], umi_markdup(wildcards)]


def align_reads_params(wildcards, input, output, threads):
    assay = sample_assay(wildcards)
    # long reads: minimap2 with the assay's preset and its prebuilt combined index
    if assay in LONG_READ_ASSAYS:
        reads = reads_to_align(wildcards)["r1"]
        return long_read_command(
            assay, input.index, reads, wildcards.sample, threads, output.bam
        )
    return _align(reads_to_align(wildcards), wildcards, input, output, threads)


def align_site_reads_params(wildcards, input, output, threads):
    assay = sample_assay(wildcards)
    if assay in LONG_READ_ASSAYS:
        return long_read_command(
            assay,
            input.index,
            site_reads(wildcards)["r1"],
            wildcards.sample,
            threads,
            output.bam,
        )
    return _align(site_reads(wildcards), wildcards, input, output, threads)


def report_params(wildcards):
    """Only the config values the report prints (and a digest of the rest)."""
    settings = report_settings(CONFIG, sample_vector(wildcards))
    assay = sample_assay(wildcards)
    # long reads: the preset replaces the short-read aligner settings
    if assay in LONG_READ_ASSAYS:
        settings["aligner"] = "minimap2"
        settings["aligner extra arguments"] = (
            f"{long_read_options(assay)} (assay {assay}; the preset's combined index)"
        )
    return settings


# Long-read samples (assay ont or hifi): their evidence and sites rules are in long_reads.smk.
LONG_READ_SAMPLES = [s for s, v in SAMPLES.items() if v.assay in LONG_READ_ASSAYS]


def long_read_spanning(wildcards):
    """Where a long-read sample's reference-allele reads are counted: the user's BAM/CRAM (by region),
    the second pass's BAM (screened FASTQs: the reads sharing k-mers with the sites' flanks), or the
    sample's BAM (every read aligned)."""
    sample = wildcards.sample
    if sample in LONG_READ_BAMS:
        return {"spanning_bam": LONG_READ_BAMS[sample]}
    if screened(wildcards):
        return {
            "spanning_bam": f"{OUT}/align/{sample}.site_reads.bam",
            "spanning_bai": f"{OUT}/align/{sample}.site_reads.bam.bai",
            "site_read_counts": f"{OUT}/qc/{sample}.site_read_counts.tsv",
        }
    return {"spanning_bam": f"{OUT}/align/{sample}.bam"}


def long_read_structure(wildcards):
    """The structure tables the report draws, for long-read samples."""
    if wildcards.sample not in LONG_READ_SAMPLES:
        return {}
    return {
        "structure": f"{OUT}/calls/{wildcards.sample}.structure.tsv",
        "read_structure": f"{OUT}/evidence/{wildcards.sample}.read_structure.tsv",
    }
