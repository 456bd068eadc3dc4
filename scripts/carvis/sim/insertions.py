"""The insertion model of the simulators: integrations (read from a design TSV or drawn at random), the
genome they go into and the truth tables they produce.

An insertion replaces a fraction g = cell_fraction / 2 of the reference alleles at its target site by the
modified allele host[..a+t-1] + INSERT + host[a..] (a the first TSD base, t the TSD length). INSERT is the
vector's provirus, or (``insert``) another piece of the plasmid: a genome-homologous part or backbone, an
artefact that is no integration of the provirus and so no row of the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from Bio.SeqIO.FastaIO import SimpleFastaParser

from carvis.core.errors import InputError
from carvis.core.io import read_tsv
from carvis.reference.vectors import VectorModel

#: Columns of ``{out_prefix}.truth_transgene.tsv``.
TRUTH_TRANSGENE = ("sample", "vector", "vcn", "vcn_per_tumour_cell", "plasmid_contamination")
CLASSES = ("clonal", "bystander")


@dataclass
class Insertion:
    """One simulated integration (position = 1-based first TSD base, heterozygous in cell_fraction).

    ``host_deletion``: host bases lost at the insertion (AAV-like, kind other; no TSD then): the vector
    replaces ``position - host_deletion .. position - 1``, so the right junction is ``position`` and the
    left one ``position - host_deletion - 1``. ``name`` starts the names of its fragments when the reads
    are named by origin. ``insert``: the inserted sequence when it is not the provirus (an artefact, see
    the module docstring). ``discordant_only``: no read of the modified allele crosses a junction (only
    pairs with one mate on each side show the site). ``fragment_mean``: the mean fragment length of the
    modified allele, when not the library's.
    """

    chrom: str
    position: int
    orientation: str
    cell_fraction: float
    tsd_length: int | None = None
    label: str = "clonal"
    host_deletion: int = 0
    name: str = ""
    insert: str = ""
    discordant_only: bool = False
    fragment_mean: float | None = None

    @property
    def is_site(self) -> bool:
        """Is this an integration of the provirus (a truth row)?"""
        return not self.insert


@dataclass(frozen=True)
class SiteDraw:
    """What :func:`random_insertions` draws: ``n`` sites at a uniform cell fraction in ``cell_fraction``, with
    no N within ``flank`` bp, starting with the ``target`` motif (e.g. ``TTAA`` for piggyBac) if given."""

    n: int
    cell_fraction: tuple[float, float]
    label: str = "bystander"
    flank: int = 500
    target: str = ""


# ---------------------------------------------------------------- inputs


def read_genome(path: str | Path) -> dict[str, str]:
    """Contig name (first word) to upper-case sequence."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "genome FASTA not found", "check the --genome path")
    with open(path) as handle:
        genome = {title.split()[0]: seq.upper() for title, seq in SimpleFastaParser(handle)}
    if not genome:
        raise InputError(path, "no FASTA records found", "give a FASTA file with the reference contigs")
    return genome


def _design_value(
    path: Path, line: int, column: str, text: str, convert: Callable[[str], Any], fix: str
) -> Any:
    try:
        return convert(text)
    except ValueError as exc:
        raise InputError(path, f"{column} {text!r} is not valid", fix, line) from exc


def read_design(path: str | Path) -> list[Insertion]:
    """Read insertions from a TSV: chrom, position, orientation, cell_fraction[, tsd_length][, class]
    [, host_deletion]."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "design file not found", "check the --design path")
    rows = read_tsv(path)
    with open(path) as handle:
        header = handle.readline().rstrip("\n").split("\t")
    missing = [c for c in ("chrom", "position", "orientation", "cell_fraction") if c not in header]
    if missing:
        raise InputError(
            path,
            f"missing column(s) {', '.join(missing)}",
            "use a tab-separated header: chrom, position, orientation, cell_fraction[, tsd_length][, class]",
            1,
        )
    out = []
    for line, row in enumerate(rows, start=2):
        if None in row.values() or None in row:
            raise InputError(path, "wrong number of fields", "give one tab-separated value per column", line)
        position = _design_value(path, line, "position", row["position"], int, "give a 1-based integer")
        fraction = _design_value(
            path, line, "cell_fraction", row["cell_fraction"], float, "give a number in (0, 1]"
        )
        tsd_text = (row.get("tsd_length") or "").strip()
        tsd = None
        if tsd_text not in {"", "NA"}:
            tsd = _design_value(path, line, "tsd_length", tsd_text, int, "give an integer >= 0 or NA")
        label = (row.get("class") or "clonal").strip()
        deletion_text = (row.get("host_deletion") or "").strip()
        deletion = 0
        if deletion_text not in {"", "NA"}:
            deletion = _design_value(
                path, line, "host_deletion", deletion_text, int, "give an integer >= 0 or NA"
            )
        insertion = Insertion(
            row["chrom"].strip(), position, row["orientation"].strip(), fraction, tsd, label, deletion
        )
        problem = _insertion_problem(insertion)
        if problem:
            raise InputError(path, problem[0], problem[1], line)
        out.append(insertion)
    return out


def _insertion_problem(ins: Insertion) -> tuple[str, str] | None:
    """(problem, fix) for an invalid insertion independent of the genome, else None."""
    if ins.orientation not in {"+", "-"}:
        return f"orientation {ins.orientation!r} is not + or -", "use + or -"
    if not 0 < ins.cell_fraction <= 1:
        return f"cell_fraction {ins.cell_fraction} is outside (0, 1]", "give the fraction of cells, e.g. 0.8"
    if ins.position < 1:
        return f"position {ins.position} is not 1-based", "give the first target-site base, >= 1"
    if ins.tsd_length is not None and ins.tsd_length < 0:
        return f"tsd_length {ins.tsd_length} is negative", "give an integer >= 0 or NA"
    if ins.host_deletion < 0:
        return f"host_deletion {ins.host_deletion} is negative", "give an integer >= 0"
    if ins.host_deletion and ins.tsd_length:
        return "a site has a target-site duplication or a host deletion, not both", "set tsd_length 0"
    if ins.fragment_mean is not None and ins.fragment_mean <= 0:
        return f"fragment_mean {ins.fragment_mean} must be > 0", "give a mean fragment length in bp"
    if ins.label not in CLASSES:
        return f"class {ins.label!r} is not one of {', '.join(CLASSES)}", "use clonal or bystander"
    return None


def check_insertions(genome: Mapping[str, str], vector: VectorModel, insertions: Sequence[Insertion]) -> None:
    for ins in insertions:
        problem = _insertion_problem(ins)
        if problem is None and ins.chrom not in genome:
            problem = (
                f"contig {ins.chrom!r} is not in the genome",
                "use a contig name from the genome FASTA",
            )
        if problem is None:
            end = ins.position + tsd_length(ins, vector) - 1
            if end > len(genome[ins.chrom]) or ins.position - ins.host_deletion < 2:
                problem = (f"target site {ins.chrom}:{ins.position} runs off the contig", "move the site")
        if problem:
            raise InputError(None, f"insertion {ins.chrom}:{ins.position}: {problem[0]}", problem[1])


def random_insertions(genome: Mapping[str, str], rng: np.random.Generator, draw: SiteDraw) -> list[Insertion]:
    """``draw.n`` random sites away from N, random orientation, uniform cell fraction (:class:`SiteDraw`)."""
    n, flank, target = draw.n, draw.flank, draw.target
    names = [c for c, s in genome.items() if len(s) > 2 * flank + 10]
    if n and not names:
        raise InputError(None, f"no contig is longer than {2 * flank + 10} bp", "use a larger genome")
    weights = np.array([len(genome[c]) for c in names], dtype=float)
    out: list[Insertion] = []
    for _ in range(1000 * max(n, 1)):
        if len(out) == n:
            break
        chrom = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        pos = int(rng.integers(flank + 1, len(genome[chrom]) - flank))
        orientation = "+" if rng.random() < 0.5 else "-"
        fraction = float(rng.uniform(*draw.cell_fraction))
        clear = "N" not in genome[chrom][pos - 1 - flank : pos + flank]
        if clear and genome[chrom][pos - 1 : pos - 1 + len(target)] == target.upper():
            out.append(Insertion(chrom, pos, orientation, round(fraction, 5), None, draw.label))
    if len(out) < n:
        where = f" starting {target}" if target else ""
        raise InputError(None, f"found only {len(out)} N-free sites{where}", "use a genome with less N")
    return out


# ---------------------------------------------------------------- truth


def tsd_length(ins: Insertion, vector: VectorModel) -> int:
    """The insertion's TSD length: its own, else the vector kind's (none with a host deletion)."""
    if ins.host_deletion:
        return 0
    return vector.tsd_length if ins.tsd_length is None else ins.tsd_length


def left_junction(ins: Insertion, vector: VectorModel) -> int:
    """The last host base before the vector (1-based)."""
    return ins.position + tsd_length(ins, vector) - 1 - ins.host_deletion


def clonal_fraction(cell_fraction: float, purity: float | None) -> float:
    """Fraction of (tumour) cells carrying a site: cell_fraction / purity capped at 1."""
    return cell_fraction if purity is None else min(1.0, cell_fraction / purity)


def truth_rows(
    genome: Mapping[str, str],
    vector: VectorModel,
    insertions: Sequence[Insertion],
    *,
    sample: str,
    purity: float | None = None,
    fragments: Sequence[int] | None = None,
) -> list[dict[str, object]]:
    """The TRUTH rows of the insertions that are sites (``fragments`` NA unless given, one count per
    insertion)."""
    rows = []
    for i, ins in enumerate(insertions):
        if not ins.is_site:
            continue
        t = tsd_length(ins, vector)
        a = ins.position
        rows.append(
            {
                "sample": sample,
                "vector": vector.name,
                "chrom": ins.chrom,
                "position": a,
                "orientation": ins.orientation,
                "left_junction": left_junction(ins, vector),
                "right_junction": a,
                "tsd_length": t,
                "tsd": genome[ins.chrom][a - 1 : a + t - 1] if t else None,
                "fragments": None if fragments is None else int(fragments[i]),
                "clonal_fraction": round(clonal_fraction(ins.cell_fraction, purity), 6),
                "cell_fraction": ins.cell_fraction,
                "class": ins.label,
            }
        )
    return rows


def transgene_truth(
    vector: VectorModel,
    insertions: Sequence[Insertion],
    *,
    sample: str,
    purity: float | None,
    contamination: float,
) -> dict[str, object]:
    """The truth_transgene row: VCN per diploid genome and per tumour cell."""
    vcn = float(sum(i.cell_fraction for i in insertions if i.is_site))
    return {
        "sample": sample,
        "vector": vector.name,
        "vcn": round(vcn, 6),
        "vcn_per_tumour_cell": None if purity is None else round(vcn / purity, 6),
        "plasmid_contamination": "yes" if contamination > 0 else "no",
    }
