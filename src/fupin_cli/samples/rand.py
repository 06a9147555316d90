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
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


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



def at_least_one(chosen: np.ndarray, candidates: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``chosen``, or the candidate with the smallest draw ``u`` when none was chosen.

    Keeps every planned case present in small samples (e.g. one 返贫 household in 40).
    """
    if chosen.any() or not candidates.any():
        return chosen
    out = chosen.copy()
    c = np.flatnonzero(candidates)
    out[c[np.argmin(u[c])]] = True
    return out


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


# --------------------------------------------------------------------------------------
# String columns built with pyarrow (no Python string objects per row)
# --------------------------------------------------------------------------------------
def text(values: Sequence[str], idx: np.ndarray, missing: np.ndarray | None = None) -> pd.api.extensions.ExtensionArray:
    """``values[idx]`` as a pandas ``str`` array (pyarrow ``take`` on the small dictionary).

    ``missing`` (bool mask) gives NA cells.
    """
    idx = np.asarray(idx, dtype=np.int64)
    ind = pa.array(idx, mask=None if missing is None else np.asarray(missing, dtype=bool))
    return as_str(pc.take(pa.array(list(values), pa.string()), ind))


def const(value: str, n: int) -> pd.api.extensions.ExtensionArray:
    return text([value], np.zeros(n, dtype=np.int64))


def digits(values: np.ndarray, width: int) -> pa.Array:
    """Zero-padded fixed-width decimal strings of non-negative int64 values (pyarrow string array)."""
    v = np.asarray(values, dtype=np.int64).copy()
    n = len(v)
    buf = np.empty((n, width), dtype=np.uint8)
    for k in range(width - 1, -1, -1):
        buf[:, k] = v % 10 + 48
        v //= 10
    return fixed(buf)


def fixed(ascii_: np.ndarray) -> pa.Array:
    """An (n, width) uint8 array of ASCII characters as a pyarrow string array (one buffer, no copies per row)."""
    n, width = ascii_.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(ascii_).tobytes()))


def join(*parts, missing: np.ndarray | None = None) -> pd.api.extensions.ExtensionArray:
    """Element-wise concatenation of string arrays / scalars (pandas ``str`` array)."""
    arrays = [p if isinstance(p, str) else (p if isinstance(p, (pa.Array, pa.ChunkedArray)) else _arrow(p)).cast(pa.string())
              for p in parts]
    out = pc.binary_join_element_wise(*arrays, "")
    if missing is not None:
        out = pc.if_else(pa.array(np.asarray(missing, dtype=bool)), pa.scalar(None, pa.string()), out)
    return as_str(out)


def _arrow(a) -> pa.Array:
    if isinstance(a, pd.api.extensions.ExtensionArray | pd.Series):
        return pa.array(a)
    return pa.array(np.asarray(a, dtype=object), pa.string())


def as_str(a: pa.Array | pa.ChunkedArray) -> pd.api.extensions.ExtensionArray:
    return pd.array(a, dtype="str")


def isin(values, choices: Sequence[str]) -> np.ndarray:
    """Vectorised membership for str / object arrays (NA → False)."""
    return pd.Series(values, copy=False).isin(list(choices)).to_numpy(dtype=bool)
