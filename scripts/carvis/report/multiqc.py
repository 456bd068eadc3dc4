"""The run's MultiQC custom-content table (``multiqc/carvis_mqc.tsv``): one row per sample.

MultiQC finds files named ``*_mqc.tsv`` and reads the YAML in their ``#`` header lines (section id, name,
description, plot type, column headers), so a sequencing core's MultiQC run over the carvis output folder
shows a "carvis" section beside its other QC. Columns: detected, VCN with its 95% interval, sites, clonal
sites, the top site's gene, reads screened and kept (or, without screening, sent to the aligner) and the
verdict (the lead phrase of the summary's interpretation, :mod:`carvis.report.summary`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from carvis.core.io import atomic_write, format_value, read_tsv
from carvis.core.tables import SUMMARY, TRANSGENE
from carvis.report.provenance import READ_COUNTS

#: Column -> MultiQC header settings (title, description, format).
COLUMNS: dict[str, dict[str, object]] = {
    "detected": {"title": "CAR vector", "description": "vector in the tumour DNA (yes/no/indeterminate)"},
    "vcn": {"title": "VCN", "description": "vector copies per diploid genome", "format": "{:,.2f}"},
    "vcn_low": {"title": "VCN low", "description": "VCN, 95% interval low end", "format": "{:,.2f}"},
    "vcn_high": {"title": "VCN high", "description": "VCN, 95% interval high end", "format": "{:,.2f}"},
    "sites": {"title": "Sites", "description": "integration sites called", "format": "{:,.0f}"},
    "clonal_sites": {
        "title": "Clonal sites",
        "description": "sites carried by most tumour cells",
        "format": "{:,.0f}",
    },
    "top_gene": {"title": "Top gene", "description": "gene at or nearest the site with most fragments"},
    "reads_screened": {
        "title": "Reads screened",
        "description": "reads the vector k-mer screen read (or sent to the aligner without screening)",
        "format": "{:,.0f}",
    },
    "reads_kept": {
        "title": "Reads kept",
        "description": "reads the screen kept (they share k-mers with the vector; or, without screening, "
        "reads sent to the aligner)",
        "format": "{:,.0f}",
    },
    "verdict": {"title": "Verdict", "description": "the report's verdict (see each sample's report.html)"},
}

HEADER = {
    "id": "carvis",
    "section_name": "carvis: CAR vector integration",
    "description": "CAR vector detection, copy number and integration sites per sample "
    "(carvis summary.tsv and transgene.tsv; the evidence is in each sample's report.html).",
    "plot_type": "table",
    "pconfig": {"id": "carvis_table", "namespace": "carvis", "title": "carvis: CAR vector integration"},
}


def _reads(counts: Sequence[Mapping[str, str]]) -> tuple[str, str]:
    """(screened, kept): the screen's counts, else the reads sent to the aligner (twice)."""
    steps = {r["step"]: r["reads"] for r in counts if r["file"] in ("NA", "")}
    if "screened" in steps:
        return steps["screened"], steps.get("kept", "NA")
    sent = steps.get("sent_to_aligner", "NA")
    return sent, sent


def sample_row(
    summary: Mapping[str, str], transgene: Mapping[str, str], counts: Sequence[Mapping[str, str]]
) -> dict[str, object]:
    screened, kept = _reads(counts)
    return {
        "Sample": summary["sample"],
        "detected": summary["detected"],
        "vcn": transgene.get("vcn", "NA"),
        "vcn_low": transgene.get("vcn_low", "NA"),
        "vcn_high": transgene.get("vcn_high", "NA"),
        "sites": summary["sites"],
        "clonal_sites": summary["clonal_sites"],
        "top_gene": summary["top_site_gene"],
        "reads_screened": screened,
        "reads_kept": kept,
        "verdict": summary["interpretation"].split(":", 1)[0],
    }


def write_multiqc_table(
    summary_tsv: str | Path,
    transgene_tsvs: Sequence[str | Path],
    read_counts_tsvs: Sequence[str | Path],
    out_tsv: str | Path,
) -> list[dict[str, object]]:
    """Write the custom-content TSV (summary order; transgene and read-count tables matched by sample)."""
    transgene = {r["sample"]: r for path in transgene_tsvs for r in read_tsv(path, TRANSGENE)}
    counts: dict[str, list[dict[str, str]]] = {}
    for path in read_counts_tsvs:
        for r in read_tsv(path, READ_COUNTS):
            counts.setdefault(r["sample"], []).append(r)
    rows = [
        sample_row(s, transgene.get(s["sample"], {}), counts.get(s["sample"], []))
        for s in read_tsv(summary_tsv, SUMMARY)
    ]
    header = yaml.safe_dump({**HEADER, "headers": COLUMNS}, sort_keys=False, width=1000)
    columns = ["Sample", *COLUMNS]
    with atomic_write(out_tsv) as out:
        out.write("".join(f"# {line}\n" for line in header.splitlines()))
        out.write("\t".join(columns) + "\n")
        for row in rows:
            out.write("\t".join(format_value(row[c]) for c in columns) + "\n")
    return rows
