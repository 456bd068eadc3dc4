# Load and validate the config and the sample sheet; define paths shared by every rule.
import sys
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

from carvis import demo
from carvis.errors import InputError
from carvis.inputs import load_config, load_samples
from carvis.align import align_command
from carvis.reference import reference_key

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

try:
    CONFIG = load_config(config, CONFIG_BASE, SCHEMAS / "config.schema.yaml")
    SAMPLES = {
        s.sample: s
        for s in load_samples(
            Path(CONFIG["samples"]),
            CONFIG["vectors"],
            SCHEMAS / "samples.schema.yaml",
            producible=DEMO_READS.values(),
        )
    }
except InputError as exc:
    raise WorkflowError(f"carvis: bad input\n{exc}") from None

OUT = CONFIG["outdir"]
REF = (
    f"{OUT}/reference/{reference_key(CONFIG['reference']['genome'], CONFIG['vectors'])}"
)
LOGS = f"{OUT}/logs"
ENVS = Path(workflow.basedir) / "envs"


wildcard_constraints:
    sample="|".join(SAMPLES) or "NO_SAMPLE",


def sample_vector(wildcards):
    return SAMPLES[wildcards.sample].vector


def sample_purity(wildcards):
    return SAMPLES[wildcards.sample].purity


def final_outputs():
    per_sample = ["integration_sites.tsv", "transgene.tsv", "report.html"]
    return [f"{OUT}/{s}/{name}" for s in SAMPLES for name in per_sample] + [
        f"{OUT}/summary.tsv"
    ]


def aligner_index(wildcards):
    if CONFIG["aligner"] == "bwa":
        return rules.index_bwa.output
    return rules.index_minimap2.output
