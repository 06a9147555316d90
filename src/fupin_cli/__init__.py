"""fupin (扶贫): household poverty identification and tracking from county rosters.

The package is a library first and a command-line tool on top.  The pipeline runs one way:

    roster file(s) → io.read_roster → Roster → checks.validate → Findings
        → engine (derive, evaluate a RulePack for a year/region) → core (decisions)
        → io writers (xlsx / csv / parquet / json)

Only ``fupin_cli.io`` touches files; only ``fupin_cli.cli`` imports typer and rich.
"""

__all__ = ["__version__"]


def __getattr__(name: str):
    # ``__version__`` is read from the installed metadata on first use: importlib.metadata costs
    # ~30 ms, which `fupin --help` does not need.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("fupin")
        except PackageNotFoundError:  # running from a source tree without install
            value = "0.0.0+unknown"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
