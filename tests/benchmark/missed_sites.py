"""Missed sites, read by their reads (prints; not a test): why a site with a readable fragment was not called.

    python tests/benchmark/missed_sites.py --workdir DIR [--panel demo] [--sample polyclonal ...]

For an accuracy run's work folder (``tests/benchmark/accuracy.py --workdir DIR``), each truth site with a
readable fragment (``readable_fragments`` > 0) and no call within 5 bp is listed with the reads that hold
one of its junctions (12 host + 12 provirus bases, either strand, found in the simulated FASTQs) and every
record of those reads in the sample's BAM, then a class from those records: ``unplaced clip`` (a vector
read ends at the terminus and its host bases are soft-clipped, no host record), ``repeat`` (a host record
below MAPQ 20), ``duplicate``, ``homologous`` (the host part aligned to the vector), ``short clip`` (a host
read clipped at the junction by fewer than 12 bases), else ``other``.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import pysam  # noqa: E402

from carvis.core.io import read_tsv  # noqa: E402
from carvis.core.seqs import revcomp  # noqa: E402
from carvis.reference.vectors import load_manifest  # noqa: E402

WITHIN = 5
SIDE = 12


def junction_windows(site: dict[str, str], provirus: str, genome: pysam.FastaFile) -> list[str]:
    """The 12 + 12 bases across each junction, both strands."""
    a, tsd, chrom = int(site["position"]), int(site["tsd_length"]), site["chrom"]
    insert = provirus if site["orientation"] == "+" else revcomp(provirus)
    left = genome.fetch(chrom, a + tsd - 1 - SIDE, a + tsd - 1) + insert[:SIDE]
    right = insert[-SIDE:] + genome.fetch(chrom, a - 1, a - 1 + SIDE)
    return [w for w in (left, right) for w in (w, revcomp(w))]


Site = tuple[str, int]


def junction_reads(fastqs: list[Path], windows: dict[str, Site]) -> dict[Site, set[str]]:
    """Read names holding each site's junction windows."""
    found: dict[Site, set[str]] = defaultdict(set)
    for path in fastqs:
        with gzip.open(path, "rt") as fh:
            for i, line in enumerate(fh):
                if i % 4 == 0:
                    name = line[1:].split()[0]
                elif i % 4 == 1:
                    for window, site in windows.items():
                        if window in line:
                            found[site].add(name)
    return found


def classify(records: list[pysam.AlignedSegment], vectors: set[str]) -> str:
    if any(r.is_duplicate for r in records):
        return "duplicate"
    host = [r for r in records if r.reference_name not in vectors]
    on_vector = [r for r in records if r.reference_name in vectors]
    if any(r.is_supplementary for r in on_vector) and not any(r.is_supplementary for r in host):
        return "homologous"
    if any(r.mapping_quality < 20 for r in host):
        return "repeat"
    clipped = [r for r in on_vector if r.cigartuples and 4 in (r.cigartuples[0][0], r.cigartuples[-1][0])]
    if clipped and not any(r.is_supplementary for r in host):
        return "unplaced clip"
    short = [r for r in host if r.cigartuples and any(op == 4 and n < SIDE for op, n in r.cigartuples)]
    return "short clip" if short else "other"


def describe(r: pysam.AlignedSegment) -> str:
    flags = "".join(f":{f}" for f, on in (("sup", r.is_supplementary), ("dup", r.is_duplicate)) if on)
    mate = "R1" if r.is_read1 else "R2"
    return f"{mate}:{r.reference_name}:{r.reference_start + 1}:{r.cigarstring}:q{r.mapping_quality}{flags}"


def sample_report(work: Path, outdir: str, sample: str, vector: str) -> Counter[str]:
    truth = read_tsv(work / "reads" / f"{sample}.truth.tsv")
    calls = [
        (c["chrom"], int(c["position"])) for c in read_tsv(work / outdir / "calls" / f"{sample}.sites.tsv")
    ]
    missed = [
        t
        for t in truth
        if t.get("readable_fragments", "NA") not in ("NA", "0")
        and not any(c == t["chrom"] and abs(p - int(t["position"])) <= WITHIN for c, p in calls)
    ]
    manifest = next((work / outdir / "reference").glob("*/vectors.json"))
    models = load_manifest(manifest)
    genome = pysam.FastaFile(str(next((work / outdir / "reference").glob("genome-*/genome.fa"))))
    windows = {
        w: (t["chrom"], int(t["position"]))
        for t in missed
        for w in junction_windows(t, models[vector].provirus, genome)
    }
    fastqs = [work / "reads" / f"{sample}_R{n}.fastq.gz" for n in (1, 2)]
    reads = junction_reads(fastqs, windows)
    wanted = {name for names in reads.values() for name in names}
    records: dict[str, list[pysam.AlignedSegment]] = defaultdict(list)
    with pysam.AlignmentFile(str(work / outdir / "align" / f"{sample}.bam")) as bam:
        for r in bam.fetch(until_eof=True):
            if r.query_name in wanted:
                records[r.query_name].append(r)
    vectors = {contig for model in models.values() for contig in model.contigs()}
    classes: Counter[str] = Counter()
    for t in missed:
        site = (t["chrom"], int(t["position"]))
        names = sorted(reads.get(site, ()))
        label = classify([r for n in names for r in records[n]], vectors) if names else "no junction read"
        classes[label] += 1
        print(f"{sample} {site[0]}:{site[1]}{t['orientation']} readable {t['readable_fragments']}"
              f" placeable {t.get('placeable_fragments', 'NA')}: {label}")  # fmt: skip
        for n in names:
            print(f"    {n} " + " ".join(describe(r) for r in records[n]))
    return classes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--panel", default="demo")
    parser.add_argument("--outdir", default="out")
    parser.add_argument("--sample", nargs="*")
    args = parser.parse_args()
    work = args.workdir / args.panel
    sheet = {r["sample"]: r["vector"] for r in read_tsv(work / "samples.tsv")}
    total: Counter[str] = Counter()
    for sample in args.sample or sheet:
        total += sample_report(work, args.outdir, sample, sheet[sample])
    print("\nmissed sites by class: " + ", ".join(f"{k} {v}" for k, v in total.most_common()))


if __name__ == "__main__":
    main()
