"""Integration sites for genome browsers and variant tools: VCF 4.2 BND records and a BED track.

Both files only reformat the annotated sites table (``integration_sites.tsv``).

VCF: one record per junction seen, at the host base next to the vector, joined (BND notation) to
the end of the ``<vector>__provirus`` contig that faces it; the two junctions of a site share an
``EVENT`` id. With orientation ``+`` the provirus 5' end faces the lower coordinate, so:

- left junction L (last host base before the vector): ``+`` ``t[<provirus>:1[``, ``-`` ``t]<provirus>:n]``;
- right junction R (first host base after the vector): ``+`` ``]<provirus>:n]t``, ``-`` ``[<provirus>:1[t``.

Orientation ``.`` (the reads lie in the stretch both provirus ends share, so the end is unknown): a
single breakend, ``t.`` (left) or ``.t`` (right), and BED strand ``.``.
A site seen only through read pairs (no junction base) gets one ``IMPRECISE`` record at ``position``
written as a left junction. BED (IGV): one line per site over its target-site duplication, strand
= provirus orientation, sites the sites stage flagged ``clonal`` red.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pysam

from carvis.core.io import atomic_write, read_tsv
from carvis.core.tables import ANNOTATION, SITES
from carvis.reference.vectors import contig_owner
from carvis.report.summary import as_float, is_clonal

Row = Mapping[str, str]

_INFO: tuple[tuple[str, str, str, str], ...] = (
    ("SVTYPE", "1", "String", "Type of structural variant: BND"),
    ("EVENT", "1", "String", "Integration site (chrom:position) shared by the junctions of one site"),
    (
        "JUNCTION",
        "1",
        "String",
        "left (last host base before the vector) or right (first host base after it)",
    ),
    ("IMPRECISE", "0", "Flag", "Junction placed from read pairs only; position approximate"),
    ("VECTOR", "1", "String", "Vector name from the config"),
    ("ORIENT", "1", "String", "Provirus orientation: + when its 5' end faces the lower coordinate"),
    ("SITEPOS", "1", "Integer", "Site position: first base of the target-site duplication (1-based)"),
    ("TSD", "1", "String", "Target-site duplication sequence"),
    ("TSDLEN", "1", "Integer", "Target-site duplication length"),
    ("FRAGMENTS", "1", "Integer", "Unique junction fragments (split + discordant)"),
    ("SPLIT", "1", "Integer", "Split-read fragments"),
    ("DISCORDANT", "1", "Integer", "Discordant-pair fragments"),
    ("CF", "1", "Float", "Clonal fraction: fraction of (tumour) cells carrying the site"),
    ("CFLOW", "1", "Float", "Lower end of the clonal fraction's 95% likelihood-ratio interval"),
    ("CFHIGH", "1", "Float", "Upper end of the clonal fraction's 95% likelihood-ratio interval"),
    ("DOMINANT", "0", "Flag", "Site flagged dominant by relative abundance"),
    ("GENE", ".", "String", "Gene hit, or nearest gene(s) for intergenic sites"),
    ("REGION", "1", "String", "exon, utr, intron or intergenic"),
    ("GENEDIST", "1", "Integer", "Distance to the nearest gene body (0 inside)"),
    ("LISTED", ".", "String", "Nearest gene of the cancer-gene list(s)"),
    ("LISTEDDIST", "1", "Integer", "Distance to the nearest listed gene body (0 inside)"),
    ("LISTEDCAT", ".", "String", "Categories of the nearest listed gene ('|' between categories)"),
    ("TIER", "1", "String", "Proximity tier: inside, 10kb, 50kb, 100kb or none"),
    ("GENELIST", ".", "String", "Name|version of each cancer-gene list used"),
    ("SITEFLAGS", ".", "String", "Reasons to distrust the site"),
)
_UNSAFE = re.compile(r"[\s;=,]+")


def read_fai(path: str | Path) -> dict[str, int]:
    """Contig lengths from a FASTA index, in file order."""
    with open(path) as handle:
        return {f[0]: int(f[1]) for f in (line.split("\t") for line in handle) if len(f) >= 2}


def _known(value: str | None) -> bool:
    return value not in (None, "", "NA")


def _info_value(value: str, number: str) -> str:
    """A cell made safe for INFO: list cells (';'-joined) become ','-separated values."""
    parts = value.split(";") if number == "." else [value]
    return ",".join(_UNSAFE.sub("|", p.strip()) or "." for p in parts)


def _site_info(row: Row) -> dict[str, object]:
    """INFO values of a site shared by its junction records (None = left out)."""
    cells = {
        "VECTOR": row.get("vector"),
        "ORIENT": row.get("orientation"),
        "SITEPOS": row.get("position"),
        "TSD": row.get("tsd"),
        "TSDLEN": row.get("tsd_length"),
        "FRAGMENTS": row.get("fragments"),
        "SPLIT": row.get("split_fragments"),
        "DISCORDANT": row.get("discordant_fragments"),
        "CF": row.get("clonal_fraction"),
        "CFLOW": row.get("clonal_fraction_low"),
        "CFHIGH": row.get("clonal_fraction_high"),
        "GENE": row.get("gene"),
        "REGION": row.get("region"),
        "GENEDIST": row.get("distance_to_gene"),
        "LISTED": row.get("nearest_listed_gene"),
        "LISTEDDIST": row.get("distance_to_listed_gene"),
        "LISTEDCAT": (row.get("listed_gene_category") or "").replace(",", "|"),
        "TIER": row.get("proximity_tier"),
        "GENELIST": row.get("gene_list"),
        "SITEFLAGS": (row.get("flags") or "").replace(",", ";"),
    }
    info: dict[str, object] = {k: v if _known(v) else None for k, v in cells.items()}
    info["DOMINANT"] = row.get("dominant") == "yes"
    return info


def _format_info(info: Mapping[str, object]) -> str:
    """The INFO column in header order: flags by truth, other keys when not None."""
    fields = []
    for key, number, kind, _ in _INFO:
        value = info.get(key)
        if kind == "Flag":
            if value:
                fields.append(key)
        elif value is not None:
            fields.append(f"{key}={_info_value(str(value), number)}")
    return ";".join(fields)


def _alt(base: str, side: str, orientation: str, contig: str, length: int) -> str:
    """BND ALT of a host base joined to the provirus (module docstring)."""
    if orientation not in {"+", "-"}:
        return f"{base}." if side == "left" else f".{base}"
    if side == "left":
        return f"{base}[{contig}:1[" if orientation != "-" else f"{base}]{contig}:{length}]"
    return f"]{contig}:{length}]{base}" if orientation != "-" else f"[{contig}:1[{base}"


def _junctions(row: Row) -> list[tuple[str, int, bool]]:
    """(side, host position, imprecise) of each junction of a site to write."""
    out = [
        (side, int(row[column]), False)
        for side, column in (("left", "left_junction"), ("right", "right_junction"))
        if _known(row.get(column))
    ]
    if not out and _known(row.get("position")):
        out.append(("left", int(row["position"]), True))
    return out


def _records(
    sites: Sequence[Row], contigs: Mapping[str, int], fasta: pysam.FastaFile
) -> list[tuple[int, int, str]]:
    order = {c: i for i, c in enumerate(contigs)}
    records = []
    for row in sites:
        event = f"{row['chrom']}:{row['position']}"
        shared = _site_info(row)
        provirus = f"{row['vector']}__provirus"
        for side, pos, imprecise in _junctions(row):
            base = fasta.fetch(row["chrom"], pos - 1, pos).upper() or "N"
            info = {"SVTYPE": "BND", "EVENT": event, "JUNCTION": side, "IMPRECISE": imprecise, **shared}
            alt = _alt(base, side, row.get("orientation", "+"), provirus, contigs.get(provirus, 1))
            line = "\t".join(
                [row["chrom"], str(pos), f"{event}_{side}", base, alt, ".", "PASS", _format_info(info)]
            )
            records.append((order.get(row["chrom"], len(order)), pos, line))
    return sorted(records)


def _header(sample: str, contigs: Mapping[str, int], reference: str) -> list[str]:
    lines = ["##fileformat=VCFv4.2", "##source=carvis", f"##reference=file://{Path(reference).resolve()}"]
    lines += [f"##contig=<ID={name},length={length}>" for name, length in contigs.items()]
    lines += [
        f'##INFO=<ID={key},Number={number},Type={kind},Description="{text}">'
        for key, number, kind, text in _INFO
    ]
    lines.append('##ALT=<ID=BND,Description="Breakend joining the host genome to the vector">')
    lines.append(f"##carvis_sample={sample}")
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    return lines


def write_vcf(
    sample: str, sites_tsv: str | Path, fasta_path: str | Path, fai_path: str | Path, out_vcf_gz: str | Path
) -> None:
    """Write ``out_vcf_gz`` (bgzipped) and its tabix index ``<out>.tbi``, both renamed into place."""
    sites = read_tsv(sites_tsv, (*SITES, *ANNOTATION), "give the annotated integration_sites.tsv")
    contigs = read_fai(fai_path)
    with pysam.FastaFile(str(fasta_path)) as fasta:
        lines = _header(sample, contigs, str(fasta_path)) + [r[2] for r in _records(sites, contigs, fasta)]
    out = Path(out_vcf_gz)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        plain, packed = Path(tmp) / "sites.vcf", Path(tmp) / "sites.vcf.gz"
        plain.write_text("\n".join(lines) + "\n")
        pysam.tabix_compress(str(plain), str(packed), force=True)
        pysam.tabix_index(str(packed), preset="vcf", force=True)
        os.replace(f"{packed}.tbi", f"{out}.tbi")
        os.replace(packed, out)


def _bed_name(row: Row) -> str:
    gene = row.get("gene")
    name = f"{row['chrom']}:{row['position']}"
    if gene is not None and _known(gene):
        name += f"_{_UNSAFE.sub('|', gene)}"
    if _known(row.get("clonal_fraction")):
        name += f"_CF{row['clonal_fraction']}"
    return name


def write_bed(sample: str, sites_tsv: str | Path, out_bed: str | Path) -> None:
    """Write a BED9 track for IGV: each site over its TSD, strand = orientation, clonal sites red."""
    sites = read_tsv(sites_tsv, (*SITES, *ANNOTATION), "give the annotated integration_sites.tsv")
    lines = [f'track name="{sample} integration sites" description="carvis integration sites" itemRgb="On"']
    for row in sorted(sites, key=lambda r: (r["chrom"], int(r["position"]) if _known(r["position"]) else 0)):
        if not _known(row.get("position")) or contig_owner(row["chrom"]):
            continue
        start = int(row["position"]) - 1
        end = int(row["left_junction"]) if _known(row.get("left_junction")) else start + 1
        end = max(end, start + 1)
        fraction = as_float(row.get("clonal_fraction"))
        score = 0 if fraction is None else round(min(max(fraction, 0.0), 1.0) * 1000)
        strand = row["orientation"] if row.get("orientation") in {"+", "-"} else "."
        colour = "183,28,28" if is_clonal(row) else "74,127,181"
        fields = [row["chrom"], start, end, _bed_name(row), score, strand, start, end, colour]
        lines.append("\t".join(str(f) for f in fields))
    with atomic_write(out_bed) as handle:
        handle.write("\n".join(lines) + "\n")
