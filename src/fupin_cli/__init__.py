"""fupin (扶贫): household poverty identification and tracking from county rosters.

The package is a library first and a command-line tool on top.  The pipeline runs one way:

    roster file(s) → io.read_roster → Roster → checks.validate → Findings
        → engine (derive, evaluate a RulePack for a year/region) → core (decisions)
        → io writers (xlsx / csv / parquet / json)

Only ``fupin_cli.io`` touches files; only ``fupin_cli.cli`` imports typer and rich.
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("fupin")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
