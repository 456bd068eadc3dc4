"""The clone census: Chao1 with its interval against a known number of sites, and unexplained copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import CENSUS, SITES, TRANSGENE
from carvis.report.census import census, census_text, chao1, junction_read_share, write_census


def test_chao1_known_values_and_no_rare_sites() -> None:
    estimate, low, high = chao1([1] * 40 + [2] * 10 + [5] * 20)
    assert estimate == pytest.approx(70 + 40 * 39 / 22)
    assert 70 < low < estimate < high
    assert chao1([3, 4, 9, 2]) == (4.0, 4.0, 4.0)  # no site seen once: nothing unseen


def test_chao1_interval_holds_the_true_number_of_sites() -> None:
    """300 sites, each giving Poisson(0.8-2) fragments; only sites with a fragment are seen."""
    held, estimates = 0, []
    for seed in range(100):
        rng = np.random.default_rng(seed)
        counts = rng.poisson(rng.uniform(0.8, 2.0, 300))
        estimate, low, high = chao1([int(c) for c in counts if c])
        estimates.append(estimate)
        held += low <= 300 <= high
    assert held >= 90
    assert abs(np.mean(estimates) - 300) < 15
    assert sum(c > 0 for c in counts) < 260  # the sites seen alone miss many


def test_singletons_seen_only_with_a_junction_read_are_corrected_for() -> None:
    """300 sites with Poisson(0.8-2) fragments, each fragment holding a junction read with probability 0.75;
    a site is seen with two or more fragments, or with one that holds a junction read. Plain Chao1 misses
    the one-fragment sites never seen; with q measured at the sites of two or more fragments the estimate is
    unbiased within 5% and the interval holds the true 300 most of the time."""
    held = held_plain = 0
    estimates = []
    for seed in range(100):
        rng = np.random.default_rng(seed)
        rows = []
        for n in rng.poisson(rng.uniform(0.8, 2.0, 300)):
            split = int(rng.binomial(n, 0.75))
            if n >= 2 or split:
                rows.append({"fragments": str(n), "split_fragments": str(split)})
        counts = [int(r["fragments"]) for r in rows]
        q, n_q = junction_read_share(rows)
        assert 0.65 < q < 0.85 and n_q > 200
        estimate, low, high = chao1(counts, q, n_q)
        estimates.append(estimate)
        held += low <= 300 <= high
        _, low, high = chao1(counts)
        held_plain += low <= 300 <= high
    # Chao1 stays a lower bound under heterogeneous abundance: the interval holds the truth 87 times in 100
    assert held >= 80 and held_plain < 50
    assert abs(np.mean(estimates) - 300) < 15


def test_junction_read_share_needs_enough_fragments() -> None:
    few = [{"fragments": "3", "split_fragments": "1"}, {"fragments": "1", "split_fragments": "1"}]
    assert junction_read_share(few) == (1.0, 3)  # under MIN_Q_FRAGMENTS: no correction
    assert junction_read_share([{"fragments": "12", "split_fragments": "9"}] * 2) == (0.75, 24)
    assert junction_read_share([{"fragments": "12", "split_fragments": "NA"}]) == (1.0, 0)


def _site(fragments: int, clonal: str = "no", fraction: str = "NA") -> dict[str, str]:
    row = dict.fromkeys(SITES, "NA")
    row.update(sample="s1", vector="car", fragments=str(fragments), clonal=clonal, clonal_fraction=fraction)
    return row


def test_census_row_and_the_copies_the_clonal_sites_do_not_explain(tmp_path: Path) -> None:
    """Two clonal sites in every tumour cell at purity 0.5 are 1.0 copy per diploid genome; a VCN of
    1.6 leaves 0.6 copies (37.5%) to other sites."""
    transgene = dict.fromkeys(TRANSGENE, "NA")
    transgene.update(sample="s1", vector="car", vcn="1.6", vcn_low="1.2", vcn_high="2.0", detected="yes")
    sites = [_site(30, "yes", "1.0"), _site(28, "yes", "1.0"), *(_site(1) for _ in range(6)), _site(2)]
    row = census(sites, transgene, 0.5)
    assert (row["sites_observed"], row["sites_one_fragment"], row["sites_two_fragments"]) == (9, 6, 1)
    assert row["sites_estimated"] == pytest.approx(9 + 6 * 5 / 4, abs=0.05)
    assert (row["clonal_copies"], row["unexplained_copies"]) == (1.0, 0.6)
    assert row["unexplained_share"] == pytest.approx(0.375)
    assert (row["unexplained_share_low"], row["unexplained_share_high"]) == (
        pytest.approx(1 / 6, abs=1e-4),
        0.5,
    )
    paths = tmp_path / "t.tsv", tmp_path / "s.tsv", tmp_path / "c.tsv"
    write_tsv(paths[0], TRANSGENE, [transgene])
    write_tsv(paths[1], SITES, sites)
    write_census("s1", 0.5, paths[0], paths[1], paths[2])
    written = read_tsv(paths[2])
    assert list(written[0]) == list(CENSUS) and written[0]["unexplained_share"] == "0.375"
    words = census_text(written[0])
    assert "9 integration site(s) seen, 6 of them with one fragment and 1 with two" in words
    assert (
        "The 2 clonal site(s) explain 1 of 1.6 vector copies per diploid genome; 38% of the copies (17%–50% "
        in words
    )
    transgene["vcn"] = "NA"
    assert census(sites, transgene, 0.5)["unexplained_share"] is None
