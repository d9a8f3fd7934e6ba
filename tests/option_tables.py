"""A command's docs page lists exactly the options `--help` offers (one helper, used by
every docs page that has an `## Options` table)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from netlm_bayes.cli.app import app


def assert_documents_every_option(command: str, doc: Path) -> None:
    help_text = CliRunner().invoke(app, [command, "--help"], terminal_width=200).output
    # an option's own row (not a flag named inside another option's help)
    offered = set(re.findall(r"^│ [* ]  (--[a-z][a-z-]+)", help_text, re.M)) - {"--help"}
    table = doc.read_text(encoding="utf-8").split("## Options", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(--[a-z][a-z-]+)", table))
    assert documented == offered
