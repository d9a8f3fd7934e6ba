"""docs/reconstruct.md stays true: its option table is the command's, and its worked
example's committed CSVs are what the committed script makes."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd

from netlm_bayes.paths import PROJECT_ROOT
from tests.option_tables import assert_documents_every_option

DOC = PROJECT_ROOT / "docs" / "reconstruct.md"
EXAMPLE = PROJECT_ROOT / "examples" / "reconstruct-gbsg2"


def test_the_option_table_lists_exactly_the_commands_options():
    assert_documents_every_option("reconstruct", DOC)


def test_the_worked_examples_csvs_come_from_its_script(tmp_path):
    spec = importlib.util.spec_from_file_location("make_digitised", EXAMPLE / "make_digitised.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(tmp_path)
    for name in ("curve.csv", "at_risk.csv"):
        made, committed = pd.read_csv(tmp_path / name), pd.read_csv(EXAMPLE / name)
        assert list(made.columns) == list(committed.columns)
        assert committed["data_origin"].str.startswith("emulated digitisation").all()
        assert (made["horTh"] == committed["horTh"]).all()
        for column in ("time", made.columns[1]):
            assert np.allclose(made[column], committed[column], rtol=0, atol=1e-3)
