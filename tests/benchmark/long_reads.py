"""Long-read benchmark (issue 17): a script that prints figures (not collected by pytest).

    python tests/benchmark/long_reads.py [--workdir DIR] [--coverage 10] [--sites 8] [--seed 1]
    python tests/benchmark/long_reads.py --genome-scale GENOME_SCALE_WORKDIR --coverage 0.05

The second form times issue 17's target on genome_scale.py's 3.1 Gb genome instead (:func:`genome_scale`).

On the demo genome (1.2 Mb) and the demo lentiviral vector it simulates three long-read samples with
:mod:`carvis.sim.long_reads`: ONT-like (5% errors, N50 17 kb), HiFi-like (1% errors, N50 17 kb) and a
CAR-negative ONT-like sample, each at ``--coverage``. The tumours carry ``--sites`` clonal insertions
(cell fraction 0.8, purity 0.8) whose proviruses cycle through the simulator's structures (full-length,
internal deletion, 5'/3' truncation, tandem), 10 bystanders (cell fraction 0.002-0.01) and 2-LTR circles
(0.3 copies per diploid genome). Each sample runs as the workflow does: the k-mer screen (single-end,
with a depth sample), minimap2 with the assay's preset, the long-read evidence, the second pass (reads
sharing k-mers with the candidate sites' flanks, aligned: the reference-allele reads are counted there), the
site caller (junctions realigned from the reads' bases; ``--median``: the median of the reads' own
junctions instead), and the transgene stage's VCN on the same BAM.

Printed per sample: clonal-site recall within 5 bp, within 2 bp with the TSD right, and base-exact
(position, both junctions and TSD); precision within 5 bp (a call is right when it is within 5 bp of any
simulated site, bystanders included); the structure class of reads crossing both junctions against the
truth (2-LTR circle reads crossing the circle junction included); the consensus structure per clonal
site; the junction spread; the clonal fraction against the truth (mean, how many 95% intervals hold it,
junction reads against the counted reference-allele reads); VCN against the truth (integrated copies; a
tandem counts two); and the time of screen + alignment against the decompression time of the FASTQ, and
of the second pass. ``--short-flanks``: every read crossing both junctions whose BAM parts run host to
host is cut to leave k host bases (from its last host part's first read base) at its end, realigned and
classified (the structure of an unplaced tail, :func:`carvis.evidence.long_reads.tail_host`), for k = 12
to 100. ``--random-tails N``: N random tails of k bases checked against the host at random places of the
demo genome (how often a tail that is not host passes); nothing else is run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pysam
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from Bio.SeqIO.FastaIO import SimpleFastaParser

from carvis.core.intervals import IntervalSet, read_bed
from carvis.core.io import read_tsv
from carvis.evidence.extract import Rules, from_record
from carvis.evidence.long_reads import (
    ANCHOR_SLOP,
    MAX_TAIL,
    TAIL_SHIFT,
    LongReadTables,
    edit_aligner,
    extract_long_read_evidence,
    tail_host,
)
from carvis.reads.coverage import write_coverage
from carvis.reads.long_reads import long_read_command, minimap2_version
from carvis.reads.screen import (
    ScreenFiles,
    ScreenSettings,
    compile_kmer_screen,
    depth_scale,
    run_screen,
    subsample_option,
    write_screen_reference,
)
from carvis.reference.build import build_combined_reference
from carvis.reference.mask import MINIMAP2_ARGS, build_mask, read_mask, write_tiles, write_vector_tiles
from carvis.reference.mmi import append_index
from carvis.reference.vectors import build_vector
from carvis.sim.insertions import Insertion, read_genome
from carvis.sim.long_reads import STRUCTURES, LongInsertion, LongReadModel, simulate_long_reads
from carvis.sites.site_reads import (
    FLANK_STEP,
    FLANK_TILE,
    SITE_FLANK,
    mask_site_flanks,
    write_site_flanks,
)
from carvis.sites.structure import LongReadSites, call_long_read_sites
from carvis.transgene.call import TransgeneFiles, TransgeneParams, call_transgene

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources" / "demo"
#: The long-read depth sample's cap in bases (screen.depth_sample_max_bases, the workflow's config).
DEPTH_CAP = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["screen"]["depth_sample_max_bases"]
FRACTION, SEED = 0.2, 7
ASSAYS = {"ont": (0.05, 17_000, 0.6), "hifi": (0.01, 17_000, 0.35)}


def design(genome: dict[str, str], n: int, rng: np.random.Generator) -> list[LongInsertion]:
    """``n`` clonal sites 30 kb apart or more (structures in turn) and 10 bystanders."""
    out: list[LongInsertion] = []
    taken: list[tuple[str, int]] = []
    names = [c for c in genome if len(genome[c]) > 150_000]
    for _ in range(100_000):
        if len(out) == n + 10:
            break
        chrom = names[int(rng.integers(len(names)))]
        pos = int(rng.integers(30_000, len(genome[chrom]) - 30_000))
        if "N" in genome[chrom][pos - 500 : pos + 500] or any(
            c == chrom and abs(p - pos) < 30_000 for c, p in taken
        ):
            continue
        taken.append((chrom, pos))
        orientation = "+" if rng.random() < 0.5 else "-"
        if len(out) < n:
            structure = STRUCTURES[len(out) % len(STRUCTURES)]
            start, end = {
                "internal_deletion": (1500, 3200),
                "truncated_5p": (900, None),
                "truncated_3p": (None, 4100),
            }.get(structure, (None, None))
            out.append(LongInsertion(Insertion(chrom, pos, orientation, 0.8), structure, start, end))
        else:
            fraction = round(float(rng.uniform(0.002, 0.01)), 5)
            out.append(LongInsertion(Insertion(chrom, pos, orientation, fraction, None, "bystander")))
    return out


def run_sample(
    work: Path, name: str, assay: str, insertions: list[LongInsertion], ref: dict[str, Path]
) -> dict:
    error, n50, sigma = ASSAYS[assay]
    model = ref["model"]
    run = LongReadModel(
        ARGS.coverage,
        n50,
        sigma,
        error,
        0.8 if insertions else None,
        0.3 if insertions else 0.0,
        ARGS.seed,
        name,
    )
    sim = simulate_long_reads(DEMO / "genome.fa", model, insertions, work / name, run)
    t0 = time.perf_counter()
    subprocess.run(f"gzip -dc {sim.fastq} > /dev/null", shell=True, check=True)
    t_decompress = time.perf_counter() - t0
    t0 = time.perf_counter()
    files = ScreenFiles(
        ref["binary"], ref["pieces"], ref["ends"], [sim.fastq], [], work / f"{name}.screen",
        work / f"{name}.screen.tsv",
    )  # fmt: skip
    run_screen(name, files, ScreenSettings(FRACTION, SEED))
    t_screen = time.perf_counter() - t0
    bam = work / f"{name}.bam"
    fastq = work / f"{name}.screen_R1.fastq"
    t0 = time.perf_counter()
    subprocess.run(
        long_read_command(assay, ref["mmi"], [fastq], name, 2, bam), shell=True, check=True,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    t_align = time.perf_counter() - t0
    coverage = work / f"{name}.coverage.tsv"
    write_coverage(
        bam,
        coverage,
        subsample=subsample_option(FRACTION, SEED),
        scale=depth_scale(work / f"{name}.screen.tsv"),
    )
    extract_long_read_evidence(
        bam,
        {model.name: model},
        Rules(ref["masks"], slop=ANCHOR_SLOP),
        ref["fasta"],
        LongReadTables(work / f"{name}.evidence.tsv", work / f"{name}.reads.tsv"),
    )
    # the second pass (as the workflow's screen_site_reads, align_site_reads): reads sharing k-mers with
    # the candidate sites' flanks, aligned; the reference-allele reads are counted in them
    t0 = time.perf_counter()
    site_bam = second_pass(work, name, assay, sim.fastq, ref)
    t_second = time.perf_counter() - t0
    settings = LongReadSites(
        coverage, 0.8 if insertions else None, spanning_bam=site_bam, reads_bam=None if ARGS.median else bam
    )
    sites, details = call_long_read_sites(
        read_tsv(work / f"{name}.evidence.tsv"), read_tsv(work / f"{name}.reads.tsv"), model,
        ref["fasta"], name, settings,
    )  # fmt: skip
    depth = work / f"{name}.vector_depth.tsv"
    subprocess.run(f"samtools depth -a -Q 0 -b {ref['bed']} {bam} > {depth}", shell=True, check=True)
    transgene = call_transgene(
        name, model, ref["footprint"], ref["mask"], TransgeneFiles(coverage, depth, bam),
        TransgeneParams(purity=0.8 if insertions else None),
    )  # fmt: skip
    return {
        "sim": sim, "sites": sites, "details": details, "structures": read_tsv(work / f"{name}.reads.tsv"),
        "transgene": transgene, "times": (t_decompress, t_screen, t_align, t_second),
        "screened": read_tsv(work / f"{name}.screen.tsv")[0],
    }  # fmt: skip


def second_pass(work: Path, name: str, assay: str, fastq: Path, ref: dict) -> Path:
    """The site-flank screen of the sample's reads and their alignment: the BAM to count spanning reads in."""
    evidence = work / f"{name}.evidence.tsv"
    flanks, tiles = work / f"{name}.flanks_all.fa", work / f"{name}.flank_tiles.fa"
    write_site_flanks(evidence, {ref["model"].name: ref["model"]}, ref["fasta"], flanks, tiles)
    return flank_pass(work, name, assay, fastq, ref)[0]


def flank_pass(work: Path, name: str, assay: str, fastq: Path, ref: dict) -> tuple[Path, dict[str, float]]:
    """The site flanks (``<name>.flanks_all.fa`` and their tiles) masked, the reads sharing their k-mers
    screened and aligned (to ``ref["long_mmi"]`` if given, else ``ref["mmi"]``); the BAM and the wall
    seconds of the three steps."""
    times, t0 = {}, time.perf_counter()
    subprocess.run(
        f"minimap2 -ax sr -t 2 {ref['mmi']} {work}/{name}.flank_tiles.fa > {work}/{name}.flank_tiles.sam "
        "2>/dev/null", shell=True, check=True,
    )  # fmt: skip
    flanks = work / f"{name}.flanks.fa"
    mask_site_flanks(work / f"{name}.flanks_all.fa", work / f"{name}.flank_tiles.sam", flanks)
    times["tiles"], t0 = time.perf_counter() - t0, time.perf_counter()
    files = ScreenFiles(
        ref["binary"], flanks, ref["ends"], [fastq], [], work / f"{name}.site_reads",
        work / f"{name}.site_reads.screen.tsv",
    )  # fmt: skip
    run_screen(name, files, ScreenSettings(0.0))
    times["screen"], t0 = time.perf_counter() - t0, time.perf_counter()
    bam = work / f"{name}.site_reads.bam"
    reads = [work / f"{name}.site_reads_R1.fastq"]
    subprocess.run(
        long_read_command(assay, ref.get("long_mmi", ref["mmi"]), reads, name, 2, bam),
        shell=True, check=True, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    times["align"] = time.perf_counter() - t0
    return bam, times


def short_flanks(work: Path, name: str, assay: str, result: dict, ref: dict) -> None:
    """Reads crossing both junctions cut to k host bases on one side, realigned and classified."""
    truth = {r["read"]: r for r in read_tsv(result["sim"].truth_reads) if r["crosses"] == "both"}
    parts: dict[str, list[tuple[int, bool]]] = {}  # read -> (first read base, on the vector) of each part
    with pysam.AlignmentFile(str(work / f"{name}.bam")) as bam:
        for rec in bam.fetch(until_eof=True):
            if rec.query_name in truth and not rec.is_secondary and not rec.is_unmapped:
                start = from_record(rec).read_span()[0]
                parts.setdefault(str(rec.query_name), []).append(
                    (start, rec.reference_name in ref["contigs"])
                )
    last_host = {n: max(p)[0] for n, p in parts.items() if len(p) >= 3 and not min(p)[1] and not max(p)[1]}
    ks = (12, 15, 20, 30, 50, 100)
    fastq = work / f"{name}.short_flanks.fq"
    with pysam.FastxFile(str(result["sim"].fastq)) as reads, fastq.open("w") as out:
        for entry in reads:
            for k in ks if entry.name in last_host else ():
                cut = last_host[entry.name] + k
                out.write(f"@{entry.name}_k{k}\n{entry.sequence[:cut]}\n+\n{entry.quality[:cut]}\n")
    bam = work / f"{name}.short_flanks.bam"
    subprocess.run(
        long_read_command(assay, ref["mmi"], [fastq], name, 2, bam), shell=True, check=True,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    tables = LongReadTables(
        work / f"{name}.short_flanks.evidence.tsv", work / f"{name}.short_flanks.reads.tsv"
    )
    _, rows = extract_long_read_evidence(
        bam, {ref["model"].name: ref["model"]}, Rules(ref["masks"], slop=ANCHOR_SLOP), ref["fasta"], tables
    )
    called = {str(r["read"]): r["structure"] for r in rows}
    right = {k: sum(called.get(f"{n}_k{k}") == truth[n]["structure"] for n in last_host) for k in ks}
    figures = ", ".join(f"k {k}: {right[k]}/{len(last_host)}" for k in ks)
    print(f"reads cut to k host bases on one side, structure right: {figures}")


def random_tails(genome: dict[str, str], n: int) -> None:
    """How often a random k-base tail matches the host read away from a random place (tail_host)."""
    rng = np.random.default_rng(ARGS.seed)
    chrom = max(genome, key=lambda c: len(genome[c]))
    aligner = edit_aligner(free_start=True)
    for k in (12, 13, 14, 16, 20):
        hits = 0
        for _ in range(n):
            pos = int(rng.integers(0, len(genome[chrom]) - MAX_TAIL - 2 * TAIL_SHIFT))
            tail = "".join("ACGT"[i] for i in rng.integers(0, 4, k))
            hits += tail_host(tail, genome[chrom][pos : pos + MAX_TAIL + 2 * TAIL_SHIFT].upper(), aligner) > 0
        print(f"random {k}-base tails matching the host: {hits}/{n} = {hits / n:.1e}")


def report(name: str, result: dict) -> None:
    truth = read_tsv(result["sim"].truth)
    sites = [site.cells() for site in result["sites"]]
    clonal = [t for t in truth if t["class"] == "clonal"]
    print(f"\n== {name}: {len(truth)} simulated sites ({len(clonal)} clonal), {len(sites)} called")

    def near(call: dict, t: dict, bp: int) -> bool:
        return (
            call["chrom"] == t["chrom"]
            and call["orientation"] == t["orientation"]
            and abs(int(call["position"]) - int(t["position"])) <= bp
        )

    def exact(call: dict, t: dict) -> bool:
        return (
            near(call, t, 0) and str(call["left_junction"]) == t["left_junction"] and call["tsd"] == t["tsd"]
        )

    if clonal:
        within5 = sum(any(near(c, t, 5) for c in sites) for t in clonal)
        within2 = sum(any(near(c, t, 2) and c["tsd"] == t["tsd"] for c in sites) for t in clonal)
        base = sum(any(exact(c, t) for c in sites) for t in clonal)
        n = len(clonal)
        print(
            f"clonal recall: within 5 bp {within5}/{n}, within 2 bp with TSD right {within2}/{n}, "
            f"base-exact {base}/{n}"
        )
        flagged = sum(any(near(c, t, 5) and c["clonal"] for c in sites) for t in clonal)
        print(f"clonal sites flagged clonal: {flagged}/{n}")
        found = [(c, t) for t in clonal for c in sites if near(c, t, 5)]
        holds = sum(
            c["clonal_fraction_low"] <= float(t["clonal_fraction"]) <= c["clonal_fraction_high"]
            for c, t in found
        )
        junction, spanning = (sum(int(c[k]) for c, _ in found) for k in ("fragments", "spanning_fragments"))
        mean = np.mean([c["clonal_fraction"] for c, _ in found])
        share = junction / (junction + spanning)
        print(
            f"clonal fraction: mean {mean:.2f} (truth {clonal[0]['clonal_fraction']}); its 95% interval "
            f"holds the truth at {holds}/{len(found)} sites; junction reads {junction} of "
            f"{junction + spanning} with the spanning reads = {share:.3f}"
        )
    right = sum(any(near(c, t, 5) for t in truth) for c in sites)
    print(f"precision within 5 bp: {right}/{len(sites)}" + (f" = {right / len(sites):.3f}" if sites else ""))
    for c in sites:
        if not any(near(c, t, 5) for t in truth):
            print(f"  false: {c['chrom']}:{c['position']}{c['orientation']} reads {c['fragments']}")
    # structure class per read crossing both junctions
    predicted = {r["read"]: r["structure"] for r in result["structures"]}
    crossing = [
        r
        for r in read_tsv(result["sim"].truth_reads)
        if r["crosses"] == "both"
        and (r["source"] == "circle" or min(int(r["left_host"]), int(r["right_host"])) >= ARGS.min_host)
    ]
    right_class = sum(predicted.get(r["read"]) == r["structure"] for r in crossing)
    if crossing:
        print(
            f"structure class of reads crossing both junctions: {right_class}/{len(crossing)} "
            f"= {right_class / len(crossing):.3f}"
        )
        by_class: dict[str, list[int]] = {}
        for r in crossing:
            by_class.setdefault(r["structure"], [0, 0])
            by_class[r["structure"]][0] += predicted.get(r["read"]) == r["structure"]
            by_class[r["structure"]][1] += 1
        print("  " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in sorted(by_class.items())))
        wrong = [
            (r["structure"], predicted.get(r["read"]), r["left_host"], r["right_host"])
            for r in crossing
            if predicted.get(r["read"]) != r["structure"]
        ]  # (truth, called, host bases left and right)
        if wrong:
            print(f"  wrong: {wrong[:10]}")
    for t in clonal:
        match = [d for d in result["details"] if near(d, t, 5)]
        if match:
            d = match[0]
            print(
                f"  {t['chrom']}:{t['position']}{t['orientation']} {t['structure']:<18} "
                f"called {d['structure']} ({d['structure_counts']}; "
                f"{d['structure_start']}-{d['structure_end']}; "
                f"truth {t['structure_start']}-{t['structure_end']}) "
                f"spread L{d['left_spread']} R{d['right_spread']} reads {d['reads']}"
            )
            c = next(c for c in sites if near(c, t, 5))
            print(
                f"    clonal fraction {c['clonal_fraction']:.2f} ({c['clonal_fraction_low']:.2f}-"
                f"{c['clonal_fraction_high']:.2f}; truth {t['clonal_fraction']}): {c['fragments']} junction "
                f"reads, {c['spanning_fragments']} spanning {c['flags'] or ''}"
            )
        else:
            print(f"  {t['chrom']}:{t['position']}{t['orientation']} {t['structure']} not called")
    vcn_truth = read_tsv(result["sim"].truth_transgene)[0]
    tg = result["transgene"]
    print(
        f"VCN {tg['vcn']:.2f} ({tg['vcn_low']:.2f}-{tg['vcn_high']:.2f}) detected {tg['detected']}; "
        f"truth {vcn_truth['vcn']} "
        f"copies ({vcn_truth['vcn_bases']} provirus-lengths)"
        if tg["vcn"] is not None
        else f"VCN NA, detected {tg['detected']}"
    )
    t_dec, t_screen, t_align, t_second = result["times"]
    s = result["screened"]
    print(
        f"time: decompression {t_dec:.1f} s, screen {t_screen:.1f} s + alignment {t_align:.1f} s = "
        f"{(t_screen + t_align) / t_dec:.1f}x; reads {s['reads']}, kept {s['kept_reads']}, "
        f"sampled {s['sampled_reads']}; second pass (flank screen + alignment) {t_second:.1f} s"
    )


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bases(fastq: Path) -> int:
    """Bases in a FASTQ (plain or gzipped)."""
    read = "igzip -dc" if fastq.suffix == ".gz" else "cat"
    command = f"{read} {fastq} | awk 'NR % 4 == 2 {{n += length($0)}} END {{print n + 0}}'"
    return int(subprocess.run(command, shell=True, capture_output=True, text=True, check=True).stdout)


def timed(command: str) -> tuple[float, float, float]:
    """Wall s, CPU s and peak RSS GB of one shell command (``/usr/bin/time``)."""
    stats = Path(f"/tmp/.long_reads_time.{os.getpid()}")
    t0 = time.perf_counter()
    subprocess.run(
        ["/usr/bin/time", "-o", str(stats), "-f", "%U %S %M", "bash", "-o", "pipefail", "-c", command],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    u, sys_s, rss = stats.read_text().split()[-3:]
    stats.unlink()
    return wall, float(u) + float(sys_s), int(rss) / 2**20


def best(times: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """The fastest of repeated runs."""
    return min(times, key=lambda t: t[0])


def long_read_index(
    gs: Path, ref_dir: Path, work: Path
) -> tuple[Path, dict[str, tuple[float, float, float]]]:
    """The workflow's map-ont index: the genome's (index_genome_minimap2_long, once per genome), the
    vectors' and the two appended (index_minimap2_long, once per vector set); built once, figures kept."""
    genome_dir = next(gs.glob("out/reference/genome-*"))
    mmi, figures = ref_dir / "combined.map-ont.mmi", work / "index_append.json"
    if not mmi.exists():
        build = "minimap2 -x map-ont -t 2 -d {0}.tmp {1} && mv {0}.tmp {0}"
        rows = {
            "map-ont genome index (-d; once per genome)": timed(
                build.format(genome_dir / "genome.map-ont.mmi", genome_dir / "genome.fa")
            ),
            "map-ont vector index (-d; once per vector set)": timed(
                build.format(ref_dir / "vectors.map-ont.mmi", ref_dir / "vectors.fa")
            ),
        }
        t0 = time.perf_counter()
        append_index(genome_dir / "genome.map-ont.mmi", ref_dir / "vectors.map-ont.mmi", mmi)
        rows["append_index (once per vector set; wall only)"] = (time.perf_counter() - t0, 0.0, 0.0)
        figures.write_text(json.dumps(rows))
    return mmi, {k: tuple(v) for k, v in json.loads(figures.read_text()).items()}


def genome_scale(gs: Path) -> None:
    """Issue 17's time target on genome_scale.py's 3.1 Gb genome (``gs``: its workdir, reference built):
    ONT-like reads at ``--coverage``, their decompression (gzip, igzip), the screen (single-end, the
    workflow's depth sample: 1% capped at screen.depth_sample_max_bases for 10x), minimap2 map-ont of what it
    kept with the workflow's prebuilt appended index, and the second pass around the two clonal sites; every
    per-base rate extrapolated to 10x; decompression, screen and index load best of 2."""
    work = gs / "long"
    work.mkdir(exist_ok=True)
    ref_dir = next(p for p in (gs / "out" / "reference").iterdir() if (p / "combined.fa.fai").exists())
    genome = sum(int(r.split("\t")[1]) for r in next(gs.glob("out/reference/genome-*/*.fai")).open())
    mmi, rows = long_read_index(gs, ref_dir, work)
    ref = {
        "mmi": ref_dir / "combined.mmi", "long_mmi": mmi, "binary": gs / "out" / "bin" / "kmer_screen",
        "pieces": ref_dir / "screen" / "vector_pieces.fa", "ends": ref_dir / "screen" / "vector_ends.fa",
    }  # fmt: skip
    fastq = work / "ont.fastq.gz"
    if not fastq.exists():
        rows["simulate (carvis simulate-long-reads; setup)"] = timed(
            f"PYTHONPATH={ROOT / 'scripts'} {sys.executable} -m carvis.cli simulate-long-reads "
            f"--genome {gs / 'genome.fa'} --vector {DEMO / 'vector.gb'} --vector-name demo_car "
            f"--design {gs / 'design.tsv'} --preset ont --coverage {ARGS.coverage} --purity 0.8 "
            f"--circles 0.3 --seed {ARGS.seed} --sample ont --out-prefix {work / 'ont'}"
        )
    total = bases(fastq)
    # the reads --repeat times over (gzip members one after the other): timings well above the clock's grain
    streamed = work / f"ont.x{ARGS.repeat}.fastq.gz"
    if not streamed.exists():
        subprocess.run(f"cat {' '.join([str(fastq)] * ARGS.repeat)} >{streamed}", shell=True, check=True)
    total *= ARGS.repeat
    scale = 10 * genome / total
    for tool in ("gzip", "igzip"):
        rows[f"{tool} -dc"] = best([timed(f"{tool} -dc {streamed} >/dev/null") for _ in range(2)])
    cap = DEPTH_CAP
    out = work / "ont.screen"
    files = ScreenFiles(ref["binary"], ref["pieces"], ref["ends"], [streamed], [], out, f"{out}.tsv")
    screens = []
    for _ in range(2):  # the cap scaled to this coverage: the 10x run's fraction
        t0, c0 = time.perf_counter(), cpu_seconds()
        run_screen("ont", files, ScreenSettings(0.01, 7, 1_000_000, round(cap / scale)))
        screens.append((time.perf_counter() - t0, cpu_seconds() - c0, 0.0))
    rows[f"screen (depth sample 0.01, at most {cap / 1e6:.0f} Mb at 10x)"] = screen_row = best(screens)
    kept = work / "ont.screen_R1.fastq"
    one = work / "one_read.fq"
    one.write_text(f"@r\n{'ACGTTGCA' * 125}\n+\n{'5' * 1000}\n")
    load = rows["map-ont: index load (1 read)"] = best(
        [timed(long_read_command("ont", mmi, [one], "ont", 2, work / "one.bam")) for _ in range(2)]
    )
    kept_log = work / "kept.log"
    rows["map-ont: the kept reads (load included)"] = timed(
        f"({long_read_command('ont', mmi, [kept], 'ont', 2, work / 'ont.bam')}) 2>{kept_log}"
    )
    first = work / "first_reads.fq"  # enough bases to measure the per-base rate (the kept ones are few)
    subprocess.run(f"igzip -dc {fastq} | head -n {4 * ARGS.rate_reads} >{first}", shell=True, check=True)
    log = work / "first.log"
    sample = rows[f"map-ont: the first {ARGS.rate_reads:,} reads (load included)"] = timed(
        f"({long_read_command('ont', mmi, [first], 'ont', 2, work / 'first.bam')}) 2>{log}"
    )
    # minimap2's own clock: seconds when the index was loaded, and at the end (load-time noise left out)
    pattern = r"\[M::main::([\d.]+)\*[\d.]+\] loaded/built|Real time: ([\d.]+) sec"
    clocks = [re.findall(pattern, f.read_text()) for f in (log, kept_log)]
    mapping, kept_mapping = (float(stamps[-1][1]) - float(stamps[0][0]) for stamps in clocks)
    regions = " ".join(
        f"{r['chrom']}:{int(r['position']) - SITE_FLANK}-{int(r['position']) + SITE_FLANK}"
        for r in read_tsv(gs / "design.tsv")
    )
    fasta = ref_dir / "combined.fa"
    subprocess.run(f"samtools faidx {fasta} {regions} >{work}/ont.flanks_all.fa", shell=True, check=True)
    with (work / "ont.flanks_all.fa").open() as handle:
        write_tiles(dict(SimpleFastaParser(handle)), work / "ont.flank_tiles.fa", FLANK_TILE, FLANK_STEP)
    second = flank_pass(work, "ont", "ont", streamed, ref)[1]
    rows.update({f"second pass: {step}": (wall, 0.0, 0.0) for step, wall in second.items()})
    print(
        f"genome-scale long reads: {total / ARGS.repeat / 1e6:.0f} Mb of ONT-like reads ({ARGS.coverage}x), "
        f"screened and decompressed {ARGS.repeat} times over ({total / 1e6:.0f} Mb)\n"
    )
    print("| step | wall s | CPU s | peak RSS GB |\n|---|---:|---:|---:|")
    for label, (wall, cpu, rss) in rows.items():
        print(f"| {label} | {wall:.1f} | {cpu:.1f} | {rss:.1f} |")
    kept_bases = bases(kept)
    rate = mapping / bases(first)
    screen, aligned = screen_row[0] * scale, rate * kept_bases * scale
    floors = {d: rows[d][0] * scale for d in ("gzip -dc", "igzip -dc")}
    again = second["tiles"] + second["screen"] * scale + second["align"]
    print(
        f"\nkept {kept_bases / 1e6:.2f} Mb ({kept_bases / total:.2%}; {kept_bases * scale / 1e6:.0f} Mb at "
        f"10x); map-ont {rate * 1e6:.2f} s per Mb (wall, 2 threads: minimap2's real time after the index was "
        f"loaded, {mapping:.1f} s, for the first {ARGS.rate_reads:,} reads, {bases(first) / 1e6:.1f} Mb; "
        f"{sample[0]:.1f} s in all; the kept reads took {kept_mapping:.1f} s after the load).\n"
        f"10x ({10 * genome / 1e9:.1f} Gb), per-base rates x {scale:.0f}: "
        + ", ".join(f"{d} {t:.0f} s" for d, t in floors.items())
        + f", screen {screen:.0f} s, alignment {aligned:.0f} s + the prebuilt map-ont index loaded "
        f"{load[0]:.0f} s; "
        f"second pass {again:.0f} s (flank tiles, screen, alignment with the index loaded again)"
    )
    for label, extra in (("without the second pass", 0.0), ("with the second pass", again)):
        spent = screen + aligned + load[0] + extra
        ratios = ", ".join(f"{spent / t:.2f}x {d}" for d, t in floors.items())
        print(f"  screen + alignment {label}: {spent:.0f} s, {ratios} (target <= 3x)")


def main() -> None:
    if ARGS.random_tails:
        random_tails(read_genome(DEMO / "genome.fa"), ARGS.random_tails)
        return
    if ARGS.genome_scale:
        genome_scale(ARGS.genome_scale.resolve())
        return
    work = ARGS.workdir
    work.mkdir(parents=True, exist_ok=True)
    model = build_vector("demo_car", DEMO / "vector.gb", "lentiviral")
    fasta = work / "combined.fa"
    build_combined_reference(DEMO / "genome.fa", [model], fasta)
    subprocess.run(["samtools", "faidx", str(fasta)], check=True)
    subprocess.run(f"minimap2 -d {work}/combined.mmi {fasta} 2>/dev/null", shell=True, check=True)
    bed = work / "vectors.bed"
    bed.write_text("".join(f"{n}\t0\t{len(s)}\n" for n, s in model.contigs().items()))
    ref = {
        "model": model,
        "fasta": fasta,
        "mmi": work / "combined.mmi",
        "bed": bed,
        "contigs": model.contigs(),
    }
    ref["binary"] = compile_kmer_screen(work / "kmer_screen")
    # the homology mask as the workflow builds it (vector tiles aligned to the genome)
    write_vector_tiles([model], work / "tiles.fa")
    subprocess.run(
        f"minimap2 {MINIMAP2_ARGS} -t 2 {work}/combined.mmi {work}/tiles.fa > {work}/tiles.sam 2>/dev/null",
        shell=True, check=True,
    )  # fmt: skip
    build_mask(work / "tiles.sam", [model], work / "mask.bed", work / "footprint.bed")
    ref["mask"] = read_mask(work / "mask.bed")
    ref["masks"] = {c: IntervalSet(ivs) for c, ivs in read_bed(work / "mask.bed").items()}
    ref["footprint"] = read_bed(work / "footprint.bed")
    ref["pieces"], ref["ends"] = work / "pieces.fa", work / "ends.fa"
    write_screen_reference([model], ref["mask"], ref["pieces"], ref["ends"])
    print(f"minimap2 {minimap2_version()}; coverage {ARGS.coverage}x; seed {ARGS.seed}")
    genome = read_genome(DEMO / "genome.fa")
    insertions = design(genome, ARGS.sites, np.random.default_rng(ARGS.seed))
    for name, assay, ins in (
        ("ont", "ont", insertions),
        ("hifi", "hifi", insertions),
        ("negative", "ont", []),
    ):
        result = run_sample(work, name, assay, ins, ref)
        report(f"{name} ({assay})", result)
        if ARGS.short_flanks and ins:
            short_flanks(work, name, assay, result, ref)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/carvis_long_reads"))
    parser.add_argument("--coverage", type=float, default=10.0)
    parser.add_argument("--sites", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--min-host",
        type=int,
        default=12,
        help="host bases a read needs on each side to cross both junctions",
    )
    parser.add_argument(
        "--short-flanks", action="store_true", help="also: reads crossing both junctions cut to k host bases"
    )
    parser.add_argument("--random-tails", type=int, default=0, help="random tails checked against the host")
    parser.add_argument(
        "--median", action="store_true", help="junctions at the median of the reads' (no realignment)"
    )
    parser.add_argument(
        "--genome-scale",
        type=Path,
        help="genome_scale.py's workdir: time ONT-like reads at --coverage (e.g. 0.05) on its genome instead",
    )
    parser.add_argument(
        "--rate-reads", type=int, default=3000, help="--genome-scale: reads aligned to measure map-ont's rate"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=10,
        help="--genome-scale: times the reads are streamed (decompressions, screens)",
    )
    ARGS = parser.parse_args()
    main()
