"""Shared pieces of the adversarial suite: the generated files (cached), the fork-server runner,
and the tally behind docs/reliability.md (each test records what happened per category)."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from runner import Runner  # noqa: E402

OUTCOMES = ("clean error", "crash", "silent wrong result", "data lost or leaked")
TALLY: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
MEMORY_LIMIT_MB = 1536  # peak RSS allowed for one command on any of these (small) files


def record(category: str, outcome: str | None) -> None:
    """One input tried in ``category``: ``outcome`` None when it was read or refused as it should."""
    TALLY[category]["tried"] += 1
    if outcome:
        TALLY[category][outcome] += 1


def cache_dir() -> Path:
    env = os.environ.get("FUPIN_ADVERSARIAL_CACHE")
    if env:
        return Path(env)
    digest = hashlib.sha256((HERE / "generate.py").read_bytes()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"fupin-adversarial-{digest}"


@pytest.fixture(scope="session")
def adversarial_files(request) -> Path:
    slow = "slow" in (request.config.getoption("-m") or "") and "not slow" not in (request.config.getoption("-m") or "")
    d = cache_dir()
    generate.build(d, slow=slow)
    return d


@pytest.fixture(scope="session")
def runner():
    with Runner(memory_limit=3 << 30, timeout=180) as r:
        yield r


def sha256(path: Path) -> str:
    if path.is_dir():
        h = hashlib.sha256()
        for p in sorted(path.rglob("*")):
            if p.is_file() and not p.is_symlink():
                h.update(p.name.encode() + p.read_bytes())
        return h.hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()
