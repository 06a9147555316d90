"""LibreOffice (``soffice``) as a converter: the one place fupin runs it.

Used to write ``.xls`` samples (fupin writes .xlsx, LibreOffice saves it as Excel 97–2003; there is
no maintained Python writer of .xls) and by the tests to render workbooks to PDF.  A throw-away
profile folder per call keeps it independent of any user profile and of a LibreOffice already running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from fupin_cli.errors import UsageError

SOFFICE_ENV = "FUPIN_SOFFICE"  # path of soffice when it is not on PATH
TIMEOUT_S = 600
# LibreOffice filter names by target extension
FILTERS = {"xls": "xls:MS Excel 97", "pdf": "pdf", "xlsx": "xlsx:Calc MS Excel 2007 XML"}


def soffice() -> str | None:
    """The soffice executable, or None when LibreOffice is not installed."""
    given = os.environ.get(SOFFICE_ENV)
    if given:
        return given if Path(given).is_file() else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def require_soffice(what: str) -> str:
    exe = soffice()
    if exe is None:
        raise UsageError(f"{what} needs LibreOffice (soffice), which is not installed",
                         f"install LibreOffice (e.g. apt-get install libreoffice-calc-nogui), set {SOFFICE_ENV}, "
                         "or write .xlsx instead")
    return exe


def convert(source: Path, target: Path, what: str) -> Path:
    """Convert ``source`` into ``target`` (format from target's extension) with LibreOffice."""
    exe = require_soffice(what)
    ext = target.suffix.lower().lstrip(".")
    with tempfile.TemporaryDirectory(prefix="fupin-soffice-") as work:
        profile = Path(work) / "profile"
        outdir = Path(work) / "out"
        cmd = [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--convert-to", FILTERS.get(ext, ext), "--outdir", str(outdir), str(source)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise UsageError(f"{what}: LibreOffice did not finish within {TIMEOUT_S} s", "write .xlsx instead") from None
        produced = outdir / f"{source.stem}.{ext}"
        if proc.returncode != 0 or not produced.is_file():
            detail = " ".join((proc.stderr or proc.stdout or "").split())[:200]
            raise UsageError(f"{what}: LibreOffice could not convert {source.name} ({detail or 'no output'})",
                             "write .xlsx instead")
        shutil.move(str(produced), str(target))
    return target
