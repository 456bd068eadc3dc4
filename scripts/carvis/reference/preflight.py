"""Checks of the reference inputs before any alignment: vector files, genome FASTA (and a bwa index of it, if
given), GTF and gene lists.

Every failure is one :class:`carvis.core.errors.InputError` naming the file, the line and the fix. The
cheap vector checks (:func:`check_vectors`) run when the workflow starts; the costly ones
(:func:`check_reference`: genome contig names, the GTF, the gene lists) run once in the rule
``preflight``, which writes :func:`write_report`'s table. ``carvis validate`` runs both.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carvis.core.errors import InputError
from carvis.core.io import write_tsv
from carvis.core.seqs import Contig, genome_contigs, read_single_record, sequence_format
from carvis.reference.genes import GenomeAnnotation, load_gene_lists, read_gtf
from carvis.reference.vectors import VectorModel, configured_vector, contig_owner

#: Sequence letters a vector may hold (IUPAC N stands for an unknown base).
_DNA = frozenset("ACGTN")
#: Letters that occur in protein sequences but are no IUPAC nucleotide code.
_PROTEIN_ONLY = frozenset("EFILPQZ*")
#: Genome contigs that need no annotation: GRCh38/GRCh37 alt, fix-patch, unplaced, unlocalised,
#: decoy, HLA and EBV sequences (by their UCSC or Ensembl names).
MINOR_CONTIG = re.compile(
    r"(_alt|_fix|_random|_decoy)$|^(chrUn|Un_|HLA-|chrEBV$|EBV$|KI\d+\.\d+$|GL\d+\.\d+$|hs37d5$)"
)
_VECTOR_FIX = "give the plasmid as FASTA (a '>name' line, then its bases) or GenBank, one sequence per file"


@dataclass
class Report:
    """The figures the preflight rule writes and ``carvis validate`` prints."""

    genome_contigs: int = 0
    genome_length: int = 0
    annotated_length: int = 0
    genes: int = 0
    gene_list_symbols: int = 0
    gene_list_known: int = 0
    unannotated: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def annotated_share(self) -> float:
        """Share of the genome length on contigs that have annotation."""
        return self.annotated_length / self.genome_length if self.genome_length else 0.0

    def figures(self) -> list[tuple[str, str]]:
        """(figure, value) rows, one ``warning`` row per warning."""
        rows = [
            ("genome_contigs", str(self.genome_contigs)),
            ("genome_length", str(self.genome_length)),
            ("annotated_share", f"{self.annotated_share:.4f}"),
            ("unannotated_contigs", ",".join(self.unannotated) or "none"),
            ("genes", str(self.genes)),
            ("gene_list_symbols", str(self.gene_list_symbols)),
            ("gene_list_known", str(self.gene_list_known)),
        ]
        return rows + [("warning", w) for w in self.warnings]


# --------------------------------------------------------------------------- vectors


def _fasta_records(path: Path, lines: Sequence[str]) -> Iterator[tuple[str, int, list[tuple[int, str]]]]:
    """(name, header line, [(line, bases)]) per record; text before the first header is an error."""
    name, at = "", 0
    body: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if text.startswith(">"):
            if at:
                yield name, at, body
            name, at, body = (text[1:].split() or [""])[0], number, []
        elif text and not at:
            raise InputError(
                path, f"expected a '>name' header line, found {text[:40]!r}", _VECTOR_FIX, number
            )
        elif text:
            body.append((number, text))
    if at:
        yield name, at, body


def check_vector_file(path: str | Path) -> None:
    """An existing, non-empty file with one named DNA sequence (FASTA checked line by line)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "vector file not found", "check the path under vectors: in the config")
    text = path.read_text(errors="replace")
    if not text.strip():
        raise InputError(path, "the vector file is empty", _VECTOR_FIX)
    if sequence_format(path) == "fasta":
        seen: dict[str, int] = {}
        for name, at, body in _fasta_records(path, text.splitlines()):
            if name in seen:
                raise InputError(
                    path,
                    f"the record name {name!r} is given twice (lines {seen[name]} and {at})",
                    "keep one plasmid per file, with one '>name' line",
                    at,
                )
            seen[name] = at
            if not body:
                raise InputError(path, f"the record {name!r} has a header but no sequence", _VECTOR_FIX, at)
            for number, bases in body:
                bad = set(bases.upper()) - _DNA
                if bad:
                    protein = " (this looks like a protein sequence)" if bad & _PROTEIN_ONLY else ""
                    raise InputError(
                        path,
                        f"letters that are not DNA bases: {', '.join(sorted(bad))}{protein}",
                        "give the plasmid's DNA sequence: A, C, G, T, and N for unknown bases",
                        number,
                    )
    read_single_record(path)


def check_vectors(vectors: Mapping[str, Mapping[str, Any]]) -> dict[str, VectorModel]:
    """Check each configured vector's file and derive its model (provirus ends against the kind's motifs)."""
    models = {}
    for name, spec in vectors.items():
        check_vector_file(spec["sequence"])
        models[name] = configured_vector(name, spec)
    return models


# --------------------------------------------------------------------------- genome


def check_genome(fasta: str | Path, ambiguous: bool = False) -> list[Contig]:
    """Contigs of a readable genome FASTA with unique names, none named like a vector contig (with their
    ambiguous letters counted if ``ambiguous``)."""
    contigs = genome_contigs(fasta, ambiguous)
    if not contigs:
        raise InputError(fasta, "no sequences in the genome FASTA", "check reference.genome in the config")
    seen: dict[str, int] = {}
    for contig in contigs:
        if contig.name in seen:
            raise InputError(
                fasta,
                f"contig {contig.name!r} is named twice (lines {seen[contig.name]} and {contig.line})",
                "give each contig a unique name (an aligner cannot tell two contigs of one name apart)",
                contig.line,
            )
        seen[contig.name] = contig.line
        if contig_owner(contig.name):
            raise InputError(
                fasta,
                f"genome contig {contig.name!r} is named like a carvis vector contig",
                "rename the contig: names ending in __provirus or __backbone are reserved for vectors",
                contig.line,
            )
    return contigs


def _index_lines(path: Path) -> Iterator[tuple[int, list[int | str]]]:
    """(line number, cells) of a bwa .ann or .amb file, numbers as int."""
    if not path.is_file():
        raise InputError(path, "bwa index file not found", "rebuild the index: bwa index GENOME_FASTA")
    with open(path, encoding="latin-1") as handle:
        for number, line in enumerate(handle, start=1):
            yield number, [int(c) if c.isdigit() else c for c in line.split()]


def read_bwa_index(prefix: str | Path) -> dict[str, tuple[int, int]]:
    """Contig name -> (length, ambiguous bases) of the bwa index at ``prefix``, from its .ann and .amb
    (bwa stores each run of non-ACGT letters as a hole in .amb, and a random base in .pac)."""
    ann, amb = Path(f"{prefix}.ann"), Path(f"{prefix}.amb")
    starts: list[tuple[int, str]] = []
    lengths: dict[str, int] = {}
    pending = ""
    for number, cells in _index_lines(ann):
        numbers = len(cells) == 3 and all(isinstance(c, int) for c in cells)
        if number > 1 and number % 2 == 0 and len(cells) >= 2 and isinstance(cells[0], int):
            pending = str(cells[1])  # gi, name, the header's other words
        elif number > 1 and number % 2 and numbers:
            starts.append((int(cells[0]), pending))  # offset, length, ambiguous runs
            lengths[pending] = int(cells[1])
        elif number > 1 or not numbers:
            raise InputError(ann, "not a bwa .ann line", "rebuild the index: bwa index GENOME_FASTA", number)
    holes = dict.fromkeys(lengths, 0)
    offsets = [start for start, _ in starts]
    for number, cells in _index_lines(amb):
        if len(cells) != 3 or not isinstance(cells[0], int) or not isinstance(cells[1], int):
            raise InputError(amb, "not a bwa .amb line", "rebuild the index: bwa index GENOME_FASTA", number)
        if number > 1:
            holes[starts[bisect.bisect_right(offsets, cells[0]) - 1][1]] += cells[1]
    return {name: (lengths[name], holes[name]) for name in lengths}


def check_bwa_index(prefix: str | Path, contigs: Sequence[Contig]) -> None:
    """The bwa index at ``prefix`` holds the genome's contigs, with their lengths and ambiguous bases (an
    index of another build or analysis set, say with chrY's PARs masked, would place clips elsewhere)."""
    index = read_bwa_index(prefix)
    genome = {c.name: (c.length, c.ambiguous) for c in contigs}
    problems = [f"{n} is not in the index" for n in genome if n not in index]
    problems += [f"{n} is in the index but not in the genome" for n in index if n not in genome]
    for name in genome.keys() & index.keys():
        (length, ambiguous), (index_length, holes) = genome[name], index[name]
        if length != index_length:
            problems.append(f"{name} has {length:,} bases in the genome but {index_length:,} in the index")
        elif ambiguous is not None and ambiguous != holes:
            problems.append(
                f"{name} has {ambiguous:,} non-ACGT bases in the genome but {holes:,} in the index"
            )
    if problems:
        raise InputError(
            f"{prefix}.ann",
            f"reference.bwa_index is not an index of reference.genome: {_names(sorted(problems), 3)}",
            "give reference.bwa_index the prefix of a bwa index built from this genome FASTA "
            "(bwa index GENOME), or leave it out and carvis builds one (about 2 hours for GRCh38)",
        )


# --------------------------------------------------------------------------- annotation and gene lists


def _names(contigs: Sequence[str], most: int = 5) -> str:
    shown = ", ".join(contigs[:most])
    return shown + (f" and {len(contigs) - most} more" if len(contigs) > most else "")


def check_annotation(
    gtf: str | Path, contigs: Sequence[Contig], partial: bool, report: Report
) -> GenomeAnnotation:
    """Parse the GTF and require annotation on every genome contig (minor ones aside) unless ``partial``."""
    annotation = read_gtf(gtf)
    report.genes = sum(len(index.genes) for index in annotation.genes.values())
    report.genome_contigs = len(contigs)
    report.genome_length = sum(c.length for c in contigs)
    annotated = [c for c in contigs if annotation.contig(c.name)]
    report.annotated_length = sum(c.length for c in annotated)
    report.unannotated = [c.name for c in contigs if not annotation.contig(c.name)]
    if not report.genes:
        report.warnings.append(
            f"{gtf}: the annotation has no genes; every site will read region no_annotation and "
            "proximity tier unknown"
        )
        return annotation
    if not annotated:
        raise InputError(
            gtf,
            f"none of its contigs ({_names(sorted(annotation.genes))}) is a genome contig "
            f"({_names([c.name for c in contigs])})",
            "give the GTF of the genome build in reference.genome (chr1 and 1 count as the same contig)",
        )
    missing = [c for c in report.unannotated if not MINOR_CONTIG.search(c)]
    if missing and not partial:
        raise InputError(
            gtf,
            f"{len(missing)} genome contig(s) have no gene in the annotation: {_names(missing)}; "
            f"annotated contigs hold {report.annotated_share:.1%} of the genome length",
            "give a GTF covering every genome contig, or set 'partial_annotation: true' under reference: "
            "in the config (sites on those contigs then read region no_annotation, proximity tier unknown)",
        )
    if missing:
        report.warnings.append(
            f"{gtf}: {len(missing)} genome contig(s) without annotation ({_names(missing)}): sites there "
            "read region no_annotation, proximity tier unknown"
        )
    return annotation


def check_gene_lists(paths: Sequence[str | Path], annotation: GenomeAnnotation, report: Report) -> None:
    """Each gene list parses and the annotation knows some of its symbols (none known is an error)."""
    known_names = {g.name.upper() for index in annotation.genes.values() for g in index.genes}
    for gene_list in load_gene_lists(list(paths)).lists:
        symbols = sorted(gene_list.categories)
        known = [s for s in symbols if s in known_names]
        report.gene_list_symbols += len(symbols)
        report.gene_list_known += len(known)
        if not known_names:
            continue
        if not known:
            raise InputError(
                gene_list.path,
                f"none of its {len(symbols)} gene symbols ({_names(symbols)}) is a gene "
                f"name in the annotation {annotation.source}",
                "use the gene symbols of the annotation's gene_name attribute (e.g. LMO2, not an Ensembl "
                "ID), or a GTF of the same species and naming scheme",
            )
        if len(known) < len(symbols):
            unknown = [s for s in symbols if s not in known_names]
            report.warnings.append(
                f"{gene_list.path}: {len(unknown)} of {len(symbols)} gene symbols are not in the annotation "
                f"({_names(unknown)}); sites near them cannot be flagged"
            )


def check_reference(
    reference: Mapping[str, Any], gene_lists: Sequence[str | Path]
) -> tuple[Report, GenomeAnnotation]:
    """The costly checks of a config's ``reference`` section and ``gene_lists``: genome contig names (and a
    given bwa index), the GTF against the genome, the gene lists against the GTF. Returns the report and
    the parsed GTF."""
    report = Report()
    contigs = check_genome(reference["genome"], ambiguous="bwa_index" in reference)
    if "bwa_index" in reference:
        check_bwa_index(reference["bwa_index"], contigs)
    partial = bool(reference.get("partial_annotation", False))
    annotation = check_annotation(reference["annotation"], contigs, partial, report)
    check_gene_lists(gene_lists, annotation, report)
    return report, annotation


def write_report(path: str | Path, report: Report) -> None:
    """The preflight table: columns ``figure`` and ``value`` (see :meth:`Report.figures`)."""
    write_tsv(path, ("figure", "value"), [{"figure": f, "value": v} for f, v in report.figures()])
