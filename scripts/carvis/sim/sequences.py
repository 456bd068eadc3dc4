"""Random DNA for simulated genomes and vectors: free of the lentiviral LTR end motifs (so that no junction
is seen where none was put), repeat copies that diverge by substitutions and short indels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from carvis.core.seqs import revcomp
from carvis.reference.vectors import KINDS

_LENTI = KINDS["lentiviral"]
FORBIDDEN = (_LENTI.five_prime_end, _LENTI.three_prime_end)


def random_dna(rng: np.random.Generator, n: int, gc: float = 0.5, avoid: Sequence[str] = FORBIDDEN) -> str:
    """Random DNA without the ``avoid`` motifs (the lentiviral end motifs) on either strand."""
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    while True:
        seq = rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), size=n, p=p).tobytes().decode()
        if not any(m in seq or revcomp(m) in seq for m in avoid):
            return seq


def mutate(rng: np.random.Generator, seq: str, divergence: float) -> str:
    """Substitutions (90%) and 1-3 bp indels (10%) at the given per-base divergence."""
    arr = bytearray(seq.encode())
    n_sub = int(rng.binomial(len(arr), divergence * 0.9))
    for pos in rng.integers(0, len(arr), n_sub):
        arr[pos] = b"ACGT"[(b"ACGT".index(arr[pos]) + int(rng.integers(1, 4))) % 4]
    n_indel = int(rng.binomial(len(arr), divergence * 0.1))
    for pos in sorted(rng.integers(0, len(arr) - 3, n_indel), reverse=True):
        size = int(rng.integers(1, 4))
        if rng.random() < 0.5:
            del arr[pos : pos + size]
        else:
            arr[pos:pos] = random_dna(rng, size).encode()
    return arr.decode()


def scrub(seq: bytearray) -> None:
    """Break every lentiviral end motif (either strand) by changing its middle base."""
    motifs = [m.encode() for m in FORBIDDEN] + [revcomp(m).encode() for m in FORBIDDEN]
    changed = True
    while changed:
        changed = False
        for motif in motifs:
            pos = seq.find(motif)
            while pos >= 0:
                mid = pos + len(motif) // 2
                seq[mid] = b"ACGT"[(b"ACGT".index(seq[mid]) + 1) % 4]
                changed = True
                pos = seq.find(motif, pos + 1)
