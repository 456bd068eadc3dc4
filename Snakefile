# carvis: was a tumour after CAR T-cell therapy derived from the CAR T cells?
# Table of contents only: each stage lives in workflow/rules/, its logic in scripts/carvis/.
from snakemake.utils import min_version

min_version("9.0")


include: "workflow/rules/common.smk"
include: "workflow/rules/runlock.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/reference.smk"
include: "workflow/rules/screen.smk"
include: "workflow/rules/align.smk"
include: "workflow/rules/lmpcr_common.smk"
include: "workflow/rules/lmpcr.smk"
include: "workflow/rules/capture_common.smk"
include: "workflow/rules/capture.smk"
include: "workflow/rules/evidence.smk"
include: "workflow/rules/sites.smk"
include: "workflow/rules/long_reads.smk"
include: "workflow/rules/transgene.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/views.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
