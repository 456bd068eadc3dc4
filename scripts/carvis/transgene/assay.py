"""The transgene row of assays that do not measure copies per genome (issue 16: LM-PCR)."""

from __future__ import annotations

from pathlib import Path

from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import SITES, TRANSGENE

LMPCR_REASON = (
    "LM-PCR amplifies vector-host junctions only, so the vector copy number per genome is not measured; "
    "the abundance of each integration site among the sampled vector copies is reported instead"
)


def write_lmpcr_transgene(
    sites_tsv: str | Path, sample: str, vector: str, out: str | Path
) -> dict[str, object]:
    """Detected when the run (or specimen) has an integration site; VCN not measured, with the reason."""
    sites = read_tsv(sites_tsv, SITES)
    row: dict[str, object] = {
        "sample": sample,
        "vector": vector,
        "detected": "yes" if sites else "no",
        "reason": LMPCR_REASON
        + ("" if sites else "; no junction of the vector with the genome was amplified")
        + f" ({len(sites)} integration sites)",
    }
    write_tsv(out, TRANSGENE, [row])
    return row


CAPTURE_NO_CONTROLS = (
    "capture: the vector copy number is not given because no control regions are configured "
    "(capture.control_bed): a capture library's depth is the baits', not the genome's, so the genome-wide "
    "depth cannot normalise it; name baited single-copy control loci to get a VCN"
)


def capture_row(row: dict[str, object], controls: tuple[int, int] | None) -> dict[str, object]:
    """A transgene row of a capture sample: the VCN normalised to the control regions (``controls`` =
    regions, bases; its ``autosomal_depth`` is then theirs), or not given, with the reason."""
    if controls is None:
        for key in (
            "vcn",
            "vcn_low",
            "vcn_high",
            "vcn_per_tumour_cell",
            "vcn_low_per_tumour_cell",
            "vcn_high_per_tumour_cell",
            "vcn_dispersion",
        ):
            row[key] = None
        return row | {"reason": f"{CAPTURE_NO_CONTROLS}; {row.get('reason')}"}
    regions, bases = controls
    note = f"capture: VCN normalised to the depth over {regions} control regions ({bases:,} bp)"
    return row | {"reason": f"{note}; {row.get('reason')}"}
