"""docs/map.md stays true: its option table is the command's, and the studies file it
documents is the format the loader reads (the bundled files load)."""

from __future__ import annotations

from netlm_bayes.evidence.studies import load_studies
from netlm_bayes.paths import PROJECT_ROOT, STUDIES_DIR
from tests.option_tables import assert_documents_every_option

DOC = PROJECT_ROOT / "docs" / "map.md"


def test_the_option_table_lists_exactly_the_commands_options():
    assert_documents_every_option("map", DOC)


def test_every_bundled_studies_file_loads():
    files = sorted(STUDIES_DIR.glob("*.toml"))
    assert len(files) >= 2
    for path in files:
        assert load_studies(path).measurements
