"""Annotation benchmark (prints figures; not a test): a GENCODE-sized GTF parsed, cached and loaded.

    python tests/benchmark/annotation_cache.py [--genes 62000] [--workdir /tmp/carvis-annotation]

Writes a seeded GTF of GENCODE's size and shape (``--genes`` genes on chr1-22, X, Y; each with 4 transcripts
of 7 exons, their CDS lines, two UTRs and a start codon; GENCODE-style attributes: 4.5M lines, 2.2 GB at
62,000 genes), then times, each in a fresh Python with ``/usr/bin/time``: ``read_gtf`` (what every sample's
annotate_sites and site_views did before the cache), ``read_gtf`` with ``write_annotation_cache`` (what rule
preflight does: parse and pickle) and ``load_annotation`` of the pickle (what the two sample jobs do now),
three times.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMS = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]


def write_gtf(path: Path, genes: int, seed: int = 1) -> int:
    """A GENCODE-shaped GTF of ``genes`` genes; returns its line count."""
    rng = random.Random(seed)
    lines = 0
    with open(path, "w") as out:
        out.write("##description: synthetic GENCODE-sized GTF (tests/benchmark/annotation_cache.py)\n")
        for g in range(genes):
            chrom, strand = CHROMS[g % len(CHROMS)], rng.choice("+-")
            start = rng.randrange(10_000, 200_000_000)
            end = start + rng.randrange(2_000, 80_000)
            gene = (
                f'gene_id "ENSG{g:011d}.{rng.randrange(1, 20)}"; gene_type "protein_coding"; '
                f'gene_name "GENE{g}"; level 2; hgnc_id "HGNC:{g}"; havana_gene "OTTHUMG{g:011d}.3";'
            )
            rows = [(chrom, "gene", start, end, strand, ".", gene)]
            for t in range(4):
                tx = gene[:-1] + (
                    f'; transcript_id "ENST{g * 4 + t:011d}.2"; transcript_type "protein_coding"; '
                    f'transcript_name "GENE{g}-20{t}"; transcript_support_level "1"; tag "basic"; '
                    f'tag "Ensembl_canonical"; tag "MANE_Select"; tag "CCDS"; ccdsid "CCDS{g}.1";'
                )
                rows.append((chrom, "transcript", start, end, strand, ".", tx))
                pos = start
                for e in range(7):
                    exon_start = pos + rng.randrange(100, 5_000)
                    pos = exon_start + rng.randrange(50, 300)
                    exon = tx + f' exon_number {e + 1}; exon_id "ENSE{g * 28 + t * 7 + e:011d}.1";'
                    rows.append((chrom, "exon", exon_start, pos, strand, ".", exon))
                    rows.append((chrom, "CDS", exon_start, pos, strand, "0", exon))
                rows.append((chrom, "UTR", start, start + 100, strand, ".", tx))
                rows.append((chrom, "UTR", pos - 100, pos, strand, ".", tx))
                rows.append((chrom, "start_codon", start, start + 2, strand, "0", tx))
            for c, feature, s, e, st, frame, attrs in rows:
                out.write(f"{c}\tHAVANA\t{feature}\t{s}\t{e}\t.\t{st}\t{frame}\t{attrs}\n")
            lines += len(rows)
    return lines


def timed(label: str, code: str) -> None:
    """Run ``code`` in a fresh Python under /usr/bin/time; print wall seconds and peak RSS."""
    command = ["/usr/bin/time", "-f", "%e %M", sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT / "scripts")
    wall, rss = result.stderr.split()[-2:]
    print(f"{label}: {float(wall):.2f} s wall, {int(rss) / 1024:,.0f} MB peak RSS", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=62_000, help="genes in the GTF (GENCODE v44: ~62,700)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/carvis-annotation"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    gtf, cache = args.workdir / "gencode_like.gtf", args.workdir / "genes.annotation.pickle"
    lines = write_gtf(gtf, args.genes)
    print(f"GTF: {lines:,} lines, {gtf.stat().st_size / 1e9:.2f} GB ({gtf})")
    load = "from carvis.reference.genes import {0}; {0}({1!r})"
    timed("read_gtf (each sample job, twice a sample, before the cache)", load.format("read_gtf", str(gtf)))
    write = "from carvis.reference.genes import read_gtf, write_annotation_cache as w; "
    write += f"w(read_gtf({str(gtf)!r}), {str(cache)!r})"
    timed("read_gtf + write_annotation_cache (rule preflight, once per GTF)", write)
    print(f"cache: {cache.stat().st_size / 1e6:.1f} MB")
    for _ in range(3):
        timed("load_annotation (annotate_sites, site_views)", load.format("load_annotation", str(cache)))


if __name__ == "__main__":
    main()
