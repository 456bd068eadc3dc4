"""The clone census: Chao1 with its interval against a known number of sites, and unexplained copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import CENSUS, SITES, TRANSGENE
from carvis.report.census import census, census_text, chao1, write_census


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
