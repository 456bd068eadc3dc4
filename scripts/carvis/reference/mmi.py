"""A combined minimap2 index made from a genome index and a vector index, without reindexing the genome.

minimap2 (``-d``) stores, per bucket of minimizers, a hash from minimizer to its positions (one position
inline, several as a slice of the bucket's position array, sorted), then the packed 4-bit sequence. A
minimizer's positions encode ``rid << 32 | pos << 1 | strand`` and depend only on its own sequence, so the
index minimap2 would build from ``genome.fa + vectors.fa`` holds exactly the genome index's positions plus
the vector index's positions with ``rid`` shifted by the number of genome contigs, in ascending order
(genome first). :func:`append_index` writes that index by copying every bucket the vectors do not touch and
merging the few they do; mapping with it gives the same alignments as an index built from the combined
FASTA (tests/test_mmi.py aligns reads with both), and a new vector costs seconds instead of a genome index.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

import numpy as np

from carvis.core.errors import InputError
from carvis.core.io import atomic_write

#: minimap2's preset for every index of the combined reference (genome and vectors must share it).
MINIMAP2_INDEX_PRESET = "sr"
MAGIC = b"MMI\x02"
_HEADER = struct.Struct("<5I")  # w, k, b, n_seq, flag
_U32 = struct.Struct("<I")
_NO_SEQ = 0x2  # MM_I_NO_SEQ
_COPY = 1 << 24


@dataclass(frozen=True)
class _Header:
    w: int
    k: int
    b: int
    n_seq: int
    flag: int
    names: list[bytes]
    lengths: list[int]

    @property
    def total(self) -> int:
        return sum(self.lengths)


def _read_exact(fh: BinaryIO, n: int, path: Path) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise InputError(path, "truncated minimap2 index", "delete it and rerun (it is rebuilt)")
    return data


def _header(fh: BinaryIO, path: Path) -> _Header:
    if fh.read(4) != MAGIC:
        raise InputError(path, "not a minimap2 index of this version (MMI\\2)", "delete it and rerun")
    w, k, b, n_seq, flag = _HEADER.unpack(_read_exact(fh, _HEADER.size, path))
    names, lengths = [], []
    for _ in range(n_seq):
        length = _read_exact(fh, 1, path)[0]
        names.append(_read_exact(fh, length, path))
        lengths.append(_U32.unpack(_read_exact(fh, 4, path))[0])
    return _Header(w, k, b, n_seq, flag, names, lengths)


def _bucket(fh: BinaryIO, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One bucket: its position array and its hash entries as an (n, 2) array of key, value."""
    (n,) = _U32.unpack(_read_exact(fh, 4, path))
    p = np.frombuffer(_read_exact(fh, 8 * n, path), dtype="<u8")
    (size,) = _U32.unpack(_read_exact(fh, 4, path))
    h = np.frombuffer(_read_exact(fh, 16 * size, path), dtype="<u8").reshape(size, 2)
    return p, h


def _raw_bucket(fh: BinaryIO, path: Path) -> Iterator[bytes]:
    """One bucket's bytes, unparsed (in chunks: a genome bucket can be large)."""
    head = _read_exact(fh, 4, path)
    yield head
    yield from _copy(fh, 8 * _U32.unpack(head)[0], path)
    size = _read_exact(fh, 4, path)
    yield size
    yield from _copy(fh, 16 * _U32.unpack(size)[0], path)


def _copy(fh: BinaryIO, n: int, path: Path) -> Iterator[bytes]:
    while n > 0:
        chunk = _read_exact(fh, min(n, _COPY), path)
        n -= len(chunk)
        yield chunk


def _positions(p: np.ndarray, key: int, value: int) -> np.ndarray:
    if key & 1:
        return np.array([value], dtype=np.uint64)
    start, n = value >> 32, value & 0xFFFFFFFF
    return np.asarray(p[start : start + n], dtype=np.uint64)


def _vector_buckets(path: Path, shift: int) -> tuple[_Header, dict[int, dict[int, np.ndarray]], np.ndarray]:
    """The vector index: bucket -> {minimizer key without the singleton bit: positions (rid shifted)}, and
    its 4-bit base codes."""
    buckets: dict[int, dict[int, np.ndarray]] = {}
    with open(path, "rb") as fh:
        head = _header(fh, path)
        for i in range(1 << head.b):
            p, h = _bucket(fh, path)
            if len(h):
                buckets[i] = {
                    int(key) & ~1: _positions(p, int(key), int(value)) + np.uint64(shift << 32)
                    for key, value in h
                }
        codes = np.zeros(0, dtype=np.uint8)
        if not head.flag & _NO_SEQ:
            words = np.frombuffer(_read_exact(fh, 4 * ((head.total + 7) // 8), path), dtype="<u4")
            nibbles = (words[:, None] >> (4 * np.arange(8, dtype=np.uint32))) & 0xF
            codes = nibbles.astype(np.uint8).ravel()[: head.total]
        if fh.read(1):
            raise InputError(path, "a multi-part minimap2 index", "index the vectors in one part")
    return head, buckets, codes


def _merge_bucket(p: np.ndarray, h: np.ndarray, extra: dict[int, np.ndarray]) -> bytes:
    """A genome bucket with the vector minimizers ``extra`` added: shared minimizers get the vector
    positions after the genome's; the position array is rebuilt without the replaced slices."""
    keys, values = h[:, 0].copy(), h[:, 1].copy()
    base = keys & ~np.uint64(1)
    shared = np.isin(base, np.fromiter(extra, dtype=np.uint64, count=len(extra)))
    index = {int(base[i]): int(i) for i in np.flatnonzero(shared)}
    keep = np.ones(len(p), dtype=bool)
    tails: list[np.ndarray] = []
    for key, i in index.items():
        merged = np.concatenate([_positions(p, int(keys[i]), int(values[i])), extra[key]])
        if not keys[i] & 1:
            start, n = int(values[i]) >> 32, int(values[i]) & 0xFFFFFFFF
            keep[start : start + n] = False
        tails.append(merged)
        keys[i] = np.uint64(key)
    new_keys = [key for key in extra if key not in index]
    tails.extend(extra[key] for key in new_keys)
    # Untouched several-position minimizers keep their slices, at their new offsets.
    shift = np.cumsum(keep) - keep
    multi = (keys & np.uint64(1)) == 0
    untouched = multi & ~shared
    starts = values[untouched] >> np.uint64(32)
    values[untouched] = (shift[starts.astype(np.int64)].astype(np.uint64) << np.uint64(32)) | (
        values[untouched] & np.uint64(0xFFFFFFFF)
    )
    new_p = [p[keep]]
    offset = int(keep.sum())
    new_values = []
    for merged in tails:
        if len(merged) == 1:
            new_values.append(int(merged[0]))
        else:
            new_values.append(offset << 32 | len(merged))
            new_p.append(merged)
            offset += len(merged)
    for i, value in zip(index.values(), new_values[: len(index)], strict=True):
        values[i] = value  # a shared minimizer has several positions: key without the singleton bit
    added = np.array(
        [
            [key | (1 if len(extra[key]) == 1 else 0), value]
            for key, value in zip(new_keys, new_values[len(index) :], strict=True)
        ],
        dtype=np.uint64,
    ).reshape(-1, 2)
    table = np.concatenate([np.stack([keys, values], axis=1), added]).astype("<u8")
    positions = np.concatenate(new_p).astype("<u8")
    return _U32.pack(len(positions)) + positions.tobytes() + _U32.pack(len(table)) + table.tobytes()


def append_index(genome_mmi: str | Path, vector_mmi: str | Path, out: str | Path) -> None:
    """Write ``out``: the minimap2 index of the genome's contigs followed by the vector index's contigs
    (both built with the same preset), atomically."""
    genome_mmi, vector_mmi = Path(genome_mmi), Path(vector_mmi)
    with open(genome_mmi, "rb") as fh:
        genome = _header(fh, genome_mmi)
    vector, buckets, codes = _vector_buckets(vector_mmi, genome.n_seq)
    settings = (genome.w, genome.k, genome.b, genome.flag)
    if settings != (vector.w, vector.k, vector.b, vector.flag):
        raise InputError(
            vector_mmi,
            f"indexed with other settings than {genome_mmi} (w, k, b, flag "
            f"{(vector.w, vector.k, vector.b, vector.flag)} vs {settings})",
            "index both with the same minimap2 preset",
        )
    clash = set(genome.names) & set(vector.names)
    if clash:
        raise InputError(vector_mmi, f"contig names also in the genome: {sorted(clash)}", "rename them")
    with open(genome_mmi, "rb") as fh, atomic_write(out, "wb", compress=False) as dst:
        _header(fh, genome_mmi)
        dst.write(MAGIC)
        n_seq = genome.n_seq + vector.n_seq
        dst.write(_HEADER.pack(genome.w, genome.k, genome.b, n_seq, genome.flag))
        for name, length in zip(genome.names + vector.names, genome.lengths + vector.lengths, strict=True):
            dst.write(bytes([len(name)]) + name + _U32.pack(length))
        for i in range(1 << genome.b):
            if i in buckets:
                p, h = _bucket(fh, genome_mmi)
                dst.write(_merge_bucket(p, h, buckets[i]))
            else:
                for chunk in _raw_bucket(fh, genome_mmi):
                    dst.write(chunk)
        if not genome.flag & _NO_SEQ:
            _append_bases(fh, dst, genome.total, codes, genome_mmi)
        if fh.read(1):
            raise InputError(
                genome_mmi, "a multi-part minimap2 index", "index the genome in one part (minimap2 -I larger)"
            )


def _append_bases(fh: BinaryIO, dst: IO[bytes], total: int, codes: np.ndarray, path: Path) -> None:
    """Copy the genome's packed bases and pack the vector's after them (8 bases a 32-bit word)."""
    words = (total + 7) // 8
    full = total // 8
    for chunk in _copy(fh, 4 * full, path):
        dst.write(chunk)
    tail = np.frombuffer(_read_exact(fh, 4 * (words - full), path), dtype="<u4")
    lead = total - 8 * full  # genome bases in its last, partial word
    head = np.zeros(lead, dtype=np.uint8)
    if lead:
        head = ((tail[0] >> (4 * np.arange(lead, dtype=np.uint32))) & 0xF).astype(np.uint8)
    allcodes = np.concatenate([head, codes])
    padded = np.zeros(((len(allcodes) + 7) // 8) * 8, dtype=np.uint32)
    padded[: len(allcodes)] = allcodes
    packed = (padded.reshape(-1, 8) << (4 * np.arange(8, dtype=np.uint32))).sum(axis=1, dtype=np.uint32)
    dst.write(packed.astype("<u4").tobytes())
