"""Synthetic resident ID numbers (GB 11643-1999), vectorised.

18 characters: 6-digit address code + birth date YYYYMMDD + 3-digit sequence (odd = male,
even = female) + ISO 7064 MOD 11-2 check character (``"10X98765432"[sum(a_i * W_i) % 11]``).
The checksum is implemented here so the generator does not depend on ``fupin_cli.idnumber``.
"""

from __future__ import annotations

import numpy as np

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)


def check_char(first17: str) -> str:
    """MOD 11-2 check character of the first 17 digits of an ID number."""
    s = sum(int(d) * int(w) for d, w in zip(first17, WEIGHTS))
    return "10X98765432"[s % 11]


def is_valid(id18: str) -> bool:
    """True when ``id18`` has 17 digits and the right check character (upper-case X)."""
    return len(id18) == 18 and id18[:17].isdigit() and check_char(id18[:17]) == id18[17]


def build_ids(address: np.ndarray, birth_ymd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Vectorised 18-character IDs.

    ``address``: int array of 6-digit codes; ``birth_ymd``: int array YYYYMMDD;
    ``seq``: int array 0–999 (parity already set for the sex). Returns a numpy ``U18`` array.
    """
    return _ascii(address, birth_ymd, seq).view("S18").ravel().astype("U18")


def build_id_array(address: np.ndarray, birth_ymd: np.ndarray, seq: np.ndarray):
    """The same IDs as a pyarrow string array built from one byte buffer (fast for millions)."""
    from fupin_cli.samples.rand import fixed

    return fixed(_ascii(address, birth_ymd, seq))


def _ascii(address: np.ndarray, birth_ymd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    n = len(address)
    digits = np.empty((n, 18), dtype=np.uint8)
    total = np.zeros(n, dtype=np.int64)
    parts = ((address, 6, 0), (birth_ymd, 8, 6), (seq, 3, 14))
    for value, width, start in parts:
        v = np.asarray(value, dtype=np.int64)
        lo = int(v.min()) if n else 0
        # digits and weighted digit sums of every value in [lo, max]: a table lookup per row
        table = np.arange(lo, (int(v.max()) if n else 0) + 1, dtype=np.int64)[:, None] // 10 ** np.arange(width - 1, -1, -1) % 10
        digits[:, start:start + width] = table.astype(np.uint8)[v - lo]
        total += (table @ WEIGHTS[start:start + width])[v - lo]
    ascii_ = digits + ord("0")
    ascii_[:, 17] = CHECK_CHARS[total % 11]
    return np.ascontiguousarray(ascii_)


def sequence_for_sex(raw: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Force the parity of a 0–999 sequence number: odd for men, even for women."""
    raw = np.asarray(raw, dtype=np.int64)
    even = raw - (raw % 2)
    return np.where(male, even + 1, even)


def to_15(id18: str) -> str:
    """The old 15-digit form: drop the century and the check character."""
    return id18[:6] + id18[8:17]


def with_sex(id18: str, male: bool) -> str:
    """The same ID with the sequence parity (and check char) made to match ``male``."""
    seq = int(id18[14:17])
    seq = seq - seq % 2 + (1 if male else 0)
    first17 = f"{id18[:14]}{seq:03d}"
    return first17 + check_char(first17)


def mask(value: str) -> str:
    """First 6 and last 4 characters, the rest as ``*`` (for messages and truth files)."""
    s = str(value)
    if len(s) <= 10:
        return s
    return s[:6] + "*" * (len(s) - 10) + s[-4:]
