"""Clone census: how many distinct integration sites the sample holds, and the vector copies that the
clonal sites do not explain.

Number of sites: Chao1 (bias-corrected) from the sites seen with one and with two fragments, with
Chao's log-normal 95% interval, which never goes below the sites seen. Chao1 is chosen because it
needs nothing but the counts of rare sites, is a lower bound under any abundance distribution (so it
never invents a polyclonal population), and its interval is standard; a Poisson-mixture fit needs an
assumed shape for the abundances of sites never seen, which the rare sites alone cannot check.

Singletons are thinned: a site with two or more fragments is called from discordant pairs alone, but a
site with one fragment only when that fragment holds a junction read (a discordant pair alone places no
junction). So only a share q of the one-fragment sites is seen, q being the share of fragments that hold
a junction read, measured at the sites with two or more fragments (``split_fragments`` / ``fragments``;
1 when they hold fewer than :data:`MIN_Q_FRAGMENTS` fragments). The true f1 is f1_seen / q, and the
unseen sites are Chao1's (from that f1) plus the one-fragment sites not seen, f1 (1 - q). The
interval adds q's binomial variance (delta method). What it estimates is the number of sites that
have a chance of giving a fragment at this depth, where the aligner can place them: sites in repeats
leave no trace in the counts.

Unexplained copies: a heterozygous insertion in a fraction c of the cells adds c copies per diploid
genome, so the VCN per diploid genome is the sum of the sites' cell fractions. The sites stage's
``clonal_fraction`` is per tumour cell (cell fraction / purity), so the clonal sites explain
sum(clonal_fraction) x purity copies per diploid genome; the rest of the VCN comes from other cells
(a polyclonal CAR T-cell infiltrate) or from sites not called.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from carvis.core.io import write_tsv
from carvis.core.tables import CENSUS
from carvis.report.summary import as_float, is_clonal, load_sample

Row = Mapping[str, str]
#: Normal quantile of the 95% interval.
Z95 = 1.959964


#: Fewest fragments at sites with two or more from which the junction-read share q is measured.
MIN_Q_FRAGMENTS = 10


def _unseen(f1_seen: int, f2: int, q: float) -> tuple[float, float]:
    """(unseen sites, Chao's variance of the Chao1 part) for f1_seen singletons seen with probability q."""
    f1 = f1_seen / q
    chao = f1 * (f1 - 1) / (2 * (f2 + 1))
    variance = (
        chao + f1 * (2 * f1 - 1) ** 2 / (4 * (f2 + 1) ** 2) + f1**2 * f2 * (f1 - 1) ** 2 / (4 * (f2 + 1) ** 4)
    )
    return max(0.0, chao) + f1 * (1 - q), variance


def chao1(counts: Sequence[int], q: float = 1.0, q_fragments: int = 0) -> tuple[float, float, float]:
    """Bias-corrected Chao1 richness of fragment counts per site and its log-normal 95% interval, the
    singletons seen with probability ``q`` (measured on ``q_fragments`` fragments; module docstring)."""
    observed = sum(1 for c in counts if c > 0)
    f1 = sum(1 for c in counts if c == 1)
    f2 = sum(1 for c in counts if c == 2)
    unseen, variance = _unseen(f1, f2, q)
    if unseen <= 0:
        return float(observed), float(observed), float(observed)
    if q < 1 and q_fragments:
        step = min(1e-4, (1 - q) / 2)
        slope = (_unseen(f1, f2, q + step)[0] - unseen) / step
        variance += slope**2 * q * (1 - q) / q_fragments
    k = math.exp(Z95 * math.sqrt(math.log(1 + variance / unseen**2)))
    return observed + unseen, observed + unseen / k, observed + unseen * k


def junction_read_share(site_rows: Sequence[Row]) -> tuple[float, int]:
    """(q, fragments): the share of fragments holding a junction read at the sites with two or more
    fragments, and how many fragments it is measured on; (1, n) when fewer than MIN_Q_FRAGMENTS."""
    pairs = [
        (split, fragments)
        for r in site_rows
        if (fragments := as_float(r.get("fragments"))) is not None
        and fragments >= 2
        and (split := as_float(r.get("split_fragments"))) is not None
    ]
    split = sum(s for s, _ in pairs)
    total = int(sum(f for _, f in pairs))
    if total < MIN_Q_FRAGMENTS or split <= 0:
        return 1.0, total
    return split / total, total


def _share(unexplained: float, vcn: float | None) -> float | None:
    return None if not vcn or vcn <= 0 else max(0.0, unexplained) / vcn


def census(site_rows: Sequence[Row], transgene: Row, purity: float | None) -> dict[str, object]:
    """The CENSUS row of one sample from its sites and transgene rows (module docstring)."""
    counts = [int(float(r["fragments"])) for r in site_rows if as_float(r.get("fragments"))]
    q, q_fragments = junction_read_share(site_rows)
    estimate, low, high = chao1(counts, q, q_fragments)
    clonal = [r for r in site_rows if is_clonal(r)]
    explained = sum(as_float(r.get("clonal_fraction")) or 0.0 for r in clonal) * (purity or 1.0)
    vcn, vcn_low, vcn_high = (as_float(transgene.get(k)) for k in ("vcn", "vcn_low", "vcn_high"))
    unexplained = None if vcn is None else max(0.0, vcn - explained)
    return {
        "sample": transgene.get("sample"),
        "vector": transgene.get("vector"),
        "sites_observed": len(counts),
        "sites_one_fragment": counts.count(1),
        "sites_two_fragments": counts.count(2),
        "sites_estimated": round(estimate, 1),
        "sites_estimated_low": round(low, 1),
        "sites_estimated_high": round(high, 1),
        "estimator": "chao1_thinned_singletons_lognormal_ci",
        "vcn": vcn,
        "clonal_sites": len(clonal),
        "clonal_copies": round(explained, 4),
        "unexplained_copies": None if unexplained is None else round(unexplained, 4),
        "unexplained_share": _rounded(_share(vcn - explained, vcn) if vcn is not None else None),
        "unexplained_share_low": _rounded(_share(vcn_low - explained, vcn_low) if vcn_low else None),
        "unexplained_share_high": _rounded(_share(vcn_high - explained, vcn_high) if vcn_high else None),
        "singleton_detection": round(q, 4),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def write_census(
    sample: str, purity: float | None, transgene_tsv: str | Path, sites_tsv: str | Path, out_tsv: str | Path
) -> dict[str, object]:
    """Write the sample's census table (CENSUS columns, one row) and return the row."""
    transgene, sites = load_sample(sample, transgene_tsv, sites_tsv)
    row = census(sites, transgene, purity)
    row["sample"] = sample
    write_tsv(out_tsv, CENSUS, [row])
    return row


def _percent(value: object) -> str:
    share = as_float(value)
    return "unknown" if share is None else f"{share:.0%}"


def _detection_words(row: Row) -> str:
    q = as_float(row.get("singleton_detection"))
    if q is None or q >= 1:
        return ""
    return (
        f"; {q:.0%} of the fragments at sites with two or more hold a junction read, so about that share of "
        "the one-fragment sites is seen, and the estimate counts the rest"
    )


def census_text(row: Row) -> str:
    """The census in words for the report."""
    seen, estimate = row.get("sites_observed"), row.get("sites_estimated")
    low, high = row.get("sites_estimated_low"), row.get("sites_estimated_high")
    words = (
        f"Clone census: {seen} integration site(s) seen, {row.get('sites_one_fragment')} of them with one "
        f"fragment and {row.get('sites_two_fragments')} with two; an estimated {estimate} sites in the "
        f"sample (95% interval {low}–{high}; Chao1, which counts only sites with a chance of giving a "
        "fragment at this depth where the aligner can place it, so rarer ones and sites in repeats are not "
        "included" + _detection_words(row) + ")."
    )
    share = as_float(row.get("unexplained_share"))
    if share is None:
        return words + " The share of vector copies the clonal sites explain is unknown (no VCN)."
    return words + (
        f" The {row.get('clonal_sites')} clonal site(s) explain {row.get('clonal_copies')} of "
        f"{row.get('vcn')} vector copies per diploid genome; {share:.0%} of the copies "
        f"({_percent(row.get('unexplained_share_low'))}–{_percent(row.get('unexplained_share_high'))} over "
        "the VCN interval) "
        "come from other sites: other cells such as a polyclonal CAR T-cell infiltrate, or sites not called."
    )
