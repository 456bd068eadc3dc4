# Hybrid capture with vector baits (sample sheet assay: capture; issue 16): sample sets and input functions.
from carvis.reads.capture import capture_regions

CAPTURE = [s for s in SAMPLES if SAMPLES[s].assay == "capture"]
CONTROL_BED = CONFIG.get("capture", {}).get("control_bed")
try:
    CONTROL_REGIONS, FLANK_REGIONS = capture_regions(CONFIG, bool(CAPTURE))
except InputError as exc:
    raise WorkflowError(f"carvis: bad input\n{exc}") from None


wildcard_constraints:
    capture_sample="|".join(CAPTURE) or "NO_CAPTURE_SAMPLE",
    normalised_sample="|".join(CAPTURE if CONTROL_BED else []) or "NO_CAPTURE_SAMPLE",


def capture_controls(wildcards):
    """(regions, bases) of the control BED for a capture sample, None without one; '' for other assays."""
    if sample_assay(wildcards) != "capture":
        return ""
    if not CONTROL_REGIONS:
        return None
    return (len(CONTROL_REGIONS), sum(e - s for _, s, e in CONTROL_REGIONS))


def called_sites(wildcards):
    """The sites table annotate_sites reads: capture samples' own clonal fractions, else the call's."""
    if sample_assay(wildcards) == "capture":
        return f"{OUT}/calls/{wildcards.sample}.capture_sites.tsv"
    return f"{OUT}/calls/{wildcards.sample}.sites.tsv"


def capture_bam(wildcards):
    s = SAMPLES[wildcards.normalised_sample]
    return str(s.bam) if s.bam is not None else f"{OUT}/align/{s.sample}.bam"
