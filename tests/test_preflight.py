"""Preflight checks on small files with a known defect: each names the file, the line and the fix."""

from __future__ import annotations

import gzip
import random
import subprocess
from pathlib import Path

import pytest
from helpers import random_seq, transposon_plasmid, write_fasta

from carvis.core.errors import InputError
from carvis.core.io import read_tsv
from carvis.reference.genes import GeneLists, read_gtf
from carvis.reference.preflight import (
    Report,
    check_annotation,
    check_bwa_index,
    check_gene_lists,
    check_genome,
    check_reference,
    check_vector_file,
    check_vectors,
    genome_contigs,
    read_bwa_index,
    write_report,
)
from carvis.reference.vectors import KINDS
from carvis.sites.annotate import Annotator

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"


def raised(func, *args) -> InputError:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        func(*args)
    return info.value


def _gtf(path: Path, contigs: dict[str, list[str]]) -> Path:
    """One 1-kb gene per name on each contig."""
    lines = []
    for contig, names in contigs.items():
        for i, name in enumerate(names):
            start = 1000 * i + 1
            lines.append(
                f'{contig}\tt\tgene\t{start}\t{start + 999}\t.\t+\t.\tgene_id "{name}.1"; gene_name "{name}";'
            )
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- vectors


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", None, "empty"),
        ("\n\n", None, "empty"),
        (">car\n", 1, "header but no sequence"),
        (">car\nACGTNNACGT\n>car\nACGT\n", 3, "'car' is given twice (lines 1 and 3)"),
        (">car\nACGT\nMEEPQSDPSVLEPPLSQETF\n", 3, "protein"),
        (">car\nACGT-ACGT\n", 2, "not DNA bases: -"),
        ("ACGT\n>car\nACGT\n", 1, "expected a '>name' header line"),
    ],
)
def test_bad_vector_files(tmp_path: Path, text: str, line: int | None, words: str) -> None:
    path = tmp_path / "car.fa"
    path.write_text(text)
    err = raised(check_vector_file, path)
    assert err.path == str(path) and err.line == line and words in err.problem and err.fix


def test_good_vector_file_with_n_passes(tmp_path: Path) -> None:
    seq = random_seq(random.Random(1), 500)
    check_vector_file(write_fasta(tmp_path / "car.fa", {"car": seq[:250] + "NNNN" + seq[250:].lower()}))


def test_provirus_range_against_the_kind_motifs(tmp_path: Path) -> None:
    lenti = {"sequence": str(DEMO / "vector.fa"), "kind": "lentiviral", "provirus": [2024, 7670]}
    err = raised(check_vectors, {"car": lenti})
    assert err.path == str(DEMO / "vector.fa")
    assert (
        "provirus range 2024-7670 ends '…" in err.problem
        and "lentiviral provirus ends AAAATCTCTAGCA" in err.problem
    )
    assert "check the provirus end of vectors.car.provirus (1-based, inclusive)" in err.fix
    plasmid, (start, end) = transposon_plasmid(random.Random(3), KINDS["piggybac"])
    path = write_fasta(tmp_path / "pb.fa", {"pb": plasmid})
    spec = {"sequence": str(path), "kind": "piggybac", "provirus": [start + 1, end]}
    err = raised(check_vectors, {"pb": spec})
    expected = f"starts {plasmid[start : start + 13] + '…'!r} but a piggybac provirus starts CCCTAGAAAGATA"
    assert expected in err.problem and "check the provirus start" in err.fix
    spec["provirus"] = [start, end]
    assert check_vectors({"pb": spec})["pb"].provirus == plasmid[start - 1 : end]


def test_kind_other_without_range_is_the_whole_sequence(tmp_path: Path) -> None:
    seq = random_seq(random.Random(2), 4000)
    path = write_fasta(tmp_path / "aav.fa", {"aav": seq})
    model = check_vectors({"aav": {"sequence": str(path), "kind": "other"}})["aav"]
    assert model.provirus == seq and model.backbone == "" and model.contigs() == {"aav__provirus": seq}


# --------------------------------------------------------------------------- genome


def test_genome_names_and_lengths_streamed_or_from_fai(tmp_path: Path) -> None:
    fasta = tmp_path / "g.fa"  # lines of 60 bases: chr2's header is line 5
    fasta.write_text("\n".join([">chr1", "A" * 60, "A" * 60, "A" * 10, ">chr2", "C" * 60, "C" * 10]) + "\n")
    assert [(c.name, c.length, c.line) for c in check_genome(fasta)] == [("chr1", 130, 1), ("chr2", 70, 5)]
    packed = tmp_path / "g.fa.gz"
    packed.write_bytes(gzip.compress(fasta.read_bytes()))
    assert [c.length for c in genome_contigs(packed)] == [130, 70]
    Path(f"{fasta}.fai").write_text("chr1\t999\t6\t60\t61\n")  # the index is trusted when up to date
    assert [(c.name, c.length) for c in genome_contigs(fasta)] == [("chr1", 999)]


def test_ambiguous_letters_are_counted_when_streamed(tmp_path: Path) -> None:
    fasta = tmp_path / "g.fa"  # Ns, an IUPAC R and soft-masked bases; chr2 in lines with CRLF ends
    fasta.write_bytes(b">chr1 x\nACGTNNNN\nacgtnR\n>chr2\r\nNNAC\r\nGT\r\n")
    assert [(c.name, c.length, c.ambiguous) for c in genome_contigs(fasta, True)] == [
        ("chr1", 14, 6),
        ("chr2", 6, 2),
    ]
    Path(f"{fasta}.fai").write_text("chr1\t14\t8\t8\t9\nchr2\t6\t38\t4\t6\n")
    assert [c.ambiguous for c in genome_contigs(fasta)] == [None, None]  # from the .fai: not counted
    assert [c.ambiguous for c in genome_contigs(fasta, True)] == [6, 2]


def _bwa_index(fasta: Path) -> Path:
    subprocess.run(["bwa", "index", str(fasta)], check=True, capture_output=True)
    return fasta


def test_a_given_bwa_index_must_be_of_the_genome(tmp_path: Path) -> None:
    """reference.bwa_index: bwa's own index of the genome passes; one of the same contigs and lengths but
    other N runs (a masked PAR, say), a missing contig or another length is named; so is a damaged .ann."""
    rng = random.Random(3)
    seqs = {"chr1": random_seq(rng, 5000), "chr2": random_seq(rng, 3000), "chrY": random_seq(rng, 4000)}
    seqs["chr1"] = seqs["chr1"][:1000] + "N" * 200 + seqs["chr1"][1200:4000] + "N" * 50 + seqs["chr1"][4050:]
    genome = write_fasta(tmp_path / "genome.fa", seqs)
    own = _bwa_index(genome)
    assert read_bwa_index(own) == {"chr1": (5000, 250), "chr2": (3000, 0), "chrY": (4000, 0)}
    reference = {"genome": str(genome), "annotation": str(_gtf(tmp_path / "a.gtf", {c: ["G"] for c in seqs}))}
    check_reference({**reference, "bwa_index": str(own)}, [])  # its own index: no error

    masked = {**seqs, "chrY": "N" * 500 + seqs["chrY"][500:]}  # chrY's first 500 bases masked
    other = _bwa_index(write_fasta(tmp_path / "other" / "masked.fa", masked))
    err = raised(check_reference, {**reference, "bwa_index": str(other)}, [])
    assert err.path == f"{other}.ann" and "is not an index of reference.genome" in err.problem
    assert "chrY has 0 non-ACGT bases in the genome but 500 in the index" in err.problem
    assert "bwa index GENOME" in err.fix

    fewer = _bwa_index(
        write_fasta(tmp_path / "fewer" / "g.fa", {"chr1": seqs["chr1"], "chr2": seqs["chr2"][:-1]})
    )
    problem = raised(check_bwa_index, fewer, check_genome(genome, True)).problem
    assert "chr2 has 3,000 bases in the genome but 2,999 in the index" in problem
    assert "chrY is not in the index" in problem

    damaged = Path(f"{own}.ann")
    damaged.write_text(damaged.read_text().replace("0 chr2", "chr2"))
    assert raised(read_bwa_index, own).line == 4


@pytest.mark.parametrize(
    ("seqs", "line", "words"),
    [
        ({"chr1": "ACGT", "chr2": "ACGT", "chr1 again": "ACGT"}, 5, "'chr1' is named twice (lines 1 and 5)"),
        ({"chr1": "ACGT", "car__backbone": "ACGT"}, 3, "named like a carvis vector contig"),
    ],
)
def test_bad_genome_names(tmp_path: Path, seqs: dict[str, str], line: int, words: str) -> None:
    fasta = write_fasta(tmp_path / "g.fa", seqs)
    err = raised(check_genome, fasta)
    assert err.path == str(fasta) and err.line == line and words in err.problem


def test_corrupt_or_non_fasta_genome(tmp_path: Path) -> None:
    packed = tmp_path / "g.fa.gz"
    packed.write_bytes(gzip.compress(b">chr1\n" + random_seq(random.Random(4), 50_000).encode())[:3000])
    assert "truncated or damaged" in raised(check_genome, packed).problem
    text = tmp_path / "g.txt"
    text.write_text("\nhello\n")
    err = raised(check_genome, text)
    assert err.line == 2 and "not a FASTA file" in err.problem
    (tmp_path / "empty.fa").write_text("")
    assert "no sequences" in raised(check_genome, tmp_path / "empty.fa").problem


# --------------------------------------------------------------------------- annotation and gene lists


def _contigs(tmp_path: Path) -> list:  # type: ignore[type-arg]
    fasta = write_fasta(
        tmp_path / "g.fa", {"chr1": "A" * 6000, "chr2": "C" * 2000, "chrUn_KI270302v1": "G" * 50}
    )
    return check_genome(fasta)


def test_annotation_share_and_unannotated_contigs(tmp_path: Path) -> None:
    contigs = _contigs(tmp_path)
    gtf = _gtf(tmp_path / "a.gtf", {"1": ["LMO2"], "chr2": ["MYC"]})  # 1 and chr1 are one contig
    report = Report()
    check_annotation(gtf, contigs, False, report)
    assert report.genes == 2 and report.annotated_share == 8000 / 8050
    assert (
        report.unannotated == ["chrUn_KI270302v1"] and not report.warnings
    )  # unplaced: no annotation needed

    partial = _gtf(tmp_path / "p.gtf", {"chr1": ["LMO2"]})
    err = raised(check_annotation, partial, contigs, False, Report())
    assert (
        err.path == str(partial) and "1 genome contig(s) have no gene in the annotation: chr2" in err.problem
    )
    assert "74.5% of the genome length" in err.problem and "partial_annotation: true" in err.fix
    report = Report()
    check_annotation(partial, contigs, True, report)
    assert report.unannotated == ["chr2", "chrUn_KI270302v1"] and "chr2" in report.warnings[0]

    other = _gtf(tmp_path / "o.gtf", {"scaffold_9": ["LMO2"]})
    err = raised(check_annotation, other, contigs, True, Report())
    assert "none of its contigs (scaffold_9) is a genome contig (chr1, chr2, chrUn_KI270302v1)" in err.problem


def test_annotation_without_genes_is_a_warning_and_sites_read_no_annotation(tmp_path: Path) -> None:
    empty = tmp_path / "e.gtf"
    empty.write_text("#!genome-build toy\n")
    report = Report()
    annotation = check_annotation(empty, _contigs(tmp_path), False, report)
    assert report.genes == 0 and "no genes" in report.warnings[0]
    site = Annotator(annotation, GeneLists([])).annotate("chr1", 500, "+")
    assert site["region"] == "no_annotation" and site["proximity_tier"] == "unknown" and site["gene"] is None


def test_bad_gtf_line_is_named(tmp_path: Path) -> None:
    gtf = _gtf(tmp_path / "a.gtf", {"chr1": ["LMO2", "MYC"]})
    gtf.write_text(gtf.read_text() + "chr1\tt\tgene\t5\n")
    err = raised(check_annotation, gtf, _contigs(tmp_path), False, Report())
    assert err.line == 3 and "expected 9 tab-separated columns" in err.problem


def test_gene_lists_against_the_annotation(tmp_path: Path) -> None:
    annotation = read_gtf(_gtf(tmp_path / "a.gtf", {"chr1": ["LMO2", "MYC", "SSU72"]}))
    some = tmp_path / "some.tsv"
    some.write_text("gene\tcategory\nLMO2\toncogene\nmyc\toncogene\nNOPE1\toncogene\n")
    report = Report()
    check_gene_lists([some], annotation, report)
    assert (report.gene_list_symbols, report.gene_list_known) == (3, 2)
    assert "1 of 3 gene symbols are not in the annotation (NOPE1)" in report.warnings[0]
    none = tmp_path / "none.tsv"
    none.write_text("gene\nENSG00000135363\n")
    err = raised(check_gene_lists, [none], annotation, Report())
    assert err.path == str(none) and "none of its 1 gene symbols (ENSG00000135363)" in err.problem
    headless = tmp_path / "headless.tsv"
    headless.write_text("LMO2\toncogene\n")
    err = raised(check_gene_lists, [headless], annotation, Report())
    assert err.line == 1 and "required column: gene" in err.problem and "gene<TAB>category" in err.fix


def test_reference_report_round_trip(tmp_path: Path) -> None:
    lists = [str(ROOT / "resources" / "cancer_genes" / "cancer_genes.tsv")]
    reference = {"genome": str(DEMO / "genome.fa"), "annotation": str(DEMO / "annotation.gtf")}
    report, annotation = check_reference(reference, lists)
    write_report(tmp_path / "preflight.tsv", report)
    rows = {r["figure"]: r["value"] for r in read_tsv(tmp_path / "preflight.tsv", ("figure", "value"))}
    assert rows["genome_contigs"] == "3" and rows["genome_length"] == "1200000" and rows["genes"] == "25"
    assert rows["annotated_share"] == "1.0000" and rows["unannotated_contigs"] == "none"
    assert (rows["gene_list_symbols"], rows["gene_list_known"]) == ("205", "15")
    assert "190 of 205 gene symbols" in rows["warning"]
    assert sum(len(index.genes) for index in annotation.genes.values()) == 25  # the parse preflight pickles
