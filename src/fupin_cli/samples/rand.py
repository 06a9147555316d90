"""Deterministic random streams and small vectorised helpers for the generator.

Every part of the generator draws from its own named stream (``stream(seed, "people")``),
so adding a field to one part does not shift the numbers of another.  Streams are numpy
``Generator(PCG64)`` seeded from ``[seed, crc32(name)]``: the same seed gives the same
output on any machine and any Python (no ``hash()`` randomisation involved).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(seed) >> 32, zlib.crc32(name.encode())])


def pick(u: np.ndarray, probs: np.ndarray | Sequence[float]) -> np.ndarray:
    """Index of the category for each uniform ``u`` given probabilities.

    ``probs`` is one row of k probabilities (shared) or an (n, k) matrix (one row per draw).
    Rows need not sum to one exactly; the last category takes the remainder.
    """
    p = np.asarray(probs, dtype=float)
    cum = np.cumsum(p, axis=-1)
    if p.ndim == 1:
        idx = np.searchsorted(cum, u, side="right")
        return np.minimum(idx, len(p) - 1)
    idx = (u[:, None] >= cum).sum(axis=1)
    return np.minimum(idx, p.shape[1] - 1)


def labels(values: Sequence[str], idx: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=object)[idx]


def zfill(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal strings of non-negative ints (numpy unicode array)."""
    return np.strings.zfill(np.asarray(values, dtype=np.int64).astype(str), width)


def group_positions(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of ``sizes``: (group index per element, position within the group)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    owner = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.cumsum(sizes) - sizes
    pos = np.arange(int(sizes.sum())) - np.repeat(starts, sizes)
    return owner, pos


def group_sum(owner: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(owner, weights=np.asarray(values, dtype=float), minlength=n_groups)


def group_any(owner: np.ndarray, mask: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(owner, weights=np.asarray(mask, dtype=float), minlength=n_groups) > 0
