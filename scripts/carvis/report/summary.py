"""Per-sample verdict in plain words, its limitations, and the summary.tsv row.

The verdict reads only what the transgene and sites tables already say; purity is applied by those
stages (clonal fraction, VCN per tumour cell and its interval), never again here. First-pass rules:

1. transgene not detected -> *Transgene not detected*;
2. transgene detected, a site the sites stage flagged ``clonal`` (from ``sites.clonal_min_fraction``
   and the interval of its purity-corrected cell fraction) and a VCN per tumour cell near a whole
   number -> *CAR-derived clonal tumour*;
3. transgene detected, no clonal site and VCN per tumour cell below 0.5 -> *CAR T cells present,
   tumour not shown to be CAR-derived*;
4. anything else -> *Indeterminate*, with the reason.

Sites of one fragment (``support`` single) never enter these rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from carvis.core.errors import InputError
from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import SUMMARY

#: VCN per tumour cell within this of a whole number (>= 1) counts as "near an integer".
INTEGER_TOLERANCE = 0.25
#: Below this VCN per tumour cell, not every tumour cell can carry the vector.
LOW_VCN = 0.5

Row = Mapping[str, str]


@dataclass(frozen=True)
class Verdict:
    """kind: not_detected | car_derived | car_t_present | indeterminate."""

    kind: str
    interpretation: str
    rule: str


def as_float(value: object) -> float | None:
    """A float from a table cell, or None for NA/empty/unparseable."""
    if value is None:
        return None
    try:
        number = float(str(value))
    except ValueError:
        return None
    return None if number != number else number


def clonal_fraction(site: Row) -> float | None:
    """The site's clonal fraction, or None when NA."""
    return as_float(site.get("clonal_fraction"))


def is_clonal(site: Row) -> bool:
    """The sites stage flagged the site clonal (its ``clonal`` column, the one owner of that fact)."""
    return str(site.get("clonal", "")).lower() == "yes"


def is_single(site: Row) -> bool:
    """A site of one placeable fragment (``support`` single): never used for clonality."""
    return site.get("support") == "single"


def site_counts_text(site_rows: Sequence[Row]) -> str:
    """'N site(s) with two or more fragments and M with one'."""
    single = sum(1 for s in site_rows if is_single(s))
    return f"{len(site_rows) - single} site(s) with two or more fragments and {single} with one"


def known(value: object) -> bool:
    """A table cell that holds a value (not None, empty or NA)."""
    return value not in (None, "", "NA")


def site_label(site: Row) -> str:
    """``chrom:position(orientation)`` plus the gene hit, or ``near`` the nearest gene when intergenic."""
    label = f"{site.get('chrom')}:{site.get('position')}({site.get('orientation')})"
    gene = site.get("gene")
    if not known(gene):
        return label
    distance = as_float(site.get("distance_to_gene"))
    return f"{label} near {gene}" if distance else f"{label} {gene}"


def ranked_sites(site_rows: Iterable[Row]) -> list[Row]:
    """Sites by clonal fraction then fragments, highest first (NA last)."""
    return sorted(
        site_rows,
        key=lambda s: (clonal_fraction(s) or -1.0, as_float(s.get("fragments")) or 0.0),
        reverse=True,
    )


def tumour_vcn(transgene_row: Row) -> tuple[float | None, float | None, float | None]:
    """VCN per tumour cell with its interval as the transgene stage wrote them; per cell of the sample
    (``vcn`` and its interval) when purity is unknown."""
    per_cell = as_float(transgene_row.get("vcn_per_tumour_cell"))
    columns = ("vcn", "vcn_low", "vcn_high")
    if per_cell is not None:
        columns = ("vcn_per_tumour_cell", "vcn_low_per_tumour_cell", "vcn_high_per_tumour_cell")
    vcn, low, high = (as_float(transgene_row.get(k)) for k in columns)
    return vcn, low, high


def site_list(sites: Sequence[Row]) -> str:
    """'A', 'A and B', 'A, B and C' of the sites' labels."""
    labels = [site_label(s) for s in sites]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


def _near_integer(vcn: float, low: float | None, high: float | None) -> int | None:
    """The whole number (>= 1) that ``vcn`` is near, if any."""
    nearest = max(1, round(vcn))
    if abs(vcn - nearest) <= INTEGER_TOLERANCE:
        return nearest
    if low is not None and high is not None and low <= nearest <= high:
        return nearest
    return None


def _lmpcr_verdict(detected: str, site_rows: Sequence[Row]) -> Verdict:
    """LM-PCR (issue 16): abundance among the sampled vector copies, never a share of the tumour's cells."""
    if detected != "yes" or not site_rows:
        return Verdict(
            "not_detected",
            "LM-PCR: no junction of the vector with the genome was amplified.",
            "assay=lmpcr; no site",
        )
    top = max(site_rows, key=lambda r: as_float(r.get("relative_abundance")) or 0.0)
    share = as_float(top.get("relative_abundance")) or 0.0
    shape = "one dominant integration site" if top.get("dominant") == "yes" else "a polyclonal profile"
    return Verdict(
        "car_t_present",
        f"LM-PCR: {len(site_rows)} integration sites, {shape}; the most abundant, {site_label(top)}, holds "
        f"{100 * share:.1f}% of the sampled vector copies. LM-PCR measures abundance among vector-marked "
        "cells, not the share of the tumour's cells: whether the tumour itself is CAR-derived needs WGS or "
        "capture of the same specimen.",
        f"assay=lmpcr; top site relative_abundance {share:.3g}, dominant={top.get('dominant')}",
    )


def decide(transgene_row: Row, site_rows: Sequence[Row], purity: float | None) -> Verdict:
    """Apply the first-pass rules (module docstring) to one sample."""
    detected = str(transgene_row.get("detected") or "unknown").lower()
    reason = transgene_row.get("reason") or "no reason given"
    if str(reason).startswith("LM-PCR") or any("lmpcr" in str(r.get("flags")).split(",") for r in site_rows):
        return _lmpcr_verdict(detected, site_rows)
    vcn, low, high = tumour_vcn(transgene_row)
    vcn_text = "unknown" if vcn is None else f"{vcn:.3g}"
    basis = "per tumour cell" if purity else "per cell of the sample (purity unknown)"
    sites = ranked_sites(s for s in site_rows if not is_single(s))
    clonal = [s for s in sites if is_clonal(s)]
    contamination = str(transgene_row.get("plasmid_contamination", "")).lower() == "yes"
    if detected == "no" and not clonal:
        return Verdict(
            "not_detected",
            "Transgene not detected: the CAR vector was not found in this tumour's DNA, so there is "
            "no evidence that the tumour came from the CAR T cells.",
            f"detected=no (VCN {vcn_text}; {reason})",
        )
    if detected != "yes":
        why = (
            f"a clonal integration site ({site_list(clonal)}) was called although the transgene "
            "was not detected by coverage"
            if clonal
            else f"transgene detection was inconclusive ({reason})"
        )
        return Verdict("indeterminate", f"Indeterminate: {why}.", f"detected={detected}")
    if clonal:
        named = site_list(clonal)
        site_rule = "clonal site(s) " + ", ".join(
            f"{site_label(s)} (clonal fraction {s.get('clonal_fraction')})" for s in clonal
        )
        carried = (
            f"integration site {named} is"
            if len(clonal) == 1
            else f"{len(clonal)} integration sites {named} are"
        )
        whole = None if vcn is None else _near_integer(vcn, low, high)
        if whole is None:
            return Verdict(
                "indeterminate",
                f"Indeterminate: clonal integration site(s) ({named}) were found, but the VCN "
                f"{basis} ({vcn_text}) is not near a whole number, which a tumour grown from one CAR T "
                "cell would show; the tumour may be mixed or subclonal, or the purity may be wrong.",
                f"detected=yes; {site_rule}; VCN {basis} {vcn_text} not within "
                f"{INTEGER_TOLERANCE} of a whole number >= 1",
            )
        text = (
            f"CAR-derived clonal tumour: the CAR vector is in the tumour DNA at about {whole} "
            f"cop{'y' if whole == 1 else 'ies'} per tumour cell and the {carried} carried by most "
            "tumour cells, so the tumour most likely grew from a CAR T cell."
        )
        if contamination:
            text += " Plasmid backbone DNA was also found; it does not explain a clonal host-vector junction."
        return Verdict(
            "car_derived",
            text,
            f"detected=yes; {site_rule}; VCN {basis} {vcn_text} near {whole}",
        )
    largest = f"the largest at {sites[0].get('clonal_fraction')}" if sites else "none called"
    if sites and clonal_fraction(sites[0]) is None:
        largest = "none with a clonal fraction"
    no_clonal = f"no clonal site ({site_counts_text(site_rows)}; {largest})"
    if contamination:
        return Verdict(
            "indeterminate",
            "Indeterminate: vector DNA is present but so is plasmid backbone DNA, and no integration "
            "site is clonal; the vector signal may come from plasmid contamination.",
            f"detected=yes; plasmid_contamination=yes; {no_clonal}",
        )
    if vcn is not None and vcn < LOW_VCN:
        return Verdict(
            "car_t_present",
            f"CAR T cells present, tumour not shown to be CAR-derived: the vector is present at "
            f"{vcn_text} copies {basis}, too few for every tumour cell to carry it, and no integration "
            "site is carried by most cells, as expected from infiltrating polyclonal CAR T cells.",
            f"detected=yes; {no_clonal}; VCN {basis} {vcn_text} < {LOW_VCN}",
        )
    return Verdict(
        "indeterminate",
        f"Indeterminate: the vector is present at {vcn_text} copies {basis}, enough for a "
        "CAR-derived tumour, but no clonal integration site was found; the junction may lie in a "
        "repeat or a masked region, or have too few fragments.",
        f"detected=yes; {no_clonal}; VCN {basis} {vcn_text} >= {LOW_VCN}",
    )


def interpret(transgene_row: Row, site_rows: Sequence[Row], purity: float | None) -> tuple[str, str]:
    """(interpretation, rule) in plain words for one sample."""
    verdict = decide(transgene_row, site_rows, purity)
    return verdict.interpretation, verdict.rule


def masking_text(regions: int | None, bp: int | None, parts: Sequence[str] = ()) -> str:
    """What the homology mask found, in words (``regions`` None: only the masked bp are known)."""
    if regions == 0 or bp == 0:
        return (
            "Warning: no part of the vector matched the genome: the genome may be partial, or the vector "
            "carries no human-derived part. Nothing is masked; if the vector does carry human gene parts "
            "(CD8A hinge, CD28, 4-1BB, CD3-zeta, EF1a promoter), reads from the genome's own copies "
            "count as vector DNA."
        )
    found = f"{bp:,} bp" if regions is None else f"{regions} region(s), {bp:,} bp in all,"
    if bp is None:
        found = "Vector parts"
    where = f" (vector parts: {', '.join(parts)})" if parts else ""
    return (
        f"{found} of the provirus matched the genome{where} and are masked: they count neither for "
        "detection nor for VCN and cannot place junctions."
    )


def limitations(
    transgene_row: Row,
    site_rows: Sequence[Row],
    purity: float | None,
    masking: tuple[int, int, Sequence[str]] | None = None,
) -> list[str]:
    """What limits the verdict, in plain words.

    ``masking``: (regions, bp, vector parts) of the homology mask on the provirus; without it only
    the transgene table's ``masked_bp`` is known.
    """
    out = []
    if not purity:
        out.append(
            "Tumour purity was not given: clonal fractions and VCN are per cell of the whole sample "
            "and underestimate the values per tumour cell."
        )
    if masking is None:
        masked = as_float(transgene_row.get("masked_bp"))
        out.append(masking_text(None, None if masked is None else round(masked)))
    else:
        out.append(masking_text(*masking))
    out.append(
        "Integration sites whose host side maps equally well to several places (repeats, segmental "
        "duplications) may be missed or placed only approximately."
    )
    imprecise = sum(1 for s in site_rows if str(s.get("precise", "")).lower() == "no")
    if imprecise:
        out.append(f"{imprecise} site(s) rest on read pairs only; their positions are approximate.")
    if str(transgene_row.get("plasmid_contamination", "")).lower() == "yes":
        out.append("Plasmid backbone DNA was found: part of the vector signal may be contamination.")
    out.append(
        "Integration-site results are read together with other assays such as TCR clonality and copy number."
    )
    return out


def _sample_rows(path: Path, sample: str) -> list[dict[str, str]]:
    rows = read_tsv(path)
    return [r for r in rows if r.get("sample", sample) == sample]


def load_sample(
    sample: str, transgene_tsv: str | Path, sites_tsv: str | Path
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The sample's transgene row and site rows."""
    transgene = _sample_rows(Path(transgene_tsv), sample)
    if not transgene:
        raise InputError(
            transgene_tsv, f"no row for sample {sample!r}", "give the transgene table written for this sample"
        )
    return transgene[0], _sample_rows(Path(sites_tsv), sample)


def summarise_sample(
    sample: str, purity: float | None, transgene_tsv: str | Path, sites_tsv: str | Path
) -> dict[str, object]:
    """One summary.tsv row (SUMMARY columns plus ``rule``)."""
    transgene, sites = load_sample(sample, transgene_tsv, sites_tsv)
    verdict = decide(transgene, sites, purity)
    ranked = ranked_sites(sites)
    top = ranked[0] if ranked else {}
    return {
        "sample": sample,
        "vector": transgene.get("vector"),
        "purity": purity,
        "detected": transgene.get("detected"),
        "vcn": transgene.get("vcn"),
        "vcn_per_tumour_cell": transgene.get("vcn_per_tumour_cell"),
        "sites": len(sites),
        "clonal_sites": sum(1 for s in sites if is_clonal(s)),
        "top_site": f"{top['chrom']}:{top['position']}({top.get('orientation')})" if top else None,
        "top_site_gene": top.get("gene"),
        "top_site_clonal_fraction": top.get("clonal_fraction"),
        "plasmid_contamination": transgene.get("plasmid_contamination"),
        "interpretation": verdict.interpretation,
        "rule": verdict.rule,
    }


def write_summary(rows: Iterable[Mapping[str, object]], out_tsv: str | Path) -> None:
    """Write summary.tsv (SUMMARY columns)."""
    write_tsv(out_tsv, SUMMARY, rows)
