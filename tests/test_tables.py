"""The typed rows of the evidence and sites tables: one definition of the columns, written and read back."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import EVIDENCE, SITES, EvidenceRow, SiteRow


def test_the_columns_are_the_fields_of_the_row_types() -> None:
    assert tuple(f.name for f in fields(EvidenceRow)) == EVIDENCE
    assert tuple(f.name for f in fields(SiteRow)) == SITES
    assert EVIDENCE[:5] == ("fragment", "read", "kind", "chrom", "host_pos") and len(EVIDENCE) == 17
    assert SITES[:4] == ("sample", "vector", "chrom", "position") and SITES[-1] == "host_deletion"


def test_evidence_rows_are_written_and_read_back_unchanged(tmp_path: Path) -> None:
    rows = [
        EvidenceRow(
            fragment="f1",
            read=1,
            kind="split",
            chrom="chr1",
            host_pos=1000,
            side="left",
            vector="lv",
            vector_end="5p",
            vector_pos=1,
            anchor_offset=0,
            host_mapq=60,
            vector_mapq=0,
            precise=True,
            duplicate=True,
            flags=("homologous", "low_mapq"),
            vector_bases=40,
            host_bases=110,
        ),
        EvidenceRow(fragment="f2", kind="spanning", chrom="chr1", host_pos=996, vector="lv"),
        EvidenceRow(fragment="f3", kind="discordant", chrom="chr2", host_pos=5, vector="lv", precise=False),
    ]
    path = tmp_path / "evidence.tsv"
    write_tsv(path, EVIDENCE, (row.cells() for row in rows))
    table = read_tsv(path)
    assert table[0]["flags"] == "homologous,low_mapq" and table[0]["duplicate"] == "yes"
    assert table[1]["side"] == table[1]["flags"] == table[1]["precise"] == "NA" and table[1]["read"] == "0"
    assert [EvidenceRow.from_cells(cells) for cells in table] == rows


def test_site_rows_render_missing_values_as_na(tmp_path: Path) -> None:
    row = SiteRow(sample="T", vector="lv", chrom="chr1", position=996, orientation="+", fragments=3)
    path = tmp_path / "sites.tsv"
    write_tsv(path, SITES, [row.cells()])
    (cells,) = read_tsv(path)
    assert list(cells) == list(SITES)
    assert cells["tsd"] == cells["clonal_fraction"] == "NA" and cells["precise"] == "yes"
    assert cells["support"] == "multiple" and cells["fragments"] == "3"
