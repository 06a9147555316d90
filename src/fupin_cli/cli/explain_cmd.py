"""`fupin explain` (not yet implemented)."""

from __future__ import annotations

import typer

from fupin_cli.errors import UsageError
from fupin_cli.cli.common import guard


def register(app: typer.Typer) -> None:
    @app.command("explain", help="(not yet implemented)")
    def explain_command() -> None:
        with guard():
            raise UsageError("fupin explain is not implemented yet")
