"""Integration-site accuracy benchmark: a script that prints figures (not collected by pytest).

    python tests/benchmark/accuracy.py [--workdir DIR] [--cores 2] [--coverage 30] [--no-real]
        [--screened [--count-spanning]]
    python tests/benchmark/accuracy.py --census-seeds 10 [--workdir DIR]

Simulates a panel with the project's simulator on the demo genome (clonal lentiviral sites with 50
bystanders, a piggyBac tumour with two clones of 10 and 5 copies, a gammaretroviral tumour, a CAR-negative
tumour, plasmid contamination, a 20%-purity tumour, and sites inside repeats and inside the genes whose
cDNA or promoter the CAR vector carries), runs the whole Snakemake workflow on it, and compares
``calls/<sample>.sites.tsv`` with the simulator's truth. When ../shared/data is present it does the same
with the real CD19 CAR plasmid on real GRCh38 pieces (chr9:1-1,000,000 and chr21:22-23 Mb).

Matching: a call matches a true site exactly when chromosome, position (first TSD base) and orientation
agree, and within 5 bp when the positions differ by at most 5 (a multi-hit call matches through any of
its candidate loci). Recall counts true sites with at least 3 junction fragments (``fragments`` in the
truth: simulated fragments crossing a junction); precision counts precise calls (imprecise,
discordant-only calls are listed separately). Clonal-fraction error is |called - true| for the sites
simulated as clonal: per site (``clonal_fraction``) and clone-level (``clone_fraction``, pooled over
the sites flagged clonal in the sample; sites not flagged have none), with how often the per-site 95%
interval (``clonal_fraction_low`` - ``clonal_fraction_high``) contains the truth.

The panel runs with every read aligned (the clonal fraction counts the reference-allele fragments at each
site). ``--screened`` runs it again with screening on and prints, per sample, whether the screened run
called the same sites and junctions; with ``--count-spanning`` the screened run counts the reference
fragments in a second pass (``screen: count_spanning``) and the whole sites table is compared.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

from helpers import snakemake  # noqa: E402

from carvis.core.errors import InputError  # noqa: E402
from carvis.core.io import read_tsv  # noqa: E402
from carvis.core.seqs import revcomp  # noqa: E402
from carvis.reference.vectors import KINDS, VectorModel, build_vector  # noqa: E402
from carvis.sim.demo import build_demo  # noqa: E402
from carvis.sim.insertions import Insertion, SiteDraw, random_insertions, read_genome  # noqa: E402
from carvis.sim.simulate import TumourModel, simulate_tumour  # noqa: E402

DEMO = ROOT / "resources" / "demo"
SHARED = ROOT.parent / "shared" / "data"
MIN_FRAGMENTS = 3
WITHIN = 5
#: Clonal-fraction error target for clonal sites.
CF_TARGET = 0.1
#: Bases kept between simulated sites, and between unique-sequence sites and repeats.
SPACING = 3000


@dataclass
class PanelSample:
    """One simulated tumour of the panel."""

    name: str
    vector: str
    insertions: list[Insertion]
    purity: float | None = None
    contamination: float = 0.0


@dataclass
class Panel:
    """A genome, its vectors (name -> config entry and model) and the samples to simulate."""

    name: str
    genome: Path
    annotation: Path
    vectors: dict[str, dict[str, object]]
    models: dict[str, VectorModel]
    samples: list[PanelSample] = field(default_factory=list)
    gene_lists: list[Path] | None = None  # None: the config's default list


# ---------------------------------------------------------------- vectors


def _random_dna(rng: np.random.Generator, n: int, avoid: Sequence[str]) -> str:
    motifs = [m for m in avoid for m in (m, revcomp(m))]
    while True:
        seq = "".join(rng.choice(list("ACGT"), n))
        if not any(m in seq for m in motifs):
            return seq


def _write_fasta(path: Path, name: str, seq: str) -> Path:
    path.write_text(f">{name}\n" + "\n".join(seq[i : i + 80] for i in range(0, len(seq), 80)) + "\n")
    return path


def _avoid() -> list[str]:
    return [m for k in KINDS.values() for m in (k.five_prime_end, k.three_prime_end) if m]


def piggybac_plasmid(path: Path, rng: np.random.Generator) -> tuple[Path, list[int]]:
    """A synthetic piggyBac transposon plasmid: TTAA + ITR (CCCTAGAAAGATA...) + cargo + ITR + TTAA."""
    kind = KINDS["piggybac"]
    left_itr = kind.five_prime_end + _random_dna(rng, 300, _avoid())
    right_itr = _random_dna(rng, 230, _avoid()) + kind.three_prime_end
    transposon = left_itr + _random_dna(rng, 2500, _avoid()) + right_itr
    left, right = _random_dna(rng, 1800, _avoid()) + "TTAA", "TTAA" + _random_dna(rng, 1600, _avoid())
    _write_fasta(path, "piggybac", left + transposon + right)
    return path, [len(left) + 1, len(left) + len(transposon)]


def shared_itr_plasmid(
    path: Path, rng: np.random.Generator, kind_name: str, shared: int
) -> tuple[Path, list[int]]:
    """A transposon whose two ITRs are the same ``shared`` bases (piggyBac: 63, Sleeping Beauty's IR/DR)
    between target motifs (TTAA, TA)."""
    kind = KINDS[kind_name]
    itr = kind.five_prime_end + _random_dna(rng, shared - len(kind.five_prime_end), _avoid())
    transposon = itr + _random_dna(rng, 2800, _avoid()) + revcomp(itr)
    target = "TTAA" if kind_name == "piggybac" else "TA"
    left, right = _random_dna(rng, 1800, _avoid()) + target, target + _random_dna(rng, 1600, _avoid())
    _write_fasta(path, kind_name, left + transposon + right)
    return path, [len(left) + 1, len(left) + len(transposon)]


def aav_like_plasmid(path: Path, rng: np.random.Generator) -> tuple[Path, list[int]]:
    """An AAV-like vector (kind other): ITR + 2.4 kb cassette + inverted ITR; what integrates is a partial
    insert, the last 60 bases of the left ITR and the first 1.8 kb of the cassette."""
    itr = _random_dna(rng, 145, _avoid())
    left = _random_dna(rng, 1500, _avoid()) + itr
    seq = left + _random_dna(rng, 2400, _avoid()) + revcomp(itr) + _random_dna(rng, 1500, _avoid())
    _write_fasta(path, "aav", seq)
    return path, [len(left) - 59, len(left) + 1800]


def aav_like_sites(
    picker: SitePicker, model: VectorModel, n: int, fraction: tuple[float, float], label: str
) -> list[Insertion]:
    """Sites with host deletions of 0-100 bp and no TSD; every other one with 2 bp of microhomology (the
    first deleted host bases are the insert's first bases, so the left junction could be read 2 bp
    later)."""
    out = []
    for k, ins in enumerate(picker.random(n, fraction, label, unique=False)):
        deletion = int(picker.rng.integers(2, 101)) if k % 3 else 0
        left = ins.position - 1
        if k % 2 and deletion:
            insert = model.provirus if ins.orientation == "+" else revcomp(model.provirus)
            host = picker.genome[ins.chrom]
            left = next((x for x in range(left, left + 200) if host[x : x + 2] == insert[:2]), left)
        ins.position, ins.tsd_length, ins.host_deletion = left + deletion + 1, 0, deletion
        out.append(ins)
    return out


def gammaretroviral_plasmid(path: Path, rng: np.random.Generator) -> Path:
    """GINAKIT2 (real MSCV-LTR CAR vector) when ../shared/data is present, else a synthetic one."""
    real = SHARED / "vectors" / "GINAKIT2_DL.fasta"
    if real.is_file():
        return real
    kind = KINDS["gammaretroviral"]
    ltr = kind.five_prime_end + _random_dna(rng, 560, _avoid()) + kind.three_prime_end
    body = _random_dna(rng, 1200, _avoid()) + ltr + _random_dna(rng, 3000, _avoid()) + ltr
    return _write_fasta(path, "gamma", body + _random_dna(rng, 2000, _avoid()))


# ---------------------------------------------------------------- site choice


class SitePicker:
    """Random sites in a genome that keep SPACING from each other (and optionally from repeats)."""

    def __init__(
        self,
        genome: dict[str, str],
        repeats: dict[str, list[tuple[int, int, str]]],
        seed: int,
        spacing: int = SPACING,
    ):
        self.genome, self.repeats, self.spacing = genome, repeats, spacing
        self.rng = np.random.default_rng(seed)
        self.taken: list[tuple[str, int]] = []

    def free(self, chrom: str, pos: int) -> bool:
        return all(c != chrom or abs(p - pos) > self.spacing for c, p in self.taken)

    def unique(self, chrom: str, pos: int) -> bool:
        return all(b + SPACING < pos or pos < a - SPACING for a, b, _ in self.repeats.get(chrom, []))

    def take(self, ins: Insertion) -> Insertion:
        self.taken.append((ins.chrom, ins.position))
        return ins

    def random(
        self, n: int, fraction: tuple[float, float], label: str, *, unique: bool, target: str = ""
    ) -> list[Insertion]:
        out: list[Insertion] = []
        while len(out) < n:
            try:
                (ins,) = random_insertions(self.genome, self.rng, SiteDraw(1, fraction, label, target=target))
            except InputError:  # no target motif among this draw's positions: draw again
                continue
            if self.free(ins.chrom, ins.position) and (not unique or self.unique(ins.chrom, ins.position)):
                out.append(self.take(ins))
        return out

    def at(self, chrom: str, pos: int, fraction: float, label: str = "clonal") -> Insertion:
        orientation = "+" if self.rng.random() < 0.5 else "-"
        return self.take(Insertion(chrom, pos, orientation, fraction, None, label))


def _gene_exons(gtf: Path) -> dict[str, list[tuple[str, int, int]]]:
    """Gene name -> exons (chrom, start, end; 1-based) in transcript order."""
    out: dict[str, list[tuple[str, int, int]]] = {}
    for line in gtf.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) > 8 and fields[2] == "exon":
            name = fields[8].split('gene_name "')[1].split('"')[0]
            out.setdefault(name, []).append((fields[0], int(fields[3]), int(fields[4])))
    return out


def repeat_and_homology_sites(picker: SitePicker, gtf: Path) -> list[Insertion]:
    """Clonal sites in the middle of repeat copies and inside the genes the CAR vector carries."""
    out = []
    for family, n in (("Alu_like", 2), ("LINE_like", 2), ("microsat", 1), ("tandem", 1)):
        copies = [(c, a, b) for c, rs in picker.repeats.items() for a, b, f in rs if f == family]
        chosen = 0
        for i in picker.rng.permutation(len(copies)):
            chrom, a, b = copies[int(i)]
            if chosen < n and picker.free(chrom, (a + b) // 2):
                out.append(picker.at(chrom, (a + b) // 2 + 1, 1.0))
                chosen += 1
    exons = _gene_exons(gtf)
    for gene in ("CD28", "CD8A", "CD247"):
        chrom, a, b = max(exons[gene], key=lambda e: e[2] - e[1])
        out.append(picker.at(chrom, (a + b) // 2, 1.0))
    first, second = sorted(exons["EEF1A1"], key=lambda e: e[1])[:2]
    out.append(picker.at(first[0], (first[2] + second[1]) // 2, 1.0))  # intron 1 (EF1a promoter region)
    return out


# ---------------------------------------------------------------- panels


def demo_panel(work: Path, seed: int) -> Panel:
    rng = np.random.default_rng(seed)
    demo = build_demo()
    genome = read_genome(DEMO / "genome.fa")
    pb_path, pb_range = piggybac_plasmid(work / "piggybac.fa", rng)
    gamma_path = gammaretroviral_plasmid(work / "gamma.fa", rng)
    pb63_path, pb63_range = shared_itr_plasmid(work / "pb63.fa", rng, "piggybac", 63)
    sb_path, sb_range = shared_itr_plasmid(work / "sb.fa", rng, "sleeping_beauty", 80)
    aav_path, aav_range = aav_like_plasmid(work / "aav.fa", np.random.default_rng(seed + 4))
    vectors: dict[str, dict[str, object]] = {
        "demo_car": {"sequence": str(DEMO / "vector.gb"), "kind": "lentiviral"},
        "pb": {"sequence": str(pb_path), "kind": "piggybac", "provirus": pb_range},
        "gamma": {"sequence": str(gamma_path), "kind": "gammaretroviral"},
        "pb63": {"sequence": str(pb63_path), "kind": "piggybac", "provirus": pb63_range},
        "sb": {"sequence": str(sb_path), "kind": "sleeping_beauty", "provirus": sb_range},
        "aav": {"sequence": str(aav_path), "kind": "other", "provirus": aav_range},
    }
    models = {name: _model(name, v) for name, v in vectors.items()}
    panel = Panel("demo", DEMO / "genome.fa", DEMO / "annotation.gtf", vectors, models)
    picker = SitePicker(genome, demo.repeats, seed)
    panel.samples = [
        PanelSample(
            "lenti_clonal",
            "demo_car",
            picker.random(2, (1.0, 1.0), "clonal", unique=True)
            + picker.random(50, (0.01, 0.1), "bystander", unique=False),
        ),
        PanelSample(
            "piggybac",
            "pb",
            picker.random(10, (1.0, 1.0), "clonal", unique=False, target="TTAA")
            + picker.random(5, (0.4, 0.4), "clonal", unique=False, target="TTAA"),
        ),
        PanelSample(
            "gammaretro",
            "gamma",
            picker.random(3, (1.0, 1.0), "clonal", unique=False)
            + picker.random(10, (0.02, 0.1), "bystander", unique=False),
        ),
        PanelSample("car_negative", "demo_car", []),
        PanelSample("contamination", "demo_car", [], contamination=5.0),
        PanelSample("purity_20", "demo_car", picker.random(2, (0.2, 0.2), "clonal", unique=False), 0.2),
        PanelSample("repeats_cdna", "demo_car", repeat_and_homology_sites(picker, DEMO / "annotation.gtf")),
    ]
    # issue 14's samples, each with its own sites (separate tumours; the sites above stay the same);
    # the 200 polyclonal sites keep 1 kb apart (more than a fragment) to fit the 1.2 Mb demo genome
    pb63, sb, aav = (SitePicker(genome, demo.repeats, seed + k) for k in (1, 2, 4))
    polyclonal = SitePicker(genome, demo.repeats, seed + 3, spacing=1000)
    panel.samples += [
        PanelSample(
            "piggybac_itr63",
            "pb63",
            pb63.random(8, (1.0, 1.0), "clonal", unique=False, target="TTAA")
            + pb63.random(10, (0.02, 0.1), "bystander", unique=False, target="TTAA"),
        ),
        PanelSample(
            "sleeping_beauty",
            "sb",
            sb.random(6, (1.0, 1.0), "clonal", unique=False, target="TA")
            + sb.random(10, (0.02, 0.1), "bystander", unique=False, target="TA"),
        ),
        PanelSample(
            "polyclonal", "demo_car", polyclonal.random(200, (0.01, 0.05), "bystander", unique=False)
        ),
        PanelSample(
            "aav_like",
            "aav",
            aav_like_sites(aav, models["aav"], 6, (1.0, 1.0), "clonal")
            + aav_like_sites(aav, models["aav"], 10, (0.05, 0.2), "bystander"),
        ),
    ]
    return panel


def real_panel(work: Path, seed: int) -> Panel | None:
    """CD19 CAR (vector_CART19.fa) on real GRCh38 chr9:1-1,000,000 + chr21:22-23 Mb, if present."""
    pieces = [
        SHARED / "genome" / "Homo_sapiens.GRCh38.dna_sm.primary_assembly_chr9_1_1000000.fa",
        SHARED / "genome" / "hg38_chr21_22000000_23000000.fasta",
    ]
    vector = SHARED / "vectors" / "vector_CART19.fa"
    if not all(p.is_file() for p in [*pieces, vector]):
        return None
    genome_path = work / "grch38_pieces.fa"
    genome_path.write_text("".join(p.read_text() for p in pieces))
    genome = read_genome(genome_path)
    vectors: dict[str, dict[str, object]] = {"cart19": {"sequence": str(vector), "kind": "lentiviral"}}
    models = {"cart19": _model("cart19", vectors["cart19"])}
    gtf = SHARED / "genome" / "Homo_sapiens.GRCh38.91_chr9_1_1000000.gtf"
    # no gene of the curated cancer-gene list lies on chr9:1-1,000,000 (the preflight refuses a list the
    # annotation knows none of); this panel measures sites, so it names two genes of the piece
    genes = work / "chr9_piece_genes.tsv"
    genes.write_text(
        "# name: accuracy-benchmark-chr9-piece\n# version: 1\n"
        "gene\tcategory\tnote\treference\n"
        "DOCK8\tbenchmark\tgene of the chr9 piece\tNA\nKANK1\tbenchmark\tgene of the chr9 piece\tNA\n"
    )
    panel = Panel("grch38", genome_path, gtf, vectors, models, gene_lists=[genes])
    picker = SitePicker(genome, {}, seed)
    panel.samples = [
        PanelSample(
            "cart19_clonal",
            "cart19",
            picker.random(3, (1.0, 1.0), "clonal", unique=False)
            + picker.random(20, (0.02, 0.1), "bystander", unique=False),
            purity=0.9,
        ),
        PanelSample("cart19_contamination", "cart19", [], contamination=5.0),
    ]
    for ins in panel.samples[0].insertions[:3]:
        ins.cell_fraction = 0.9  # all tumour cells at 90% purity
    return panel


def _model(name: str, entry: dict[str, object]) -> VectorModel:
    provirus = entry.get("provirus")
    return build_vector(name, str(entry["sequence"]), str(entry["kind"]), provirus)  # type: ignore[arg-type]


# ---------------------------------------------------------------- run


def simulate_panel(panel: Panel, work: Path, coverage: float, seed: int) -> None:
    """Simulate every sample (reads and truth under ``work/reads``) and write the sheet."""
    sheet = ["sample\tfastq_1\tfastq_2\tvector\tpurity"]
    for i, sample in enumerate(panel.samples):
        prefix = work / "reads" / sample.name
        prefix.parent.mkdir(parents=True, exist_ok=True)
        simulate_tumour(
            panel.genome,
            panel.models[sample.vector],
            sample.insertions,
            prefix,
            TumourModel(
                sample.name,
                coverage,
                purity=sample.purity,
                contamination=sample.contamination,
                seed=seed + i,
            ),
        )
        purity = "" if sample.purity is None else str(sample.purity)
        sheet.append(f"{sample.name}\t{prefix}_R1.fastq.gz\t{prefix}_R2.fastq.gz\t{sample.vector}\t{purity}")
    (work / "samples.tsv").write_text("\n".join(sheet) + "\n")


def run_panel(
    panel: Panel, work: Path, cores: int, outdir: str, screen: bool, count_spanning: bool = False
) -> None:
    """Run the workflow on the simulated panel into ``work/outdir``, screening the reads or aligning all
    (``count_spanning``: screened, with the second pass that counts the reference fragments)."""
    config = {
        "samples": str(work / "samples.tsv"),
        "outdir": outdir,
        # the GRCh38 pieces' GTF covers chr9 only
        "reference": {
            "genome": str(panel.genome),
            "annotation": str(panel.annotation),
            "partial_annotation": True,
        },
        "vectors": panel.vectors,
        **({"gene_lists": [str(p) for p in panel.gene_lists]} if panel.gene_lists else {}),
        "threads": {"align": cores},
        # the demo-sized genomes need a larger depth sample than the default 1%
        "screen": (
            {"enabled": True, "depth_sample_fraction": 0.05, "count_spanning": count_spanning}
            if screen
            else {"enabled": False}
        ),
    }
    (work / f"{outdir}.yaml").write_text(yaml.safe_dump(config))
    args = ["--cores", str(cores), "--configfile", str(work / f"{outdir}.yaml"), "--quiet", "all"]
    result = snakemake(work, *args)
    if result.returncode:
        sys.exit(f"snakemake failed for panel {panel.name}:\n{result.stderr[-4000:]}")


def compare_screened(panel: Panel, work: Path, whole_rows: bool = False) -> bool:
    """Print, per sample, whether screening called the same sites and junctions as aligning every read
    (``whole_rows``: the same sites table, clonal fractions included)."""
    columns = ("chrom", "position", "orientation", "left_junction", "right_junction", "tsd", "precise")
    if whole_rows:
        columns += ("fragments", "spanning_fragments", "clonal_fraction", "clonal_fraction_low")
        columns += ("clonal_fraction_high", "clonal", "clone_fraction", "flags")
    print("\n| sample | sites, all reads aligned | sites, screened | same sites and junctions |")
    print("|---|---|---|---|")
    same_all = True
    for sample in panel.samples:
        full, screened = (
            {
                tuple(r[c] for c in columns)
                for r in read_tsv(work / out / "calls" / f"{sample.name}.sites.tsv")
            }
            for out in ("out", "out_screened")
        )
        same = full == screened
        same_all &= same
        detail = (
            "yes"
            if same
            else f"no: only full {sorted(full - screened)}, only screened {sorted(screened - full)}"
        )
        print(f"| {sample.name} | {len(full)} | {len(screened)} | {detail} |")
    return same_all


# ---------------------------------------------------------------- scoring


def _loci(call: dict[str, str]) -> list[tuple[str, int, str]]:
    if call["candidate_loci"] != "NA":
        return [
            (x.rsplit(":", 1)[0], int(x.rsplit(":", 1)[1][:-1]), x[-1])
            for x in call["candidate_loci"].split(",")
        ]
    return [(call["chrom"], int(call["position"]), call["orientation"])]


def _distance(truth: dict[str, str], call: dict[str, str], same: bool = True) -> int | None:
    """Smallest |position difference| over the call's loci on the truth's chromosome and orientation
    (``same`` False: the opposite orientation); a call of unknown orientation (``.``) matches either."""
    d = [
        abs(p - int(truth["position"]))
        for c, p, o in _loci(call)
        if c == truth["chrom"] and (o == "." or (o == truth["orientation"]) == same)
    ]
    return min(d, default=None)


@dataclass
class Score:
    """Counts and errors of one sample (or pooled)."""

    truth_eligible: int = 0
    found_exact: int = 0
    found_5bp: int = 0
    calls: int = 0
    calls_exact: int = 0
    calls_5bp: int = 0
    imprecise: int = 0
    multi_hit: int = 0
    clone100: int = 0
    clone100_exact: int = 0
    breakpoint_errors: list[int] = field(default_factory=list)
    cf_errors: list[float] = field(default_factory=list)
    clone_errors: list[float] = field(default_factory=list)
    interval_hits: int = 0
    cf_beyond: int = 0
    cf_beyond_expected: float = 0.0
    clonal_flag_ok: int = 0
    other_flagged_clonal: int = 0
    readable: int = 0  # physical limit: truth sites with a read crossing a junction, 12+ bases each side
    readable_found: int = 0
    placeable: int = 0  # of those, sites a human genome could place: 20+ host bases, or the mate on the host
    placeable_found: int = 0
    single: int = 0
    single_5bp: int = 0
    phantoms: int = 0  # calls at a true site's position with the opposite orientation and no true match
    unknown_orientation: int = 0
    extra_calls: int = 0  # calls beyond the first matching the same true site within 5 bp

    def add(self, other: Score) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


def score(truth: list[dict[str, str]], calls: list[dict[str, str]]) -> Score:
    s = Score()
    precise = [c for c in calls if c["precise"] == "yes"]
    s.calls, s.imprecise = len(precise), len(calls) - len(precise)
    s.multi_hit = sum("multi_hit" in c["flags"] for c in calls)
    for call in precise:
        d = [x for t in truth if (x := _distance(t, call)) is not None]
        s.calls_exact += 0 in d
        s.calls_5bp += any(x <= WITHIN for x in d)
        single = call.get("support") == "single"
        s.single += single
        s.single_5bp += single and any(x <= WITHIN for x in d)
        s.unknown_orientation += call["orientation"] == "."
        s.phantoms += not any(x <= WITHIN for x in d) and any(
            x is not None and x <= WITHIN for t in truth for x in [_distance(t, call, same=False)]
        )
    for t in truth:
        near = [(x, c) for c in precise if (x := _distance(t, c)) is not None and x <= WITHIN]
        best = min(near, key=lambda xc: xc[0], default=None)
        s.extra_calls += max(0, len(near) - 1)
        if t.get("readable_fragments", "NA") not in {"NA", "0"}:
            s.readable += 1
            s.readable_found += best is not None
        if t.get("placeable_fragments", "NA") not in {"NA", "0"}:
            s.placeable += 1
            s.placeable_found += best is not None
        if int(t["fragments"]) >= MIN_FRAGMENTS:
            s.truth_eligible += 1
            s.found_exact += best is not None and best[0] == 0
            s.found_5bp += best is not None
        if best is not None:
            s.breakpoint_errors.append(best[0])
        call = best[1] if best else None
        flagged = call is not None and call["clonal"] == "yes"
        if float(t["clonal_fraction"]) == 1.0:
            s.clone100 += 1
            s.clone100_exact += best is not None and best[0] == 0
            s.clonal_flag_ok += flagged
        else:
            s.other_flagged_clonal += flagged
        if t["class"] == "clonal" and call is not None and call["clonal_fraction"] != "NA":
            true = float(t["clonal_fraction"])
            s.cf_errors.append(abs(float(call["clonal_fraction"]) - true))
            s.cf_beyond += s.cf_errors[-1] > CF_TARGET
            s.cf_beyond_expected += chance_beyond_target(t, call)
            s.interval_hits += (
                float(call["clonal_fraction_low"]) <= true <= float(call["clonal_fraction_high"])
            )
            if call["clone_fraction"] != "NA":
                s.clone_errors.append(abs(float(call["clone_fraction"]) - true))
    return s


def chance_beyond_target(truth: dict[str, str], call: dict[str, str]) -> float:
    """Chance that counting alone puts a site's clonal fraction more than CF_TARGET from the truth.

    Normal approximation to the binomial estimate from the site's own fragment count n (junction plus
    spanning) at the true allele fraction q with k junctions seen: p = k q / (k q + 1 - q), sd(p) =
    sqrt(p (1 - p) / n), sd(q) = sd(p) / (dp/dq), scaled to cells (x clonal / cell fraction for purity).
    Estimates are capped at 1, so a truth within CF_TARGET of 1 can only be missed from below.
    """
    true, cells = float(truth["clonal_fraction"]), float(truth["cell_fraction"])
    k = sum(call[side] != "NA" for side in ("left_junction", "right_junction"))
    n = int(call["fragments"]) + float(call["spanning_fragments"])
    q = cells / 2
    p = k * q / (k * q + 1 - q)
    sd = math.sqrt(p * (1 - p) / n) / (k / (k * q + 1 - q) ** 2) * 2 * true / cells
    tail = statistics.NormalDist().cdf(-CF_TARGET / sd)
    return tail if true + CF_TARGET >= 1 else 2 * tail


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f} ({a}/{b})" if b else "NA"


def _stat(values: Sequence[float], fmt: str) -> str:
    return f"{fmt.format(statistics.mean(values))} / {fmt.format(max(values))}" if values else "NA"


HEADER = (
    "| sample | sites (>=3 frag) | recall exact | recall 5 bp | calls | precision exact | precision 5 bp "
    "| imprecise / multi-hit calls | 100% clone base-exact | breakpoint error mean / max (bp) "
    "| clonal-fraction error mean / max | error > 0.1: seen / expected from counting "
    "| clone-level error mean / max (sites) | 95% interval holds truth "
    "| flagged clonal: 100% clone / others "
    "| physical limit (sites with a 12+12 read) | recall of the limit "
    "| placeable on GRCh38 (20+ host bases or mate on host) | recall of placeable "
    "| single calls (within 5 bp) "
    "| opposite-orientation phantoms | orientation unknown | extra calls per true site |"
)


def row(name: str, s: Score) -> str:
    cells = [
        name,
        str(s.truth_eligible),
        _ratio(s.found_exact, s.truth_eligible),
        _ratio(s.found_5bp, s.truth_eligible),
        str(s.calls),
        _ratio(s.calls_exact, s.calls),
        _ratio(s.calls_5bp, s.calls),
        f"{s.imprecise} / {s.multi_hit}",
        _ratio(s.clone100_exact, s.clone100),
        _stat(s.breakpoint_errors, "{:.2f}"),
        _stat(s.cf_errors, "{:.3f}"),
        f"{s.cf_beyond} / {s.cf_beyond_expected:.1f}",
        f"{_stat(s.clone_errors, '{:.3f}')} ({len(s.clone_errors)})",
        _ratio(s.interval_hits, len(s.cf_errors)),
        f"{_ratio(s.clonal_flag_ok, s.clone100)} / {s.other_flagged_clonal}",
        str(s.readable),
        _ratio(s.readable_found, s.readable),
        str(s.placeable),
        _ratio(s.placeable_found, s.placeable),
        f"{s.single} ({s.single_5bp})",
        str(s.phantoms),
        str(s.unknown_orientation),
        str(s.extra_calls),
    ]
    return "| " + " | ".join(cells) + " |"


def report(panel: Panel, work: Path, outdir: str = "out") -> Score:
    print(f"\n### panel {panel.name} ({outdir})\n\n{HEADER}\n|{'---|' * HEADER.count(' | ')}---|")
    total = Score()
    for sample in panel.samples:
        truth = read_tsv(work / "reads" / f"{sample.name}.truth.tsv")
        calls = read_tsv(work / outdir / "calls" / f"{sample.name}.sites.tsv")
        s = score(truth, calls)
        total.add(s)
        print(row(sample.name, s))
    print(row("**all**", total))
    for sample in panel.samples:
        truth = read_tsv(work / "reads" / f"{sample.name}.truth.tsv")
        print(f"- {sample.name}: {census_line(truth, work / outdir / 'calls' / f'{sample.name}.census.tsv')}")
    for sample in panel.samples:
        qc = {
            r["metric"]: r["count"] for r in read_tsv(work / outdir / "calls" / f"{sample.name}.sites_qc.tsv")
        }
        rejected = ", ".join(
            f"{k[9:]} {v}" for k, v in sorted(qc.items()) if k.startswith("rejected_") and v != "0"
        )
        print(f"- {sample.name}: rejected rows: {rejected or 'none'}")
    return total


def census_line(truth: list[dict[str, str]], census_tsv: Path) -> str:
    """The census against the truth: true sites, those with a simulated junction fragment, the estimate."""
    (c,) = read_tsv(census_tsv)
    n = len(truth)
    crossing = sum(int(t["fragments"]) > 0 for t in truth)
    low, high = float(c["sites_estimated_low"]), float(c["sites_estimated_high"])
    return (
        f"census: {n} true sites ({crossing} with a junction fragment), {c['sites_observed']} seen "
        f"(f1 {c['sites_one_fragment']}, f2 {c['sites_two_fragments']}), estimated {c['sites_estimated']} "
        f"({c['sites_estimated_low']}-{c['sites_estimated_high']}): holds the truth "
        f"{'yes' if low <= n <= high else 'no'}, holds the sites with a junction fragment "
        f"{'yes' if low <= crossing <= high else 'no'}; unexplained share of the VCN {c['unexplained_share']}"
    )


def census_seeds(args: argparse.Namespace) -> None:
    """Only the polyclonal sample (200 sites at 1-5% of cells), once per seed, in one workflow run."""
    work = args.workdir.resolve() / "census"
    work.mkdir(parents=True, exist_ok=True)
    panel = demo_panel(work, args.seed)
    genome = read_genome(panel.genome)
    repeats = build_demo().repeats
    panel.samples = [
        PanelSample(
            f"polyclonal_{k}",
            "demo_car",
            SitePicker(genome, repeats, args.seed + 3 + 100 * k, spacing=1000).random(
                200, (0.01, 0.05), "bystander", unique=False
            ),
        )
        for k in range(args.census_seeds)
    ]
    simulate_panel(panel, work, args.coverage, args.seed)
    run_panel(panel, work, args.cores, "out", screen=False)
    held = seeable = 0
    for sample in panel.samples:
        truth = read_tsv(work / "reads" / f"{sample.name}.truth.tsv")
        line = census_line(truth, work / "out" / "calls" / f"{sample.name}.census.tsv")
        held += "holds the truth yes" in line
        seeable += "junction fragment yes" in line
        print(f"- {sample.name}: {line}")
    n = len(panel.samples)
    print(f"\ncensus 95% interval holds the true number of sites in {held} of {n} seeds, the number of sites")
    print(f"with at least one simulated junction fragment in {seeable} of {n}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / "results" / "benchmark_accuracy")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--coverage", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-real", action="store_true", help="skip the real CD19 CAR / GRCh38 panel")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo-genome panel")
    parser.add_argument(
        "--screened",
        action="store_true",
        help="also run every panel with screening on and compare its sites and junctions with the full run",
    )
    parser.add_argument(
        "--count-spanning",
        action="store_true",
        help="with --screened: count the reference fragments in a second pass (screen: count_spanning) "
        "and compare the whole sites table, clonal fractions included",
    )
    parser.add_argument(
        "--census-seeds",
        type=int,
        default=0,
        help="simulate only the polyclonal sample this many times (other sites each time) and print the "
        "clone census against the true number of sites",
    )
    args = parser.parse_args(argv)
    started = time.time()
    if args.census_seeds:
        census_seeds(args)
        print(f"\n{args.coverage:g}x, {args.cores} cores, {time.time() - started:.0f} s")
        return 0
    panels = [] if args.no_demo else [demo_panel]
    if not args.no_real:
        panels.append(real_panel)
    overall, screened, same = Score(), Score(), True
    for make in panels:
        work = args.workdir.resolve() / make.__name__.removesuffix("_panel")
        work.mkdir(parents=True, exist_ok=True)
        panel = make(work, args.seed)
        if panel is None:
            print("\n(real CD19 CAR / GRCh38 panel skipped: ../shared/data is not present)")
            continue
        simulate_panel(panel, work, args.coverage, args.seed)
        run_panel(panel, work, args.cores, "out", screen=False)
        overall.add(report(panel, work))
        if args.screened:
            run_panel(panel, work, args.cores, "out_screened", True, args.count_spanning)
            screened.add(report(panel, work, "out_screened"))
            same &= compare_screened(panel, work, args.count_spanning)
    print(f"\n{HEADER}\n|{'---|' * HEADER.count(' | ')}---|\n{row('**overall**', overall)}")
    if args.screened:
        print(row("**overall, screened**", screened))
        verdict = "yes" if same else "no"
        what = "sites table" if args.count_spanning else "sites and junctions"
        print(f"\nscreened = full alignment (same {what} in every sample): {verdict}")
    print(f"\n{args.coverage:g}x, {args.cores} cores, {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
