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
