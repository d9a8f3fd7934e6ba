"""docs/map.md stays true: its option table is the command's, and the studies file it
documents is the format the loader reads (the bundled files load)."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from netlm_bayes.cli.app import app
from netlm_bayes.evidence.studies import load_studies
from netlm_bayes.paths import PROJECT_ROOT, STUDIES_DIR

DOC = PROJECT_ROOT / "docs" / "map.md"


def test_the_option_table_lists_exactly_the_commands_options():
    help_text = CliRunner().invoke(app, ["map", "--help"], terminal_width=200).output
    offered = set(re.findall(r"^│ [* ]  (--[a-z][a-z-]+)", help_text, re.M)) - {"--help"}
    table = DOC.read_text(encoding="utf-8").split("## Options", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(--[a-z][a-z-]+)", table))
    assert documented == offered


def test_every_bundled_studies_file_loads():
    files = sorted(STUDIES_DIR.glob("*.toml"))
    assert len(files) >= 2
    for path in files:
        assert load_studies(path).measurements
